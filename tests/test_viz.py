"""Figures: the descent surface's math, and every figure drawn from a small trained model."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from mojinet import SGD, Model, Network, load_dataset, save_model, train
from mojinet.cli import main
from mojinet.viz import descent
from mojinet.viz.activations import activations_figure
from mojinet.viz.network import history_figure
from mojinet.viz.style import save_figure


# ----------------------------------------------------------------------------- descent surface
def test_surface_gradient_matches_finite_differences(rng):
    v = rng.uniform(-3, 3, (20, 2))
    g1, g2 = descent.surface_gradient(v[:, 0], v[:, 1])
    h = 1e-6
    n1 = (descent.cost_surface(v[:, 0] + h, v[:, 1]) - descent.cost_surface(v[:, 0] - h, v[:, 1]))
    n2 = (descent.cost_surface(v[:, 0], v[:, 1] + h) - descent.cost_surface(v[:, 0], v[:, 1] - h))
    np.testing.assert_allclose(g1, n1 / (2 * h), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g2, n2 / (2 * h), rtol=1e-6, atol=1e-8)


def test_surface_has_a_global_and_a_local_minimum_and_descent_finds_both():
    m = descent.find_minima()
    for v in m:
        assert np.hypot(*descent.surface_gradient(*v)) < 1e-6  # stationary
        # a minimum: every nearby point is higher
        ring = v + 0.05 * np.array([[np.cos(t), np.sin(t)] for t in np.linspace(0, 6.28, 16)])
        assert np.all(descent.cost_surface(ring[:, 0], ring[:, 1]) > descent.cost_surface(*v))
    assert descent.cost_surface(*m.global_min) < descent.cost_surface(*m.local_min)
    assert np.linalg.norm(m.global_min - m.local_min) > 1
    ends = [descent.descend(s)[-1] for s in descent.DEFAULT_STARTS]
    to_global = [np.linalg.norm(e - m.global_min) < 0.05 for e in ends]
    to_local = [np.linalg.norm(e - m.local_min) < 0.05 for e in ends]
    assert all(a or b for a, b in zip(to_global, to_local))  # every path converged
    assert any(to_global) and any(to_local)
    path = descent.descend((2.0, -2.0), eta=0.1, steps=50)
    costs = descent.cost_surface(path[:, 0], path[:, 1])
    assert path.shape == (51, 2) and np.all(np.diff(costs) <= 1e-12)  # small steps go downhill
    fig, facts = descent.descent_figure()
    assert facts["n_global"] == sum(to_global) and facts["n_local"] == sum(to_local)


# ----------------------------------------------------------------------------- files
def test_save_figure_writes_every_format_reproducibly(tmp_path):
    fig = activations_figure()
    paths = save_figure(fig, tmp_path, "act")
    assert [p.name for p in paths] == ["act.png", "act.svg", "act.pdf"]
    with Image.open(paths[0]) as img:
        assert img.size[0] > 800 and img.size[1] > 300
    ET.parse(paths[1])  # well-formed SVG
    assert paths[2].read_bytes().startswith(b"%PDF")
    again = save_figure(activations_figure(), tmp_path, "again")
    for p, q in zip(paths, again):  # no timestamps, deterministic ids: reruns give equal files
        assert p.read_bytes() == q.read_bytes()
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(ValueError, match="format"):
        save_figure(fig, tmp_path, "act", ("gif",))


def test_history_figure_needs_a_history():
    with pytest.raises(ValueError, match="history"):
        history_figure([])
    fig = history_figure([{"epoch": 1, "train_cost": 0.2, "eval_cost": None,
                           "eval_accuracy": None, "seconds": 1, "eta": 1.0}])
    assert len(fig.axes) == 2


# ----------------------------------------------------------------------------- a real model
@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A 784-12-8-10 network trained for 3 epochs on 600 MNIST images, saved with history."""
    tr = load_dataset("mnist", "train").subset(600)
    te = load_dataset("mnist", "test").subset(300)
    net = Network([784, 12, 8, 10], init="xavier", seed=0)
    history = train(net, tr.X, tr.y, optimizer=SGD(3.0), epochs=3, batch_size=10,
                    rng=np.random.default_rng(0), eval_data=(te.X, te.y), progress=False)
    model = Model(net, tr.classes, {"image_shape": [28, 28]},
                  {"config": {"dataset": "mnist", "eval": "test", "eta": 3.0, "batch_size": 10},
                   "history": history.to_dict()})
    path = save_model(model, tmp_path_factory.mktemp("model") / "small.npz")
    return path, model, te


def test_make_figures_draws_every_figure_from_the_model(small_model, tmp_path):
    from mojinet.viz.report import make_figures

    _, model, te = small_model
    entries, result = make_figures(model, te, tmp_path / "figs", ("png",))
    stems = [e.stem for e in entries]
    assert stems == ["activation-functions", "network", "gradient-descent", "training",
                     "first-layer-weights", "preferred-inputs-hidden2", "preferred-inputs-output",
                     "confusion-matrix", "confident-mistakes", "within-class"]
    for e in entries:
        assert [p.suffix for p in e.paths] == [".png"]
        with Image.open(e.paths[0]) as img:
            img.verify()
        assert len(e.caption) > 80
    index = (tmp_path / "figs" / "index.md").read_text()
    for n, e in enumerate(entries, start=1):
        assert f"**Figure {n}.** {e.caption}" in index
        assert f"({e.stem}.png)" in index
    assert (tmp_path / "figs" / "index.html").read_text().count("<figure") == len(entries)
    # The captions quote the numbers of this model.
    acc = np.mean(model.network.predict(te.X) == te.y)
    confusion = next(e for e in entries if e.stem == "confusion-matrix")
    assert f"{100 * acc:.2f}%" in confusion.caption
    s = result.summary
    assert f"{s.within:.2f}" in entries[-1].caption and f"{s.between:.2f}" in entries[-1].caption
    assert result.k == 3 and len(result.examples) == 6
    assert np.all(te.y[result.examples] == result.class_index)


def test_figures_and_inspect_commands(small_model, tmp_path, capsys):
    path, model, te = small_model
    out = tmp_path / "f"
    assert main(["figures", str(path), "--out", str(out), "--formats", "svg,pdf", "--limit",
                 "200", "--class", "3", "--k", "2", "--only", "within-class"]) == 0
    text = capsys.readouterr().out
    from mojinet import inspect as ins

    H = model.network.forward(te.X[:200])[1][1]
    s = ins.overlap_summary(H, te.y[:200], 10, k=2)
    assert (f"Within-class analysis (hidden layer 1, top 2 of 12 neurons by activations, "
            f"Jaccard): within a class {s.within:.3f}, between classes {s.between:.3f}") in text
    z = ins.overlap_summary(ins.standardise(H), te.y[:200], 10, k=2)
    assert f"instead: within {z.within:.3f}, between {z.between:.3f}" in text
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "index.md", "within-class.pdf",
                                                     "within-class.svg"]
    assert "“3”s" in (out / "index.md").read_text()

    assert main(["inspect", str(path), "--index", "7"]) == 0
    text = capsys.readouterr().out
    assert f"image 7 of mnist-test (label {te.y[7]})" in text
    assert "largest sensitivities" in text and "more sensitive to" in text

    assert main(["inspect", str(path), "--index", "7", "--label", "4", "--json", "--top", "5"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["wanted"] == "4" and len(rep["sensitivities"]) == 5
    grads = ins.sensitivities(model.network, te.X[7], 4)  # the API and the command agree
    top = ins.largest_sensitivities(grads, 5)
    assert [s["gradient"] for s in rep["sensitivities"]] == pytest.approx([s.gradient for s in top])
    a = np.array(rep["layers"][-1]["activations"])
    assert list(rep["nudges"].values()) == pytest.approx(np.eye(10)[4] - a)
    terms = rep["contributions"]["terms"]
    assert sum(t["w_times_a"] for t in terms) + rep["contributions"]["bias"] == pytest.approx(
        rep["contributions"]["z"])

    # A user's picture (dark ink on white paper, larger than 28×28) goes through to_input.
    img = Image.fromarray((255 - te.images()[7] * 255).astype(np.uint8)).resize((112, 112))
    img.save(tmp_path / "digit.png")
    assert main(["inspect", str(path), str(tmp_path / "digit.png")]) == 0
    assert "digit.png" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["IMG", "--index", "1"], "either an IMAGE"),
    ([], "either an IMAGE"),
    (["--index", "99999"], "--index must be"),
    (["--index", "1", "--label", "Z"], "unknown label"),
    (["--index", "1", "--top", "0"], "--top"),
])
def test_inspect_errors_are_one_clear_line(small_model, capsys, tmp_path, argv, message):
    path, _, _ = small_model
    argv = [str(tmp_path / "x.png") if a == "IMG" else a for a in argv]
    try:
        status = main(["inspect", str(path), *argv])
    except SystemExit as e:  # --top 0 is refused as it is parsed (argparse exits with 2)
        status = e.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_figures_rejects_bad_formats(small_model, tmp_path, capsys):
    path, _, _ = small_model
    assert main(["figures", str(path), "--out", str(tmp_path), "--formats", "png,gif"]) == 2
    assert "--formats" in capsys.readouterr().err


def test_figure_names_agree_between_the_command_and_the_library():
    from mojinet.cli.inspect import FIGURES_NAMES
    from mojinet.viz.report import FIGURES

    assert FIGURES_NAMES == FIGURES
