"""The mojinet command end to end, on small subsets so it stays quick."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from drawn import drawn_digit
from mojinet import load_model
from mojinet.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A chapter-shaped network trained on 6,000 MNIST images for 4 epochs."""
    out = tmp_path_factory.mktemp("model") / "m.npz"
    assert main(["train", "--limit", "6000", "--epochs", "4", "--out", str(out),
                 "--no-progress"]) == 0
    return out


def test_train_prints_summary_and_saves(trained, capsys, tmp_path):
    out = tmp_path / "again.npz"
    assert main(["train", "--limit", "500", "--epochs", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Network 784-16-16-10" in text
    assert "total: 12,960 weights + 42 biases = 13,002 parameters" in text
    assert text.count("test accuracy") == 2 and "epoch   2/2" in text
    model = load_model(out)
    assert model.training["status"] == "finished"
    assert len(model.training["history"]) == 2
    assert model.training["config"]["weight_decay"] == pytest.approx(3e-5)


def test_trained_model_is_accurate_enough(trained):
    model = load_model(trained)
    assert model.training["test_accuracy"] > 0.85


def test_custom_architecture(tmp_path, capsys):
    out = tmp_path / "relu.npz"
    assert main(["train", "--limit", "400", "--epochs", "1", "--hidden", "32",
                 "--activation", "relu", "--output-activation", "softmax",
                 "--cost", "cross-entropy", "--init", "he", "--eta", "0.1", "--batch-size", "32",
                 "--momentum", "0.9", "--out", str(out)]) == 0
    net = load_model(out).network
    assert net.sizes == [784, 32, 10]
    assert [a.name for a in net.activations] == ["relu", "softmax"]
    assert "25,408 weights + 42 biases = 25,450 parameters" in capsys.readouterr().out


def test_validation_split(tmp_path, capsys):
    out = tmp_path / "v.npz"
    assert main(["train", "--limit", "1000", "--validation", "200", "--epochs", "1",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Training on 800 images" in text and "200 validation images" in text
    training = load_model(out).training
    assert training["n_train"] == 800 and training["config"]["validation"] == 200


def test_evaluate(trained, capsys):
    assert main(["evaluate", str(trained)]) == 0
    text = capsys.readouterr().out
    acc = float(text.split("accuracy ")[1].split("%")[0]) / 100
    assert acc > 0.85
    assert "per-class accuracy" in text and "confusion matrix" in text
    rows = [line.split() for line in text.splitlines() if line[:1].isdigit() and ":" not in line]
    cm = np.array([[int(v) for v in r[1:]] for r in rows])
    assert cm.shape == (10, 10) and cm.sum() == 10_000
    assert np.trace(cm) / cm.sum() == pytest.approx(acc, abs=1e-4)


def test_predict_on_drawn_images(trained, tmp_path, capsys, mnist_small):
    _, te = mnist_small
    rng = np.random.default_rng(1)
    paths = []
    for i in range(30):
        p = tmp_path / f"digit{i}.{'jpg' if i % 2 else 'png'}"
        p.write_bytes(drawn_digit(te.images()[i], rng, fmt="JPEG" if i % 2 else "PNG"))
        paths.append(str(p))
    assert main(["predict", str(trained), *paths, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 30 and all(len(r["top"]) == 3 for r in results)
    for r in results:
        probs = [t["probability"] for t in r["top"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    right = sum(r["top"][0]["label"] == te.classes[te.y[i]] for i, r in enumerate(results))
    assert right >= 24  # the 4-epoch model gets ~90% of these

    assert main(["predict", str(trained), paths[0]]) == 0
    line = capsys.readouterr().out
    assert line.startswith(paths[0] + ": ") and line.count("%") == 3


def test_predict_reports_bad_files_and_continues(trained, tmp_path, capsys, mnist_small):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    good = tmp_path / "ok.png"
    good.write_bytes(drawn_digit(mnist_small[1].images()[0], np.random.default_rng(0), fmt="PNG"))
    assert main(["predict", str(trained), str(bad), str(good)]) == 1
    out, err = capsys.readouterr()
    assert "notes.txt: error: " in err and "not a readable image" in err
    assert "ok.png: " in out


def test_info(trained, capsys):
    assert main(["info", str(trained)]) == 0
    text = capsys.readouterr().out
    assert "13,002 parameters" in text and "classes (10): 0 1 2 3 4 5 6 7 8 9" in text
    assert "status: finished, 4 epochs" in text and "test accuracy" in text


def test_info_prints_an_older_record_as_text_not_dicts(tmp_path, capsys):
    """A recorded run that is not a RunConfig (an older mojinet, or made in Python) was printed
    as "training: dataset_options {'size': 28}, hidden [16, 16]"."""
    from mojinet import Model, Network, save_model

    record = {"config": {"dataset": "kanjivg", "dataset_options": {"chars": "日月", "size": 28},
                         "hidden": [16, 16], "flavour": "old"},
              "status": "finished", "history": [], "n_train": 1200, "engine": "compiled",
              "credit": "Stroke data: KanjiVG, CC BY-SA 3.0",
              "component_head": {"lambda": 1.0, "components": ["日", "月"]}}
    model = Model(Network([784, 16, 16, 2], seed=0), ("日", "月"), {"image_shape": [28, 28]},
                  record)
    path = save_model(model, tmp_path / "old.npz")
    assert main(["info", str(path)]) == 0
    text = capsys.readouterr().out
    assert "{" not in text and "[" not in text
    assert "  dataset_options: chars=日月, size=28" in text and "  hidden: 16 16" in text
    assert "1,200 training images, engine compiled" in text
    assert "component head (training only): 2 components, λ 1.0: 日 月" in text
    assert "data credit: Stroke data: KanjiVG, CC BY-SA 3.0" in text


def test_errors_are_one_line_not_tracebacks(tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"garbage")
    assert main(["info", str(junk)]) == 2
    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 2
    assert main(["train", "--data-dir", str(tmp_path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert "not a readable model file" in err and "no such model file" in err
    assert "does not hold train-images-idx3-ubyte" in err
    assert "Traceback" not in err


def test_data_dir_replaces_bundled_mnist(tmp_path, capsys):
    from mojinet import write_idx

    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 8, 8),
                                                                        dtype=np.uint8))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", rng.integers(0, 10, n,
                                                                           dtype=np.uint8))
    out = tmp_path / "tiny.npz"
    assert main(["train", "--data-dir", str(tmp_path), "--epochs", "1", "--out", str(out)]) == 0
    assert load_model(out).network.sizes == [64, 16, 16, 10]  # input size comes from the data
    assert "Training on 60 images" in capsys.readouterr().out


def test_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "mojinet", "--help"], capture_output=True,
                            text=True, check=True)
    assert "train" in result.stdout and "predict" in result.stdout
