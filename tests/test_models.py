"""The models that ship with mojinet (mojinet.models): found by name, offline, from the installed
package; each with a recipe that rebuilds it, its measured accuracy and its licence."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import ROOT
from mojinet import RunConfig, load_model, read_config
from mojinet.cli import main
from mojinet.models import SHIPPED, model_path, recipe_path

ENTRIES = {e.name: e for e in SHIPPED.values()}
BUILT = [name for name, e in ENTRIES.items() if e.built]


def test_every_entry_has_a_recipe_a_licence_and_a_credit():
    assert {"chapter", "mnist-99", "hiragana", "katakana", "kanji-grade1", "kanji-kyoiku"} \
        <= set(ENTRIES)
    for name, e in ENTRIES.items():
        config = read_config(recipe_path(name))
        assert isinstance(config, RunConfig) and config.out == e.file
        assert e.licence and e.credit
        if config.dataset.startswith("kanjivg"):
            assert "CC BY-SA 3.0" in e.licence and "KanjiVG" in e.credit
    assert SHIPPED["kanji"].name == "kanji-grade1" and SHIPPED["kana"].name == "hiragana"


def test_the_wheel_carries_the_models():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert {"*.npz", "*.toml", "index.json"} <= set(data["package-data"]["mojinet.models"])


@pytest.mark.parametrize("name", BUILT)
def test_a_built_model_is_its_recipe_and_its_recorded_accuracy(name):
    e = ENTRIES[name]
    model = load_model(model_path(name))
    recorded = RunConfig.from_dict(model.training["config"])
    assert recorded == read_config(recipe_path(name))  # `mojinet train --config NAME` rebuilds it
    acc = e.accuracy
    assert acc["accuracy"] == pytest.approx(model.training["test_accuracy"], abs=1e-6)
    assert acc["ci95"][0] < acc["accuracy"] < acc["ci95"][1] and acc["n"] > 0


def test_names_resolve_and_unknown_names_say_what_there_is(tmp_path):
    plain = tmp_path / "m.npz"
    plain.write_bytes(b"x")
    assert model_path(plain) == plain  # a file as given
    with pytest.raises(FileNotFoundError, match="no shipped model of that name"):
        model_path("no-such-model")
    if not ENTRIES["kanji-kyoiku"].built:
        with pytest.raises(FileNotFoundError, match="tools/build_models.py kanji-kyoiku"):
            model_path("kanji-kyoiku")


@pytest.mark.skipif("chapter" not in BUILT, reason="the chapter model is not built")
def test_predict_info_and_evaluate_take_a_shipped_model(tmp_path, capsys):
    image = tmp_path / "one.png"
    img = Image.new("L", (100, 100), 255)
    ImageDraw.Draw(img).line([(50, 10), (50, 90)], fill=0, width=9)
    img.save(image)
    assert main(["predict", "--model", "chapter", str(image), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["top"][0]["label"] == "1"
    assert main(["predict", "chapter", str(image)]) == 0  # a name where a file would go
    assert main(["info", "--model", "chapter"]) == 0
    assert "784-16-16-10" in capsys.readouterr().out
    assert main(["info", "chapter", "--model", "chapter"]) == 2  # the model once, not twice
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    acc = ENTRIES["chapter"].accuracy
    assert f"{acc['accuracy']:.2%} on mnist test" in out and "mojinet train --config chapter" in out


def test_train_config_takes_a_shipped_recipe():
    from mojinet.cli import parse_args
    from mojinet.cli.train import config_from_args

    config = config_from_args(parse_args(["train", "--config", "chapter", "--epochs", "1"]))
    assert config == read_config(recipe_path("chapter")).replace(epochs=1)
    assert np.isclose(config.eta, 3.0)


def test_serve_takes_a_shipped_model_name(capsys):
    """serve --model NAME resolves like the other commands (checked before any server starts)."""
    assert main(["serve", "--model", "no-such-model", "--port", "0"]) == 2
    assert "no shipped model of that name" in capsys.readouterr().err
    assert main(["serve", "chapter.npz", "--model", "chapter", "--port", "0"]) == 2
    assert "give the model once" in capsys.readouterr().err
    if not ENTRIES["kanji-grade1"].built:
        assert main(["serve", "--model", "kanji", "--port", "0"]) == 2
        assert "tools/build_models.py kanji-grade1" in capsys.readouterr().err
