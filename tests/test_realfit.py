"""Closing the gap to real handwriting (issue 13, item 3): aligning real strokes with KanjiVG
(data/realfit.py), the measured "fitted" style, real writers added to the synthetic training
writers (kanjivg's strokes= option), sessions of real strokes, and held-out bookkeeping."""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mojinet.data import kanji
from mojinet.data.handwriting import STYLES, Style, fitted_style, jitter_strokes
from mojinet.data.kanjivg import Glyph, load_glyph
from mojinet.data.realfit import (
    align,
    decompose,
    fit_hooks,
    fit_style,
    fitted_parameters,
    hook_factors,
    resample,
    tremor,
)
from mojinet.data.registry import load_dataset
from mojinet.data.strokes import make_sample, write_jsonl
from mojinet.data.strokeset import read_named, select_session
from mojinet.real_eval import held_out_note, source_family


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(kanji.CACHE_ENV, str(tmp_path / "cache"))


def _compose(theta: float, h: float, aspect: float) -> np.ndarray:
    """The writer's map Rot(θ)·Shear(h)·diag(a, 1/a), a² = aspect (row vectors)."""
    c, s = math.cos(math.radians(theta)), math.sin(math.radians(theta))
    a = math.sqrt(aspect)
    return (np.array([[c, s], [-s, c]]) @ np.array([[1.0, 0.0], [h, 1.0]])
            @ np.diag([a, 1 / a]))


@settings(max_examples=50, deadline=None)
@given(st.floats(-30, 30), st.floats(-0.5, 0.5), st.floats(0.5, 2.0), st.floats(0.3, 3.0))
def test_decompose_inverts_the_writers_composition(theta, h, aspect, size):
    got = decompose(size * _compose(theta, h, aspect))
    assert got == pytest.approx((theta, h, aspect), abs=1e-9)


def test_resample_spaces_points_evenly_and_keeps_the_ends():
    P = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 30.0]])
    Q = resample(P, 9)
    assert Q[0] == pytest.approx(P[0]) and Q[-1] == pytest.approx(P[-1])
    assert np.linalg.norm(np.diff(Q, axis=0), axis=1) == pytest.approx(np.full(8, 5.0))
    assert (resample(np.array([[3.0, 4.0]]), 4) == [3.0, 4.0]).all()  # a dot


def _moved(glyph: Glyph, A: np.ndarray, b, shifts, angles, scales) -> Glyph:
    """The glyph with each stroke turned, scaled and shifted about its own centre, then the
    whole mapped by p·A + b: a 'real sample' whose differences are known."""
    out = []
    for P, d, ang, sc in zip(glyph.strokes, shifts, angles, scales):
        R = _compose(ang, 0.0, 1.0)
        mid = resample(P, 12).mean(axis=0)
        out.append(((P - mid) @ R * sc + mid + d) @ A + b)
    return Glyph(glyph.char, tuple(out), (), ())


def test_align_recovers_a_whole_character_map_exactly():
    g = load_glyph("木")
    k = len(g.strokes)
    A = 0.8 * _compose(5.0, 0.1, 0.9)
    a = align(_moved(g, A, [7.0, -3.0], np.zeros((k, 2)), np.zeros(k), np.ones(k)), g)
    # not exact: an affine map that stretches changes where the evenly spaced points fall
    assert a.rotation == pytest.approx(5.0, abs=0.2)
    assert (a.shear, a.aspect) == pytest.approx((0.1, 0.9), abs=0.01)
    assert a.residual < 0.5 and np.abs(a.shift).max() < 0.5 and np.abs(a.angle).max() < 1.0


def test_align_recovers_each_strokes_move():
    g = load_glyph("森")  # 12 strokes: the whole-character fit takes up little of each
    k = len(g.strokes)
    rng = np.random.default_rng(0)
    shifts = rng.normal(0, 2.0, (k, 2))
    angles, scales = rng.normal(0, 4.0, k), np.exp(rng.normal(0, 0.05, k))
    a = align(_moved(g, np.eye(2), [0.0, 0.0], shifts, angles, scales), g)
    assert a is not None and 0.5 < a.residual < 4.0  # the strokes moved by about 2 units
    # the whole-character fit takes up part of the moves: what
    # is left per stroke follows the moves made, and a wrong sign or axis would not
    assert np.corrcoef(a.angle, angles)[0, 1] > 0.9
    assert np.corrcoef(a.log_scale, np.log(scales))[0, 1] > 0.9
    assert np.corrcoef(a.shift.ravel(), shifts.ravel())[0, 1] > 0.6  # the fit takes up more


def test_align_refuses_other_stroke_counts_and_orders():
    g = load_glyph("木")
    assert align(Glyph("木", g.strokes[:3], (), ()), g) is None
    reordered = Glyph("木", (g.strokes[2], g.strokes[0], g.strokes[3], g.strokes[1]), (), ())
    assert align(reordered, g) is None  # strokes do not correspond point by point
    assert align(g, g).residual == pytest.approx(0.0, abs=1e-9)


def test_fitted_parameters_measure_the_spread_they_were_given():
    g = load_glyph("森")
    k = len(g.strokes)
    rng = np.random.default_rng(1)
    found = []
    for _ in range(100):
        angles = rng.normal(0, 6.0, k)
        found.append(align(_moved(g, np.eye(2), [0, 0], rng.normal(0, 2.0, (k, 2)), angles,
                                  np.exp(rng.normal(0, 0.1, k))), g))
    fitted = fitted_parameters(found)
    assert fitted["stroke_angle_sd"] == pytest.approx(6.0, rel=0.25)
    assert fitted["stroke_scale_sd"] == pytest.approx(0.1, rel=0.25)
    assert fitted["stroke_shift_sd"] == pytest.approx(2.0, rel=0.35)
    style = fit_style(found)
    assert isinstance(style, Style) and style.stroke_angle_sd == fitted["stroke_angle_sd"]
    with pytest.raises(ValueError, match="no aligned"):
        fitted_parameters([])


def test_packaged_fit_is_the_fitted_style_and_names_its_source():
    record = json.loads((resources.files("mojinet.data") / "fitted_style.json").read_text())
    assert "tomoe_data by Hiroyuki Komatsu" in record["source"]
    p = record["parameters"]
    assert STYLES["fitted"] == fitted_style()
    assert STYLES["fitted"].stroke_scale_sd == p["stroke_scale_sd"]
    assert STYLES["fitted"].aspect == tuple(p["aspect"])
    assert STYLES["fitted"].pen_width == STYLES["default"].pen_width  # the pen is not fitted


# ----------------------------------------------------------------------------- real writers
def _bars(label: str, k: int, writer: str, session: str = ""):
    ys = np.linspace(20, 80, k) if k > 1 else [50]
    strokes = [[(15, y), (50, y - 2), (85, y)] for y in ys]
    return make_sample(label, strokes, (100, 100), f"test:{writer}", writer=writer,
                       source="mojinet", session=session)


def test_real_writers_join_the_training_split_only(tmp_path):
    path = write_jsonl([_bars(c, i + 1, "ann") for i, c in enumerate("一二三")]
                       + [_bars("口", 2, "ann")], tmp_path / "real.jsonl")
    plain = load_dataset("kanjivg", "train", chars="一二三", per_class=10, size=16)
    mixed = load_dataset("kanjivg", "train", chars="一二三", per_class=10, size=16,
                         strokes=str(path), strokes_repeat=4)
    assert len(mixed) == len(plain) + 3 * 4  # 口 is not a class: left out
    assert (mixed.X[: len(plain)] == plain.X).all()
    assert np.bincount(mixed.y[len(plain):]).tolist() == [4, 4, 4]
    real = mixed.X[len(plain):].reshape(4, 3, 256)
    assert not (real[0] == real[1]).all()  # each round its own distortions
    test = load_dataset("kanjivg", "test", chars="一二三", test_per_class=5, size=16,
                        strokes=str(path))
    assert len(test) == 15  # the check stays synthetic
    with pytest.raises(ValueError, match="strokes_repeat"):
        load_dataset("kanjivg", "train", chars="一二三", per_class=2, size=16,
                     strokes=str(path), strokes_repeat=0)


def test_sessions_select_samples_and_say_what_exists(tmp_path):
    samples = [_bars("一", 1, "ann", "train/s1"), _bars("二", 2, "ann", "eval/s1")]
    assert [s.label for s in select_session(samples, "eval", "x")] == ["二"]
    assert select_session(samples, None, "x") == samples
    with pytest.raises(ValueError, match="sessions found: eval/s1, train/s1"):
        select_session(samples, "dev", "x")
    path = write_jsonl([_bars("一", 1, "ann")], tmp_path / "a.jsonl")
    got, options = read_named(f"{path},session=,style=thin")
    assert len(got) == 1 and options == {"style": ["thin"]}


class _Model:
    def __init__(self, config):
        self.training = {"config": config}


def test_both_tomoe_files_count_as_one_source(tmp_path):
    tomoe = make_sample("一", [[(0, 50), (100, 50)]], (100, 100), "t", writer="all",
                        source="tomoe_data")
    debian = make_sample("一", [[(0, 50), (100, 50)]], (100, 100), "d",
                         writer="handwriting-ja", source="tomoe")
    other = _bars("一", 1, "ann")
    path = write_jsonl([tomoe], tmp_path / "tomoe.jsonl")
    assert source_family("tomoe/handwriting-ja") == source_family("tomoe_data/all") == "tomoe"
    model = _Model({"dataset": "kanjivg", "dataset_options": {"strokes": str(path)}})
    held, note = held_out_note(model, [tomoe, debian, other])
    assert held == {"tomoe_data/all": False, "tomoe/handwriting-ja": False,
                    "mojinet/ann": True}
    assert "no check" in note
    held, _ = held_out_note(_Model({"dataset": "kanjivg-hiragana"}), [tomoe, other])
    assert all(held.values())


def test_many_labels_outside_are_counted_and_the_list_is_cut(caplog):
    from collections import Counter

    from mojinet.data.strokeset import report_outside

    outside = Counter({chr(0x4E00 + i): 1 for i in range(50)})
    with caplog.at_level("WARNING"):
        report_outside("tomoe", outside, 60, 10)
    assert "50 of 60 samples have labels outside the 10 classes" in caplog.text
    assert chr(0x4E00 + 39) in caplog.text and chr(0x4E00 + 40) not in caplog.text
    assert "… and 10 more labels" in caplog.text


def test_the_ablations_sign_test_by_hand():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "real_ablation.py"
    spec = importlib.util.spec_from_file_location("real_ablation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.sign_test(0, 0) == 1.0
    assert module.sign_test(1, 1) == 1.0
    assert module.sign_test(5, 0) == pytest.approx(2 / 32)  # 2 · (½)^5
    # 15 against 4: 2 · Σ_{i≤4} C(19, i) / 2^19
    assert module.sign_test(15, 4) == pytest.approx(2 * 5036 / 2**19)
    assert module.sign_test(4, 15) == module.sign_test(15, 4)


def test_the_committed_recipes_read_and_name_what_exists():
    from pathlib import Path

    from mojinet.config import read_config
    from mojinet.data.registry import get_spec

    recipes = sorted((Path(__file__).resolve().parents[1] / "recipes").glob("*.toml"))
    assert len(recipes) >= 3
    for path in recipes:
        config = read_config(path)
        options = dict(config.dataset_options)
        get_spec(config.dataset)  # a registered dataset
        assert options["style"] in STYLES, path
        kanji.resolve_chars(options["chars"])
        assert options.get("strokes", "tomoe_data").rstrip("/").endswith("tomoe_data"), path


def test_held_out_writers_are_scored_together_without_the_trained_on():
    from mojinet.real_eval import Score, held_out_score

    result = {"writers": {"a/x": Score(10, 9, 10, 10), "b/y": Score(20, 10, 18, 10),
                          "c/z": Score(5, 5, 5, 10)}}
    got = held_out_score(result, {"a/x": True, "b/y": False, "c/z": True})
    assert (got.n, got.top1, got.topk) == (15, 14, 15)
    assert held_out_score(result, {"a/x": False, "b/y": False, "c/z": False}) is None


def test_a_model_trained_on_the_packaged_tomoe_data_knows_its_writers():
    """``strokes = "mojinet:tomoe_data"`` (the shipped recipes): real-eval marks it trained on."""
    from types import SimpleNamespace

    from mojinet.real_eval import trained_writers

    model = SimpleNamespace(training={"config": {
        "dataset": "kanjivg", "dataset_options": {"strokes": "mojinet:tomoe_data"}}})
    assert trained_writers(model) == {"tomoe_data/all", "tomoe_data/hiragana"}


def test_the_shipped_kana_and_grade1_recipes_are_the_real_handwriting_ones():
    from mojinet.config import read_config
    from mojinet.models import recipe_path

    for name, strokes in (("hiragana", True), ("katakana", False), ("kanji-grade1", True)):
        options = dict(read_config(recipe_path(name)).dataset_options)
        assert options["style"] == "fitted", name
        assert (options.get("strokes") == "mojinet:tomoe_data") is strokes, name


def _hooked_writer(style: Style, n: int = 30):
    """(real, KanjiVG) pairs whose 'real' strokes are the KanjiVG glyph with its hooks varied by
    ``style``: a writer whose hooks are known."""
    for c in "丁水小手子寸式心":
        g = load_glyph(c)
        for i in range(n):
            strokes = jitter_strokes(g, style, np.random.default_rng([7, ord(c), i]))
            yield Glyph(c, tuple(strokes), (), ()), g


def test_hook_fit_recovers_the_writer_that_drew_them():
    """The fit of hooks drawn with known parameters (on otherwise unvaried glyphs) gives those
    parameters back: the share left out, the median factor and the spread of its log."""
    truth = dict(hook_drop=0.25, hook_scale=1.4, hook_scale_sd=0.3)
    fit = fit_hooks(hook_factors(_hooked_writer(STYLES["clean"].with_(**truth))))
    assert fit["n_hooks"] == 8 * 30
    assert fit["hook_drop"] == pytest.approx(truth["hook_drop"], abs=0.07)
    assert fit["hook_scale"] == pytest.approx(truth["hook_scale"], rel=0.08)
    assert fit["hook_scale_sd"] == pytest.approx(truth["hook_scale_sd"], abs=0.08)
    unvaried = fit_hooks(hook_factors(_hooked_writer(STYLES["clean"], n=2)))
    assert unvaried["hook_drop"] == 0.0
    assert unvaried["hook_scale"] == pytest.approx(1.0, rel=0.02)


def test_hook_fit_skips_other_stroke_counts_and_refuses_too_few():
    """A real sample with another stroke count than KanjiVG's is not matched; no hooks, no fit."""
    g = load_glyph("丁")
    assert len(hook_factors([(Glyph("丁", g.strokes[:1], (), ()), g)])) == 0
    with pytest.raises(ValueError, match="too few"):
        fit_hooks(np.array([0.0, 1.0]))


def test_tremor_is_zero_for_a_straight_stroke_and_the_wobble_it_carries():
    """A straight line does not tremble; one with a wobble (wavelength 4 units) of amplitude a
    measures about a/√2 (its root mean square); a long gentle bow (a drawn curve) far less."""
    x = np.linspace(0.0, 80.0, 401)
    assert tremor(np.stack([x, 0.5 * x], -1)) < 1e-3  # the kernel cut at the ends, only
    wobble = np.stack([x, 0.3 * np.sin(2 * np.pi * x / 4.0)], -1)
    assert tremor(wobble) == pytest.approx(0.3 / math.sqrt(2), rel=0.1)
    bow = np.stack([x, 10.0 * np.sin(np.pi * x / 80.0)], -1)
    assert tremor(bow) < 0.05
    assert math.isnan(tremor(np.array([[0.0, 0.0], [15.0, 0.0]])))
