"""RunConfig.features = "pixels+directions": the model records it, and every entry point that
feeds the model images makes the same inputs of them (``Model.inputs``) — train, evaluate,
predict, kanji-eval, real-eval, serve, adapt, inspect. Each check compares with the network fed
by hand (the pixels, then ``direction_planes``), and a caller that forgot the planes would feed
the network h·w values where it needs more: an error, or other numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from drawn import bars_sample
from mojinet.cli import main
from mojinet.config import ConfigError, RunConfig
from mojinet.data import kanji
from mojinet.data.directions import direction_planes
from mojinet.data.strokes import write_jsonl
from mojinet.io import load_model
from mojinet.runner import model_split, run

CHARS = "一二三"
SIZE, POOL = 16, 2
N_INPUTS = SIZE * SIZE + 4 * (SIZE // POOL) ** 2  # 256 pixels + 4 planes of 8 × 8


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(kanji.CACHE_ENV, str(folder))
        yield folder


def _config(out, **changes) -> RunConfig:
    return RunConfig(dataset="kanjivg", dataset_options={"chars": CHARS, "per_class": 40,
                                                         "test_per_class": 10, "size": SIZE},
                     hidden=(16,), activation="relu", output_activation="softmax",
                     cost="cross-entropy", eta=0.05, batch_size=16, momentum=0.9, epochs=3,
                     shift=1.0, features="pixels+directions", direction_pool=POOL,
                     out=str(out), **changes)


@pytest.fixture(scope="module")
def trained(cache, tmp_path_factory):
    """(the model as run returned it, its file): 16 × 16 bars, pixels and direction planes."""
    out = tmp_path_factory.mktemp("m") / "planes.npz"
    return run(_config(out)), out


def _by_hand(model, X: np.ndarray) -> np.ndarray:
    """The output activations of the network fed the pixels and their planes, made here."""
    inputs = np.concatenate([X, direction_planes(X, (SIZE, SIZE), POOL)], axis=1)
    return model.network.feedforward(inputs)  # (n, n_classes)


def test_the_config_checks_its_features():
    with pytest.raises(ConfigError, match="features must be one of pixels, pixels\\+directions"):
        RunConfig(features="edges")
    with pytest.raises(ConfigError, match="direction_pool must be from 1 to 64"):
        RunConfig(direction_pool=0)
    assert RunConfig().features == "pixels"  # unchanged by default
    c = RunConfig(features="pixels+directions", direction_pool=2)
    assert RunConfig.from_toml(c.to_toml()) == c


def test_the_model_records_its_features_and_loads_the_same(trained):
    model, path = trained
    loaded = load_model(path)
    assert model.network.sizes == loaded.network.sizes == [N_INPUTS, 16, 3]
    assert loaded.preprocessing["features"] == {"name": "pixels+directions", "pool": POOL}
    assert loaded.training["config"]["features"] == "pixels+directions"
    test = model_split(loaded)
    assert test.n_features == SIZE * SIZE
    np.testing.assert_array_equal(model.probabilities(test.X), loaded.probabilities(test.X))
    np.testing.assert_allclose(loaded.feedforward(test.X), _by_hand(loaded, test.X), atol=1e-6)
    assert loaded.training["test_accuracy"] == pytest.approx(
        (loaded.predict(test.X) == test.y).mean())
    assert loaded.training["test_accuracy"] > 0.6


def test_the_command_line_trains_the_same_planes_model(trained, tmp_path):
    model, _ = trained
    out = tmp_path / "cli.npz"
    assert main(["train", "--dataset", "kanjivg", "--dataset-option", f"chars={CHARS}",
                 "--dataset-option", "per_class=40", "--dataset-option", "test_per_class=10",
                 "--image-size", str(SIZE), "--preset", "chapter", "--hidden", "16",
                 "--activation", "relu", "--output-activation", "softmax", "--cost",
                 "cross-entropy", "--eta", "0.05", "--batch-size", "16", "--momentum", "0.9",
                 "--weight-decay", "3e-5", "--epochs", "3", "--shift", "1", "--features",
                 "pixels+directions", "--direction-pool", str(POOL), "--out", str(out),
                 "--no-progress"]) == 0
    for p, q in zip(model.network.parameters(), load_model(out).network.parameters()):
        np.testing.assert_array_equal(p, q)


def test_evaluate_reads_the_planes(trained, capsys):
    model, path = trained
    test = model_split(model)
    right = int((_by_hand(model, test.X).argmax(1) == test.y).sum())
    capsys.readouterr()
    assert main(["evaluate", str(path)]) == 0
    assert f"({right:,} of {len(test):,} kanjivg-3-test)" in capsys.readouterr().out


def test_predict_and_inspect_read_the_planes(trained, tmp_path, capsys):
    from PIL import Image

    from mojinet.data.images import to_input

    model, path = trained
    image = tmp_path / "three.png"
    ink = model_split(model).X[25].reshape(SIZE, SIZE)  # a 三
    Image.fromarray(np.uint8(255 - 255 * ink)).resize((96, 96)).save(image)
    x = to_input(image, size=SIZE, box=model.preprocessing["user_images"]["box"]).reshape(1, -1)
    want = _by_hand(model, x)[0]  # (3,)
    capsys.readouterr()
    assert main(["predict", str(path), str(image), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)[0]["top"]
    assert got[0]["label"] == CHARS[int(want.argmax())]
    assert got[0]["probability"] == pytest.approx(float(want.max()), abs=1e-6)
    assert main(["inspect", str(path), str(image), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["layers"][0]["activations"]) == N_INPUTS  # the planes were its input
    np.testing.assert_allclose(report["layers"][-1]["activations"], want, atol=1e-6)


def test_kanji_eval_reads_the_planes(trained, capsys):
    model, path = trained
    data = kanji.synthetic_dataset(CHARS, 5, SIZE, 3, "default")
    top1 = float((_by_hand(model, data.X).argmax(1) == data.y).mean())
    capsys.readouterr()
    assert main(["kanji-eval", str(path), "--per-class", "5", "--top", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert out["default"]["top1"] == pytest.approx(top1)


@pytest.fixture
def strokes(tmp_path):
    samples = [bars_sample(c, i + 1, "ann", j / 2) for j in range(4) for i, c in enumerate(CHARS)]
    return write_jsonl(samples, tmp_path / "real.jsonl")


def test_real_eval_reads_the_planes(trained, strokes, capsys):
    from mojinet import real_eval
    from mojinet.data.strokes import read_strokes

    model, path = trained
    samples = read_strokes(strokes)
    keep, y, _ = real_eval.label_index(samples, model.classes)  # drawn as real_eval draws them
    kept = [samples[i] for i in keep]
    images = real_eval.render_samples(kept, SIZE, 0, "default", False,
                                      keys=[real_eval.sample_key(s) for s in kept])
    X = images.reshape(len(keep), -1).astype(np.float32) / np.float32(255)  # (n, h·w)
    right = int((_by_hand(model, X).argmax(1) == y).sum())
    assert real_eval.evaluate_real(model, samples, top=2)["all"].top1 == right
    capsys.readouterr()
    assert main(["real-eval", str(path), "--real", str(strokes), "--per-class", "2",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["real"]["all"]["n"] == 12


def test_adapting_a_planes_model_keeps_its_planes(trained, strokes, tmp_path):
    _, path = trained
    out = tmp_path / "mine.npz"
    assert main(["train", "--finetune", str(path), "--dataset", f"strokes:{strokes}",
                 "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    adapted = load_model(out)
    assert adapted.network.sizes[0] == N_INPUTS
    assert adapted.features == load_model(path).features
    with pytest.raises(ConfigError, match="finetune: .* reads pixels\\+directions .* this run "
                                          "pixels"):
        run(_config(tmp_path / "x.npz", finetune=str(path)).replace(features="pixels"))


def test_the_page_api_reads_the_planes(trained):
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from mojinet.web.app import create_app
    from webserver import BackgroundServer

    model, _ = trained
    x = model_split(model).X[12]  # (256,) a 二, already preprocessed
    want = _by_hand(model, x[None, :])[0]
    with BackgroundServer(create_app(model, "planes.npz")) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            r = client.post("/api/predict", json={"pixels": x.tolist(), "top": 3})
            assert r.status_code == 200, r.text
            got = r.json()
            r = client.get("/api/weights/1/0")
            assert r.status_code == 200, r.text
            assert r.json()["shape"] == [SIZE, SIZE] and len(r.json()["weights"]) == SIZE * SIZE
    assert got["top"][0]["label"] == CHARS[int(want.argmax())]
    np.testing.assert_allclose(got["layers"][-1]["values"], want, atol=1e-5)


def test_export_writes_a_planes_model(trained, tmp_path, capsys):
    """mojinet export no longer refuses direction planes: the graph and the page make them
    (tests/test_export_planes.py, tests/test_web_planes.py check the numbers)."""
    pytest.importorskip("onnx")
    _, path = trained
    assert main(["export", str(path), "--web", str(tmp_path / "page"),
                 "--onnx", str(tmp_path / "m.onnx")]) == 0, capsys.readouterr().err
    assert (tmp_path / "page" / "model.json").is_file() and (tmp_path / "m.onnx").is_file()
    spec = json.loads((tmp_path / "page" / "model.json").read_text())
    assert spec["features"] == {"name": "pixels+directions", "pool": 2}


def test_radicals_reads_the_planes(trained, tmp_path, capsys):
    _, path = trained
    fig = tmp_path / "r.png"
    assert main(["radicals", str(path), "--samples", "4", "--min-kanji", "1", "--shuffles", "2",
                 "--figure", str(fig), "--figure-rows", "2"]) == 0, capsys.readouterr().err
    assert fig.stat().st_size > 0


def test_figures_refuse_a_planes_model_with_advice(trained, tmp_path, capsys):
    _, path = trained
    assert main(["figures", str(path), "--out", str(tmp_path / "f"), "--formats", "png"]) != 0
    assert "this model reads pixels+directions" in capsys.readouterr().err


def test_info_says_what_the_inputs_are(trained, capsys):
    _, path = trained
    assert main(["info", str(path)]) == 0
    assert "inputs: pixels+directions (256 pixels and 256 direction-plane cells, pool 2)" in \
        capsys.readouterr().out
