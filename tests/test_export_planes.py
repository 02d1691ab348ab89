"""`mojinet export` of models that read stroke-direction planes beside their pixels: the ONNX
graph makes the planes from its pixel input (mojinet.export.planes) and onnxruntime gives the
numbers of the NumPy reference (``InputFeatures``, ``direction_planes``) and of ``Model``.

The static page's planes (net.js) against NumPy in Chromium: test_web_planes.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mojinet import Model, Network
from mojinet.cli import main
from mojinet.data.directions import InputFeatures, direction_planes
from mojinet.io import save_model
from planes_images import images, planes_model, trained_kanji_planes

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from mojinet.export.onnx import export_onnx, onnx_model  # noqa: E402

#: |onnxruntime − NumPy| for every network input (pixels and plane cells): float32 rounding
#: (the Sobel sums, atan of a quotient against atan2, the pooled mean in float32).
PLANE_TOLERANCE = 1e-6
TOLERANCE = 1e-5  # every probability, share and activation, as tests/test_export.py


def _session(proto, extra=("inputs",)):
    """An onnxruntime session of ``proto`` that also outputs the named inner tensors."""
    from onnx import TensorProto, helper

    proto.graph.output.extend(helper.make_tensor_value_info(name, TensorProto.FLOAT, None)
                              for name in extra)
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _run(session, X) -> dict:
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"pixels": X}), strict=True))


def _check_same(model, got, X):
    """onnxruntime's outputs ``got`` are Model's numbers on images X."""
    P = model.probabilities(X)  # (n, classes)
    second = "probabilities" if model.network.activations[-1].name == "softmax" else "shares"
    assert np.abs(got[second] - P).max() <= TOLERANCE
    assert np.abs(got["activations"] - model.feedforward(X)).max() <= TOLERANCE
    top2 = np.sort(P, axis=1)[:, -2:]
    assert np.all((got["index"] == P.argmax(axis=1)) | (top2[:, 1] - top2[:, 0] < 2 * TOLERANCE))


@pytest.mark.parametrize(("size", "pool"), [(16, 1), (16, 2), (16, 4), (18, 4), (15, 2),
                                            (13, 3), (32, 4)])
def test_graph_inputs_are_the_numpy_planes(size, pool):
    """The graph's network inputs (the pixels, then the pooled planes) against InputFeatures,
    with image sizes divisible by the pool and not (18/4, 15/2, 13/3: zero-padded blocks)."""
    model = planes_model(size, pool)
    X = images(size, seed=size + pool)
    got = _run(_session(onnx_model(model)), X)
    want = model.features(X)  # (n, h·w + 4·ph·pw)
    assert got["inputs"].shape == want.shape
    np.testing.assert_array_equal(got["inputs"][:, :size * size], X)  # the pixels as they are
    assert np.abs(got["inputs"] - want).max() <= PLANE_TOLERANCE
    assert np.all(got["inputs"][-1] == 0)  # the all-zero image: every plane exactly 0
    _check_same(model, got, X)


def test_graph_planes_on_the_special_gradients():
    """Pixel by pixel (pool 1), away from the image's border: a horizontal step edge (gx = 0:
    all on plane 0), a vertical one (gy = 0: plane 2), the two diagonals (|gx| = |gy|, exactly
    on a bin: all on plane 3 for ＼, plane 1 for ／) — the planes are where the math says."""
    size = 12
    model = planes_model(size, 1)
    session = _session(onnx_model(model), extra=("inputs", "m"))
    r, c = np.mgrid[0:size, 0:size]
    steps = {0: r >= 6, 2: c >= 6, 3: c - r >= 0, 1: c + r >= size}  # plane: ink
    X = np.stack([v.astype(np.float32).ravel() for v in steps.values()])
    got = _run(session, X)
    planes = got["inputs"][:, size * size:]
    assert np.abs(planes - direction_planes(X, (size, size))).max() <= PLANE_TOLERANCE
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))
    planes = planes.reshape(4, 4, size, size)[inner]  # (image, plane, 8, 8)
    m = got["m"].reshape(4, 1, size, size)[inner]  # (image, 1, 8, 8)
    for image, plane in enumerate(steps):
        assert m[image].max() > 0.5
        want = np.zeros_like(planes[image])
        want[plane] = m[image, 0]
        assert np.abs(planes[image] - want).max() <= PLANE_TOLERANCE, plane


def test_graph_exactly_on_bin_boundaries_and_at_zero_gradient():
    """Gradients made exactly: gx = 0 (φ = 0°), gy = 0 (φ = 90°), gx = ±gy (45°, 135°),
    gx = 0 = gy (m = 0: no plane). One lit pixel at the centre of a 3×3 image gives all of
    them around it: each neighbour's gradient points at the centre."""
    X = np.zeros((1, 9), np.float32)
    X[0, 4] = 1.0
    model = planes_model(3, 1)
    got = _run(_session(onnx_model(model), extra=("inputs", "gx", "gy")), X)
    gx, gy = got["gx"].reshape(3, 3), got["gy"].reshape(3, 3)
    assert gx[1, 1] == 0 == gy[1, 1] and gx[0, 1] == 0 and gy[1, 0] == 0  # the cases are there
    assert abs(gx[0, 0]) == abs(gy[0, 0]) != 0
    want = direction_planes(X, (3, 3)).reshape(4, 3, 3)
    planes = got["inputs"][0, 9:].reshape(4, 3, 3)
    assert np.abs(planes - want).max() <= PLANE_TOLERANCE
    assert np.all(planes[:, 1, 1] == 0)  # m = 0 at the centre
    assert planes[0, 0, 1] == pytest.approx(0.5) and planes[2, 1, 0] == pytest.approx(0.5)


def test_a_trained_planes_model_exports_to_its_own_answers(tmp_path):
    """A planes model trained on synthetic KanjiVG drawings (32×32, pool 4) reads the same
    drawings through onnxruntime as through Model, and well."""
    model, data = trained_kanji_planes()  # 32×32, pool 4: (216, 1024) kanji drawings
    path = export_onnx(model, tmp_path / "planes.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = _run(session, data.X)
    _check_same(model, got, data.X)
    assert (got["index"] == data.y).mean() > 0.8
    assert [i.name for i in session.get_inputs()] == ["pixels"]
    assert session.get_inputs()[0].shape == ["batch", 1024]  # the image alone, as for pixels
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    prep = json.loads(meta["mojinet.preprocessing"])
    assert prep["features"] == {"name": "pixels+directions", "pool": 4}
    assert "direction planes" in prep["input"]


def test_sigmoid_planes_model_shares():
    model = planes_model(14, 2, hidden=(6,), activations=("sigmoid", "sigmoid"))
    X = images(14)
    got = _run(_session(onnx_model(model)), X)
    assert "shares" in got
    _check_same(model, got, X)


def test_shipped_kanji_grade1_exports(tmp_path, capsys):
    """The shipped kanji-grade1 (pixels+directions, pool 4): mojinet export writes its graph,
    and onnxruntime reads synthetic drawings of its kanji as Model does."""
    from mojinet.data import kanji
    from mojinet.io import load_model
    from mojinet.models import model_path

    model = load_model(model_path("kanji-grade1"))
    assert model.features.name == "pixels+directions"
    out = tmp_path / "grade1.onnx"
    assert main(["export", "kanji-grade1", "--onnx", str(out)]) == 0, capsys.readouterr().err
    data = kanji.synthetic_dataset("".join(model.classes[:20]), 3, 32, seed=5)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    _check_same(model, _run(session, data.X), data.X)


def test_moments_models_are_still_refused(tmp_path, capsys):
    for name in ("moments", "moments+directions"):
        features = InputFeatures(name, (16, 16), 2)
        net = Network([features.n_inputs, 4, 3], ["relu", "softmax"], "cross-entropy", seed=0)
        model = Model(net, tuple("abc"), {"image_shape": [16, 16],
                                          "features": features.record()})
        with pytest.raises(ValueError, match=f"reads {name.replace('+', '.')} .*moment"):
            onnx_model(model)
        path = save_model(model, tmp_path / f"{name}.npz")
        assert main(["export", str(path), "--onnx", str(tmp_path / "m.onnx")]) != 0
        assert "carries only the network" in capsys.readouterr().err
        assert not (tmp_path / "m.onnx").exists()
