"""Presets and the train options of issue 4 on the command line (tiny runs on real MNIST)."""

from __future__ import annotations

import pytest

from mojinet.cli import main, parse_args
from mojinet.io import load_model
from mojinet.presets import BASE, PRESETS, get_preset


def test_the_default_is_still_the_chapter_recipe():
    args = parse_args(["train"])
    assert args.preset == "chapter"
    expected = dict(hidden=[16, 16], activation="sigmoid", output_activation="sigmoid",
                    cost="quadratic", init="xavier", batch_size=10, eta=3.0, schedule="cosine",
                    momentum=0.0, weight_decay=3e-5, epochs=40, optimizer="sgd", warmup=0,
                    nesterov=False, dropout=None, max_norm=0.0, rotate=0.0, scale=0.0,
                    shift=0.0, elastic_alpha=0.0)
    assert {k: getattr(args, k) for k in expected} == expected


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_supplies_every_option(name):
    args = parse_args(["train", "--preset", name])
    for key, value in PRESETS[name].options.items():
        assert getattr(args, key) == value, key
    assert set(PRESETS[name].options) == set(BASE)
    assert PRESETS[name].source and PRESETS[name].summary


def test_the_issue_shapes():
    assert PRESETS["chapter-tuned"].options["hidden"] == [16, 16]  # the chapter's shape
    assert PRESETS["nielsen"].options["hidden"] == [30]
    assert PRESETS["nielsen"].options["eta"] == 3.0
    assert PRESETS["nielsen"].options["batch_size"] == 10
    assert PRESETS["nielsen2"].options["hidden"] == [100]
    assert PRESETS["nielsen2"].options["cost"] == "cross-entropy"
    assert PRESETS["record"].options["elastic_alpha"] > 0


def test_options_given_override_the_preset():
    args = parse_args(["train", "--preset", "record", "--epochs", "3", "--no-nesterov",
                       "--momentum", "0"])
    assert args.epochs == 3 and args.nesterov is False and args.momentum == 0
    assert args.hidden == PRESETS["record"].options["hidden"]


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
    assert config["preset"] == "best-cpu"
    assert config["augment"]["rotate"] == PRESETS["best-cpu"].options["rotate"]
    assert config["optimizer"]["nesterov"] is True


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


@pytest.mark.parametrize("argv, message", [
    (["--early-stopping", "3"], "--validation N"),
    (["--best"], "--validation N"),
    (["--nesterov"], "Nesterov momentum needs a momentum"),
    (["--dropout", "1.5"], "dropout probability"),
    (["--rotate", "-5"], "rotate"),
])
def test_clear_errors(tmp_path, capsys, argv, message):
    code = main(["train", "--limit", "50", "--epochs", "1", "--out", str(tmp_path / "m.npz"),
                 *argv])
    assert code == 2
    assert message in capsys.readouterr().err


def test_help_shows_the_preset_defaults(capsys):
    with pytest.raises(SystemExit):
        parse_args(["train", "--preset", "nielsen", "--help"])
    assert "(default: [30])" in capsys.readouterr().out
    assert parse_args(["train", "--preset=nielsen2"]).hidden == [100]
