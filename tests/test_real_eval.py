"""Real strokes as a dataset (strokes:PATH) and the real-eval command: labels mapped by text
(those outside counted, never dropped silently), Wilson intervals, per-writer scores, and the
commands end to end on a small model trained here."""

from __future__ import annotations

import dataclasses
import json
import logging
import math

import numpy as np
import pytest

from drawn import bars_sample
from mojinet.cli import main
from mojinet.data import kanji
from mojinet.data.registry import get_spec, load_dataset
from mojinet.data.strokes import write_jsonl
from mojinet.data.strokeset import parse_strokes_name
from mojinet.real_eval import Score, evaluate_real, wilson_interval

CHARS = "一二三"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture
def real_file(tmp_path):
    samples = [bars_sample(c, i + 1, w, wobble) for w, wobble in (("ann", 0.0), ("bob", 3.0))
               for i, c in enumerate(CHARS)]
    samples.append(bars_sample("口", 2, "ann"))  # not a class of the model
    return write_jsonl(samples, tmp_path / "real.jsonl")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """A 256-64-3 network that reads 一, 二 and 三 (synthetic, 16 × 16)."""
    folder = tmp_path_factory.mktemp("m")
    out = folder / "bars.npz"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(kanji.CACHE_ENV, str(folder / "cache"))
        assert main(["train-radical", "--charset", CHARS, "--lam", "0", "--min-kanji", "1",
                     "--size", "16", "--per-class", "200", "--test-per-class", "20",
                     "--hidden", "64", "--epochs", "15", "--eval-styles", "--out",
                     str(out)]) == 0
    return out


# ----------------------------------------------------------------------------- Wilson
def test_wilson_by_hand_and_by_its_defining_equation():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1.96**2 / (10 + 1.96**2), rel=1e-3)  # z²/(n+z²)
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    z = 1.959963984540054
    for k, n in ((41, 46), (3, 7), (990, 1000)):
        p = k / n
        for bound in wilson_interval(k, n):  # the roots of (p̂ − p)² = z² p (1 − p) / n
            assert (p - bound) ** 2 == pytest.approx(z * z * bound * (1 - bound) / n, rel=1e-9)
    lo, hi = wilson_interval(41, 46)
    assert lo < 41 / 46 < hi and math.isclose(lo, 0.7697, abs_tol=5e-4)


def test_score_counts_top1_and_topk():
    s = Score.of(np.array([0, 0, 1, 4, 12]), 5)
    assert (s.n, s.top1, s.topk) == (5, 2, 4)
    d = s.to_dict()
    assert d["top1"] == 0.4 and d["top5"] == 0.8 and d["top1_ci"] == wilson_interval(2, 5)


# ----------------------------------------------------------------------------- the dataset
def test_strokes_dataset_maps_labels_and_reports_the_rest(real_file, caplog):
    with caplog.at_level(logging.WARNING, logger="mojinet.data.strokeset"):
        d = load_dataset(f"strokes:{real_file},classes={CHARS}", "all", size=16)
    assert d.classes == tuple(CHARS) and len(d) == 6 and d.X.shape == (6, 256)
    assert sorted(d.y.tolist()) == [0, 0, 1, 1, 2, 2]
    assert "1 of 7 samples have labels outside the 3 classes, left out: 口" in caplog.text
    found = load_dataset(f"strokes:{real_file}", "all", size=16)  # the labels found
    assert found.classes == tuple(sorted("一二三口")) and len(found) == 7


def test_strokes_dataset_options_and_errors(real_file):
    assert "size" in get_spec("strokes:x").options
    path, options = parse_strokes_name("a,b/c.jsonl,classes=hiragana,size=48,jitter=yes,"
                                             "style=default+pencil,repeat=2")
    assert path == "a,b/c.jsonl"
    assert options == {"classes": "hiragana", "size": 48, "jitter": True,
                       "style": ["default", "pencil"], "repeat": 2}
    with pytest.raises(ValueError, match="size must be a whole number"):
        load_dataset(f"strokes:{real_file},size=big", "all")
    with pytest.raises(ValueError, match="no samples of the 2 classes"):
        load_dataset(f"strokes:{real_file},classes=あい", "all")
    with pytest.raises(ValueError, match="strokes: needs a path"):
        load_dataset("strokes:", "all")
    with pytest.raises(ValueError, match="mnist is not read from your files"):
        get_spec("mnist:somewhere")
    jittered = load_dataset(f"strokes:{real_file},jitter=1,repeat=3", "all", size=16)
    assert len(jittered) == 21
    rounds = jittered.X.reshape(3, 7, -1)
    assert not np.array_equal(rounds[0], rounds[1])  # each round another pen and distortion


def test_strokes_splits_are_disjoint_and_cover_everything(tmp_path):
    samples = [bars_sample(c, i + 1, f"w{j}", j / 3)
               for j in range(10) for i, c in enumerate(CHARS)]
    path = write_jsonl(samples, tmp_path / "many.jsonl")
    train = load_dataset(f"strokes:{path}", "train", size=16)
    test = load_dataset(f"strokes:{path}", "test", size=16)
    assert (len(train), len(test)) == (24, 6)
    assert np.bincount(test.y).tolist() == [2, 2, 2]


def test_real_and_synthetic_images_share_the_normalisation(real_file):
    """Real strokes drawn for the dataset: ink box 20/28 of the field, centre of mass in the
    middle (as the synthetic writer's: tests/test_render.py)."""
    d = load_dataset(f"strokes:{real_file}", "all", size=28)
    for a in d.images():
        rows, cols = np.flatnonzero(a.max(1) > 0.05), np.flatnonzero(a.max(0) > 0.05)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)
        r, c = np.indices(a.shape)
        assert abs((r * a).sum() / a.sum() - 14.0) <= 0.5 + 1e-6


# ----------------------------------------------------------------------------- the commands
def test_evaluate_real_per_writer(model_path, real_file):
    from mojinet.data.strokes import read_strokes
    from mojinet.io import load_model

    model = load_model(model_path)
    result = evaluate_real(model, read_strokes(real_file), top=2)
    assert result["outside"] == {"口": 1} and result["n_outside"] == 1
    assert set(result["writers"]) == {"mojinet/ann", "mojinet/bob"}
    assert [s.n for s in result["writers"].values()] == [3, 3]
    assert result["all"].n == 6 and result["all"].topk >= result["all"].top1
    assert result["all"].top1 >= 5  # bars are easy
    wrong = sum(c for _, _, c in result["confusions"])
    assert wrong == 6 - result["all"].top1
    moved = evaluate_real(model, read_strokes(real_file), top=2, shift=3)
    assert moved["all"].n == 6  # scored the same samples, placed elsewhere


def test_real_eval_command_json(model_path, real_file, capsys):
    assert main(["real-eval", str(model_path), "--real", str(real_file), "--per-class", "5",
                 "--top", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["classes"] == 3
    assert out["synthetic"]["default"]["n"] == 15 and out["synthetic"]["default"]["seed"] == 3
    real = out["real"]
    assert real["outside"] == {"口": 1} and real["files"] == {str(real_file): 7}
    assert real["writers"]["mojinet/ann"]["n"] == 3
    assert real["writers"]["mojinet/ann"]["held_out"] is True  # trained on synthetic only
    assert "all held out" in real["held_out_note"]
    lo, hi = real["all"]["top1_ci"]
    assert lo <= real["all"]["top1"] <= hi


def test_real_eval_text_and_kanji_eval_real(model_path, real_file, capsys):
    assert main(["real-eval", str(model_path), "--real", str(real_file), "--per-class", "5",
                 "--top", "2"]) == 0
    text = capsys.readouterr().out
    assert "mojinet/ann" in text and "held out" in text and "all real writers" in text
    assert "outside the model's 3 classes (not scored): 1 of 7 samples, 1 labels: 口" in text
    assert main(["kanji-eval", str(model_path), "--per-class", "5", "--top", "2", "--real",
                 str(real_file), "--json"]) == 0
    out = json.loads(capsys.readouterr().out.splitlines()[-1])  # after kanji-eval's own lines
    assert out["default"]["samples"] == 15 and out["real"]["all"]["n"] == 6


def test_train_and_evaluate_take_strokes(real_file, tmp_path, capsys):
    out = tmp_path / "s.npz"
    # two samples a class: none for the test split
    assert main(["train", "--dataset", f"strokes:{real_file}", "--epochs", "1"]) != 0
    assert "no samples of the 4 classes in this split" in capsys.readouterr().err
    samples = [bars_sample(c, i + 1, "ann", j / 3) for j in range(10) for i, c in enumerate(CHARS)]
    many = write_jsonl(samples, tmp_path / "many.jsonl")
    name = f"strokes:{many},classes={CHARS},repeat=5,jitter=1"
    assert main(["train", "--dataset", name, "--image-size", "16", "--hidden", "8",
                 "--epochs", "1", "--out", str(out)]) == 0
    assert main(["evaluate", str(out), "--dataset", f"strokes:{real_file},classes={CHARS}",
                 "--split", "all"]) == 0
    text = capsys.readouterr().out
    assert "of 6 strokes-real.jsonl-all" in text
    # a model trained on writer ann: real-eval says she is no check, bob is held out
    assert main(["real-eval", str(out), "--real", str(real_file), "--per-class", "2"]) == 0
    text = capsys.readouterr().out
    assert "TRAINED ON" in text.split("mojinet/ann")[1].splitlines()[0]
    assert "held out" in text.split("mojinet/bob")[1].splitlines()[0]


@pytest.mark.parametrize("dataset, held, words", [
    ("kanjivg-hiragana", True, "all held out"), ("kanjivg:一二三", True, "all held out"),
    ("folder:scans", False, "cannot tell"), ("", False, "cannot tell")])
def test_held_out_note_by_training_data(dataset, held, words):
    from mojinet.io import Model
    from mojinet.nn.network import Network
    from mojinet.real_eval import held_out_note

    model = Model(Network([4, 3], ["softmax"], "cross-entropy"), tuple(CHARS), {},
                  {"config": {"dataset": dataset}})
    marks, note = held_out_note(model, [bars_sample("一", 1, "ann")])
    assert marks == {"mojinet/ann": held} and words in note


def test_a_sample_is_drawn_alike_whatever_is_drawn_beside_it():
    """real-eval keys each sample's pen by its content, so a set reads the same alone or beside
    another set; by position (the default, as training draws) the neighbours change it."""
    from mojinet.data.strokeset import render_samples, sample_key

    a, b, c = bars_sample("一", 1, "ann", 2.0), bars_sample("二", 2, "bob", 2.0), bars_sample(
        "三", 3, "cy", 2.0)
    alone = render_samples([c], 32, 0, "default", True, keys=[sample_key(c)])
    beside = render_samples([a, b, c], 32, 0, "default", True,
                            keys=[sample_key(s) for s in (a, b, c)])
    np.testing.assert_array_equal(beside[2], alone[0])
    by_position = render_samples([a, b, c], 32, 0, "default", True)
    assert not np.array_equal(by_position[2], render_samples([c], 32, 0, "default", True)[0])
    assert sample_key(c) == sample_key(bars_sample("三", 3, "cy", 2.0))  # what, not which copy
    assert len({sample_key(s) for s in (a, b, c)}) == 3
    with pytest.raises(ValueError, match="one a sample"):
        render_samples([a, b], 32, keys=[1])


def test_squared_stretches_the_ink_box_toward_a_square_keeping_its_area():
    from mojinet.real_eval import squared

    cross = (np.array([[0.4, 0.0], [0.6, 1.0]]), np.array([[0.4, 1.0], [0.6, 0.0]]))  # tall
    tall = dataclasses.replace(bars_sample("一", 1, "ann"), strokes=cross)

    def box(sample):
        P = np.concatenate(sample.strokes)
        return P.max(0) - P.min(0)  # (width, height)

    w, h = box(tall)
    for lam in (0.0, 0.5, 1.0):
        w2, h2 = box(squared(tall, lam))
        assert w2 / h2 == pytest.approx((w / h) ** (1 - lam))  # r → r^(1 − λ)
        assert w2 * h2 == pytest.approx(w * h)  # area kept
    np.testing.assert_array_equal(np.concatenate(squared(tall, 0.0).strokes),
                                  np.concatenate(tall.strokes))
    assert [len(q) for q in squared(tall, 0.7).strokes] == [2, 2]  # strokes kept apart
    with pytest.raises(ValueError, match="within"):
        squared(tall, 1.5)


def test_real_eval_square_zero_is_as_written(model_path, real_file):
    from mojinet.data.strokes import read_strokes
    from mojinet.io import load_model

    model, samples = load_model(model_path), read_strokes(real_file)
    plain = evaluate_real(model, samples, top=2)
    assert evaluate_real(model, samples, top=2, square=0.0)["all"] == plain["all"]
    assert evaluate_real(model, samples, top=2, square=1.0)["all"].n == plain["all"].n
