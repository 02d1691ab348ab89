"""Presets (named RunConfigs) and the train options of issue 4 on the command line (tiny runs on
real MNIST)."""

from __future__ import annotations

import dataclasses

import pytest

from mojinet.cli import main, parse_args
from mojinet.cli.train import config_from_args
from mojinet.config import RunConfig
from mojinet.io import load_model
from mojinet.presets import BASE, PRESETS, default_out, get_preset


def test_the_default_is_still_the_chapter_recipe():
    config = config_from_args(parse_args(["train"]))
    assert config.preset == "chapter" and config.out == "mojinet-mnist.npz"
    assert config.replace(out=None) == PRESETS["chapter"].config == BASE
    expected = dict(hidden=(16, 16), activation="sigmoid", output_activation="sigmoid",
                    cost="quadratic", init="xavier", batch_size=10, eta=3.0, schedule="cosine",
                    momentum=0.0, weight_decay=3e-5, epochs=40, optimizer="sgd", warmup=0,
                    nesterov=False, dropout=(0.0, 0.0), max_norm=0.0, rotate=0.0, scale=0.0,
                    shift=0.0, elastic_alpha=0.0, engine="auto")
    assert {k: getattr(config, k) for k in expected} == expected


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_what_the_command_line_builds(name):
    """``train --preset NAME`` without other options is exactly the preset's config."""
    preset = PRESETS[name]
    out = preset.config.out or default_out(preset.config.dataset)
    assert config_from_args(parse_args(["train", "--preset", name])) == preset.config.replace(
        out=out)
    assert preset.config.preset == name and preset.source and preset.summary
    assert RunConfig.from_toml(preset.config.to_toml()) == preset.config


def test_the_issue_shapes():
    assert PRESETS["chapter-tuned"].config.hidden == (16, 16)  # the chapter's shape
    assert PRESETS["nielsen"].config.hidden == (30,)
    assert PRESETS["nielsen"].config.eta == 3.0
    assert PRESETS["nielsen"].config.batch_size == 10
    assert PRESETS["nielsen2"].config.hidden == (100,)
    assert PRESETS["nielsen2"].config.cost == "cross-entropy"
    assert PRESETS["record"].config.elastic_alpha > 0


def test_options_given_override_the_preset():
    config = config_from_args(parse_args(["train", "--preset", "record", "--epochs", "3",
                                          "--no-nesterov", "--momentum", "0"]))
    record = PRESETS["record"].config
    assert config == record.replace(epochs=3, nesterov=False, momentum=0.0, out=config.out)
    changed = [f.name for f in dataclasses.fields(config)
               if getattr(config, f.name) != getattr(record, f.name)]
    assert sorted(changed) == ["epochs", "momentum", "nesterov", "out"]


def test_unknown_preset(capsys):
    with pytest.raises(SystemExit):
        parse_args(["train", "--preset", "fastest"])
    assert "invalid choice: 'fastest'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="choose one of: chapter"):
        get_preset("fastest")


def test_a_preset_trains_end_to_end(tmp_path, capsys):
    out = tmp_path / "m.npz"
    code = main(["train", "--preset", "best-cpu", "--hidden", "20", "--limit", "300",
                 "--epochs", "2", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "preset best-cpu" in text and "s distorting" in text and "Test accuracy" in text
    config = load_model(out).training["config"]
    assert config["preset"] == "best-cpu" and config["hidden"] == [20]
    assert config["rotate"] == PRESETS["best-cpu"].config.rotate
    assert config["nesterov"] is True


def test_validation_best_epoch_early_stopping_dropout_max_norm_adam(tmp_path, capsys):
    out = tmp_path / "m.npz"
    code = main(["train", "--hidden", "12", "--activation", "relu", "--output-activation",
                 "softmax", "--cost", "cross-entropy", "--optimizer", "adam", "--eta", "0.003",
                 "--batch-size", "20", "--limit", "400", "--validation", "100", "--best",
                 "--early-stopping", "2", "--dropout", "0.1", "0.3", "--max-norm", "3",
                 "--epochs", "4", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "Restored the network of epoch" in text
    model = load_model(out)
    assert model.training["best_epoch"] >= 1
    assert model.training["config"]["dropout"] == [0.1, 0.3]
    assert model.state == {}  # a finished run keeps no resume state


@pytest.mark.parametrize("argv, message", [
    (["--early-stopping", "3"], "--validation N"),
    (["--best"], "--validation N"),
    (["--nesterov"], "Nesterov momentum needs a momentum"),
    (["--dropout", "1.5"], "dropout probability"),
    (["--rotate", "-5"], "rotate"),
    (["--eta", "-1"], "eta must be > 0, got -1"),
    (["--image-size", "20"], "mnist takes no option(s) size"),
    (["--preset", "chapter-distilled"], "--teacher best-cpu.npz"),
])
def test_clear_errors(tmp_path, capsys, argv, message):
    code = main(["train", "--limit", "50", "--epochs", "1", "--out", str(tmp_path / "m.npz"),
                 *argv])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_help_shows_the_preset_defaults(capsys):
    with pytest.raises(SystemExit):
        parse_args(["train", "--preset", "nielsen", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # the help, its wrapping undone
    assert "no hidden layer) (default: 30)" in text
    assert parse_args(["train", "--preset=nielsen2"]).hidden == [100]


def test_a_kanji_dataset_trains_with_the_kanji_recipe_into_a_file_named_after_it(
        tmp_path, monkeypatch, capsys):
    """train --dataset kanjivg-… with no other option trained the chapter's 16-16 sigmoid net
    (chance on 80 classes) and saved it as mojinet-mnist.npz."""
    monkeypatch.setenv("MOJINET_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    config = config_from_args(parse_args(["train", "--dataset", "kanjivg-grade1"]))
    assert config.preset == "kanji" and config.hidden == (512,)
    assert config.output_activation == "softmax" and config.out == "mojinet-kanjivg-grade1.npz"
    chosen = config_from_args(parse_args(["train", "--dataset", "kanjivg-grade1", "--preset",
                                          "chapter"]))
    assert chosen.preset == "chapter" and chosen.hidden == (16, 16)
    assert main(["train", "--dataset", "kanjivg-hiragana", "--limit", "200", "--epochs", "1",
                 "--image-size", "16"]) == 0
    out = capsys.readouterr().out
    assert "Preset kanji: the default recipe for kanjivg-hiragana" in out
    model = load_model(tmp_path / "mojinet-kanjivg-hiragana.npz")
    assert model.network.sizes == [256, 512, 46] and not (tmp_path / "mojinet-mnist.npz").exists()


def _train_actions():
    parser = parse_args.__globals__["build_parser"](PRESETS["chapter"].config)
    sub = next(a for a in parser._actions if hasattr(a, "choices") and a.choices
               and "train" in a.choices)
    return sub.choices["train"]


def test_every_train_option_has_help_and_says_its_default_once():
    train = _train_actions()
    for action in train._actions:
        if action.option_strings and action.dest != "help":
            assert action.help and len(action.help) > 10, action.option_strings
    text = train.format_help()
    assert "(default: None)" not in text and "(default: False)" not in text
    for block in text.split("\n  -")[1:]:  # one option's help
        assert block.count("(default") <= 1, block
    assert "(default: 16 16)" in text and "(default: only on a terminal)" in text
