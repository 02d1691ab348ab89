"""For notebooks: Model, Network and History show themselves (_repr_html_), run(verbose=True)
prints its lines and a tqdm.auto bar, EpochLog / `mojinet train --log` write every epoch, and
the package says it is typed (py.typed)."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources

import pytest

from conftest import ROOT
from mojinet import EpochLog, History, Network, RunConfig, load_model, run
from mojinet.cli import main
from mojinet.epochlog import read_log
from mojinet.nn.train import EpochRecord


def _history(n=3, eval_=True):
    return History([EpochRecord(e, 1.0 / e, 0.9 / e if eval_ else None,
                                0.5 + e / 10 if eval_ else None, 0.1, 0.3)
                    for e in range(1, n + 1)])


def test_history_shows_its_curves_and_last_epochs():
    html = _history(3)._repr_html_()
    lines = re.findall(r'<polyline[^>]*points="([^"]*)"', html)
    assert len(lines) == 3  # training cost, check cost, accuracy
    assert all(len(points.split()) == 3 for points in lines)  # a point per epoch
    assert html.count("<tr>") == 1 + 3  # header + an epoch a row
    assert "80.00%" in html  # epoch 3's accuracy
    long = _history(25, eval_=False)._repr_html_()
    assert long.count("<svg") == 1 and "(the last 10)" in long and long.count("<tr>") == 11
    assert "no epochs" in History()._repr_html_()


def test_network_and_model_show_their_layers(tmp_path):
    net = Network([784, 16, 10], ["relu", "softmax"], "cross-entropy", seed=0)
    html = net._repr_html_()
    assert "12,544" in html and "160" in html and "12,730 parameters" in html and "relu" in html
    model = run(RunConfig(limit=300, epochs=2, out=str(tmp_path / "m.npz")))
    html = load_model(tmp_path / "m.npz")._repr_html_()
    assert "test accuracy" in html and "784-16-16-10" in html and "<svg" in html
    assert "reads 10 classes: 0 1 2" in html
    assert model.training["test_accuracy"] > 0


def test_labels_are_escaped():
    h = _history(2)
    from mojinet.nn.display import history_html

    assert "<script>" not in history_html(h, eval_name="<script>")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_epoch_log_has_every_epoch_of_the_run(tmp_path, suffix):
    path = tmp_path / f"run{suffix}"
    model = run(RunConfig(limit=300, epochs=3), callbacks=[EpochLog(path)])
    rows = read_log(path)
    history = model.training["history"]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    for row, record in zip(rows, history):
        assert row["train_cost"] == pytest.approx(record["train_cost"])
        assert row["eval_accuracy"] == pytest.approx(record["eval_accuracy"])
    if suffix == ".jsonl":
        assert all(json.loads(line) for line in path.read_text().splitlines())
    else:
        assert path.read_text().splitlines()[0].startswith("epoch,train_cost,eval_cost")


def test_epoch_log_refuses_what_it_cannot_write(tmp_path):
    with pytest.raises(ValueError, match=r"\.csv, \.jsonl or \.json"):
        EpochLog(tmp_path / "run.txt")
    with pytest.raises(ValueError, match="does not exist"):
        EpochLog(tmp_path / "missing" / "run.csv")


def test_train_log_flag_writes_the_epochs(tmp_path, capsys):
    log = tmp_path / "epochs.csv"
    assert main(["train", "--limit", "300", "--epochs", "2", "--out", str(tmp_path / "m.npz"),
                 "--log", str(log)]) == 0
    rows = read_log(log)
    assert [r["epoch"] for r in rows] == [1, 2]
    printed = capsys.readouterr().out
    assert f"{100 * rows[-1]['eval_accuracy']:.2f}%" in printed  # the same numbers as printed
    assert main(["train", "--limit", "300", "--epochs", "1", "--log", str(tmp_path / "x.txt"),
                 "--out", str(tmp_path / "n.npz")]) == 2
    assert ".csv, .jsonl or .json" in capsys.readouterr().err


def test_run_verbose_prints_the_epochs_and_a_bar(capsys):
    run(RunConfig(limit=300, epochs=2), verbose=True)
    out, err = capsys.readouterr()
    assert len(re.findall(r"^epoch +\d+/2", out, flags=re.M)) == 2
    assert "epoch 1" in err and "batch" in err  # tqdm's bar (on stderr when not in Jupyter)


def test_the_progress_bar_is_notebook_aware():
    import tqdm.auto

    from mojinet.nn import train as train_module

    bar = train_module._progress_bar(3, "epoch 1")
    try:
        assert isinstance(bar, tqdm.auto.tqdm)
    finally:
        bar.close()


def test_py_typed_ships():
    assert resources.files("mojinet").joinpath("py.typed").is_file()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["mojinet"]
