"""run(config): the one path from options to a trained model — the command line, the server's
default model and the kanji commands go through it, and models remember their data."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mojinet import load_model
from mojinet.cli import main
from mojinet.config import ConfigError, RunConfig
from mojinet.presets import PRESETS
from mojinet.runner import model_split, run

SRC = Path(__file__).resolve().parents[1] / "src" / "mojinet"


def _record(history):
    return [{k: v for k, v in e.items() if "seconds" not in k} for e in history]


def _same_weights(a, b):
    for p, q in zip(a.network.parameters(), b.network.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("flags, changes", [
    ([], {}),
    (["--momentum", "0.5", "--rotate", "8", "--shift", "1", "--validation", "100",
      "--best", "--hidden", "20"],
     dict(momentum=0.5, rotate=8.0, shift=1.0, validation=100, best=True, hidden=(20,))),
])
def test_run_and_the_command_line_train_the_same_network(tmp_path, flags, changes):
    config = PRESETS["chapter"].config.replace(limit=600, epochs=2, out=str(tmp_path / "a.npz"),
                                               **changes)
    by_run = run(config)
    assert main(["train", "--limit", "600", "--epochs", "2", "--out", str(tmp_path / "b.npz"),
                 "--no-progress", *flags]) == 0
    by_cli = load_model(tmp_path / "b.npz")
    _same_weights(by_run, by_cli)
    _same_weights(by_run, load_model(tmp_path / "a.npz"))
    assert _record(by_run.training["history"]) == _record(by_cli.training["history"])
    assert len(by_run.training["history"]) == 2
    assert by_cli.training["config"] == config.replace(out=str(tmp_path / "b.npz")).to_dict()
    assert by_run.training["test_accuracy"] == by_cli.training["test_accuracy"] > 0.2


def test_run_without_out_saves_nothing_and_logs_when_asked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = []
    model = run(RunConfig(limit=200, epochs=1), log=lines.append)
    assert list(tmp_path.iterdir()) == []
    assert model.training["status"] == "finished" and model.network.sizes == [784, 16, 16, 10]
    assert lines[0].startswith("Network 784-16-16-10") and "epoch   1/1" in lines[2]
    assert lines[-1].startswith("Test accuracy")


def test_callbacks_see_every_epoch_and_can_stop_the_run():
    seen = []

    def stop_after_two(net, record):
        seen.append(record.epoch)
        return record.epoch == 2

    model = run(RunConfig(limit=200, epochs=5), callbacks=[stop_after_two])
    assert seen == [1, 2] and len(model.training["history"]) == 2


def test_finetune_starts_from_the_given_weights(tmp_path):
    start = run(RunConfig(limit=300, epochs=1, out=str(tmp_path / "start.npz")))
    # eta tiny: one epoch barely moves the weights it started from
    tuned = run(RunConfig(limit=300, epochs=1, eta=1e-6, finetune=str(tmp_path / "start.npz")))
    fresh = run(RunConfig(limit=300, epochs=1, eta=1e-6, seed=0))
    w0, w1 = start.network.weights[0], tuned.network.weights[0]
    assert np.max(np.abs(w1 - w0)) < 1e-4 < np.max(np.abs(fresh.network.weights[0] - w0))
    assert tuned.training["config"]["finetune"] == str(tmp_path / "start.npz")
    with pytest.raises(ConfigError, match="finetune: .* has layers 784-16-16-10, this run needs "
                                          "784-30-10"):
        run(RunConfig(limit=300, epochs=1, hidden=(30,), finetune=str(tmp_path / "start.npz")))
    assert main(["train", "--limit", "300", "--epochs", "1", "--finetune",
                 str(tmp_path / "start.npz"), "--eta", "1e-6", "--out",
                 str(tmp_path / "cli.npz")]) == 0
    _same_weights(tuned, load_model(tmp_path / "cli.npz"))


def test_server_default_model_is_trained_through_run_not_the_command_line():
    code = ("import sys, mojinet.web.serve as s, inspect; "
            "assert 'mojinet.cli' not in sys.modules, 'serve imported the command line'; "
            "print('runner.run' in s.__doc__ or 'run(' in inspect.getsource(s._default_model))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def _imports(path: Path):
    """(module imported, names) for every import in a source file, resolved to mojinet.…"""
    root = SRC.parent if path.is_relative_to(SRC.parent) else path.parents[1]
    package = ".".join(path.relative_to(root).with_suffix("").parts)
    if path.name == "__init__.py":
        package += ".__init__"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: -node.level] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            yield module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


def test_no_library_module_imports_the_command_line_and_nn_stays_alone():
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        for module, names in _imports(path):
            wanted = [module, *(f"{module}.{n}" for n in names)]
            if not rel.startswith("cli/") and rel != "__main__.py":
                assert not any(m == "mojinet.cli" or m.startswith("mojinet.cli.")
                               for m in wanted), f"{rel} imports the command line ({module})"
            if rel.startswith("nn/") and module.startswith("mojinet"):
                assert module.startswith("mojinet.nn"), f"{rel} imports {module} (outside nn/)"


def test_no_module_imports_a_private_name_of_another():
    for path in [*SRC.rglob("*.py"), *SRC.parent.parent.glob("benchmarks/*.py")]:
        for module, names in _imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not private, f"{path.name} imports {private} from {module}"


def test_a_kanji_model_remembers_its_dataset(tmp_path, capsys):
    """inspect --index and figures on a component-head kanji model need no --dataset."""
    out = tmp_path / "k.npz"
    assert main(["train-radical", "--charset", "林森村校", "--size", "28", "--per-class", "4",
                 "--test-per-class", "2", "--hidden", "8", "--epochs", "1", "--eval-styles",
                 "--out", str(out)]) == 0
    model = load_model(out)
    test = model_split(model)
    assert test.classes == tuple("林森村校") and len(test) == 8 and test.image_shape == (28, 28)
    capsys.readouterr()
    assert main(["inspect", str(out), "--index", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"].endswith("(label 森)")
    assert main(["evaluate", str(out)]) == 0
    assert "of 8 kanjivg-4-test" in capsys.readouterr().out
    assert main(["figures", str(out), "--out", str(tmp_path / "fig"), "--formats", "png",
                 "--only", "training", "first-layer-weights"]) == 0
    assert (tmp_path / "fig" / "first-layer-weights.png").is_file()
