"""``mojinet export MODEL --onnx FILE``: the network as an ONNX graph (float32), for onnxruntime
and any other ONNX runtime.

The graph is the chapter's forward pass, one layer at a time (W: (fan_in, fan_out), as mojinet
stores it)::

    pixels (batch, n_in) ─ MatMul W⁰ ─ Add b⁰ ─ σ⁰ ─ … ─ MatMul Wᴸ ─ Add bᴸ ─ σᴸ ─ activations

A model that reads stroke-direction planes beside its pixels (``features = "pixels+directions"``)
gets them made in the graph from the same ``pixels`` input (``export.planes``: Sobel Conv, Atan,
hat-shaped soft bins, AveragePool), concatenated after the pixels as the first MatMul's input.

σ is Sigmoid, Relu, Tanh or Softmax (axis −1). Outputs:

- ``activations`` (batch, n_classes): the output layer's aᴸ;
- ``probabilities`` (softmax outputs) or ``shares`` (any other: each aⱼ / Σₖ aₖ with negative
  activations as 0, a uniform row when none is positive) — the numbers of ``Model.probabilities``;
- ``index`` (batch,): int64, the best class (ArgMax; the first of ties, like NumPy's argmax).

``pixels`` is the preprocessed image, rows flattened, values in [0, 1] with 1 = ink: what
``mojinet.data.images.to_input`` makes of a picture. ``metadata_props`` carry what a user needs
around the graph: the class labels (JSON list, in output order), the preprocessing (JSON), the
layer sizes and activations, what the second output means, and mojinet's version.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__, scores
from .._files import atomic_write_bytes
from ..io import Model
from ..web.readout import preprocessing_info
from . import refuse_features

#: Opset 17 (ONNX 1.12, 2022): read by every current runtime; IR version 8 to match.
OPSET, IR_VERSION = 17, 8
OPS = {"sigmoid": "Sigmoid", "relu": "Relu", "tanh": "Tanh", "softmax": "Softmax"}


def _layers(model: Model, helper, numpy_helper, a: str = "pixels") -> tuple[list, list, str]:
    """The MatMul/Add/activation nodes of every layer from the input named ``a``; returns
    (nodes, initialisers, last name)."""
    nodes, inits = [], []
    for l, (W, b, sigma) in enumerate(zip(model.network.weights, model.network.biases,
                                          model.network.activations, strict=True)):
        if sigma.name not in OPS:
            raise ValueError(f"layer {l + 1}'s activation {sigma.name!r} has no ONNX operator "
                             f"here; supported: {', '.join(OPS)}")
        inits += [numpy_helper.from_array(np.asarray(W, np.float32), f"W{l}"),  # (fan_in, fan_out)
                  numpy_helper.from_array(np.asarray(b, np.float32), f"b{l}")]  # (fan_out,)
        out = f"a{l + 1}" if l + 1 < model.network.n_layers else "activations"
        nodes += [helper.make_node("MatMul", [a, f"W{l}"], [f"Wa{l}"]),
                  helper.make_node("Add", [f"Wa{l}", f"b{l}"], [f"z{l + 1}"]),
                  helper.make_node(OPS[sigma.name], [f"z{l + 1}"], [out],
                                   **({"axis": -1} if sigma.name == "softmax" else {}))]
        a = out
    return nodes, inits, a


def _input_nodes(model: Model, helper, numpy_helper) -> tuple[list, list, str]:
    """The nodes making the network's inputs of ``pixels``: none for a pixels model, the
    direction planes (``export.planes``) for a pixels+directions one."""
    if not model.features.planes:
        return [], [], "pixels"
    from .planes import direction_nodes

    return direction_nodes(model.features, helper, numpy_helper)


def _share_nodes(n_classes: int, helper, numpy_helper) -> tuple[list, list]:
    """shares = where(Σ a⁺ > 0, a⁺ / Σ a⁺, 1/n) with a⁺ = max(a, 0), row by row."""
    consts = [numpy_helper.from_array(np.array(0, np.float32), "zero"),
              numpy_helper.from_array(np.array([1], np.int64), "last_axis"),
              numpy_helper.from_array(np.array(1 / n_classes, np.float32), "uniform")]
    nodes = [helper.make_node("Max", ["activations", "zero"], ["a_plus"]),
             helper.make_node("ReduceSum", ["a_plus", "last_axis"], ["total"], keepdims=1),
             helper.make_node("Greater", ["total", "zero"], ["some"]),
             helper.make_node("Div", ["a_plus", "total"], ["ratio"]),
             helper.make_node("Where", ["some", "ratio", "uniform"], ["shares"])]
    return nodes, consts


def _metadata(model: Model) -> dict[str, str]:
    kind = scores.output_kind(model.network)
    return {
        "mojinet.classes": json.dumps(list(model.classes), ensure_ascii=False),
        "mojinet.preprocessing": json.dumps(
            {**preprocessing_info(model), "image_shape": list(model.image_shape),
             "features": model.features.record(),
             "input": "pixels: rows of the image flattened, values in [0, 1], 1 = ink, "
                      "0 = background (mojinet.data.images.to_input)"
                      + ("; the graph makes the direction planes of them itself"
                         if model.features.planes else "")}, ensure_ascii=False),
        "mojinet.sizes": json.dumps(list(model.network.sizes)),
        "mojinet.activations": json.dumps([a.name for a in model.network.activations]),
        "mojinet.output": kind,
        "mojinet.outputs": ("activations: the output layer's a; "
                            + ("probabilities: softmax probabilities" if kind == "probability"
                               else "shares: each activation's share of their sum (not a "
                                    "probability)") + "; index: the best class"),
        "mojinet.version": __version__,
    }


def onnx_model(model: Model):
    """The ``onnx.ModelProto`` of ``model`` (checked with ``onnx.checker``)."""
    refuse_features(model, "an ONNX graph")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_in, n_out = model.features.n_pixels, model.network.sizes[-1]
    nodes, inits, inputs = _input_nodes(model, helper, numpy_helper)  # pixels → inputs
    layer_nodes, layer_inits, _ = _layers(model, helper, numpy_helper, inputs)
    nodes, inits = nodes + layer_nodes, inits + layer_inits
    if scores.output_kind(model.network) == scores.PROBABILITY:
        second = "probabilities"
        nodes.append(helper.make_node("Identity", ["activations"], ["probabilities"]))
    else:
        second = "shares"
        extra_nodes, consts = _share_nodes(n_out, helper, numpy_helper)
        nodes, inits = nodes + extra_nodes, inits + consts
    nodes.append(helper.make_node("ArgMax", [second], ["index"], axis=1, keepdims=0))
    batch = ["batch"]
    graph = helper.make_graph(
        nodes, "mojinet", [helper.make_tensor_value_info("pixels", TensorProto.FLOAT,
                                                          batch + [n_in])],
        [helper.make_tensor_value_info("activations", TensorProto.FLOAT, batch + [n_out]),
         helper.make_tensor_value_info(second, TensorProto.FLOAT, batch + [n_out]),
         helper.make_tensor_value_info("index", TensorProto.INT64, batch)], inits)
    proto = helper.make_model(graph, producer_name="mojinet", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)],
                              doc_string=f"mojinet {'-'.join(map(str, model.network.sizes))} "
                              f"network; labels and preprocessing in metadata_props")
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, _metadata(model))
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model: Model, path: str | Path) -> Path:
    """Write ``model`` as an ONNX file at ``path`` (atomically). Needs the ``onnx`` package."""
    try:
        proto = onnx_model(model)
    except ModuleNotFoundError as e:
        raise RuntimeError(f"ONNX export needs the onnx package ({e}); install it with "
                           f"pip install 'mojinet[export]'") from e
    path = Path(path)
    atomic_write_bytes(path, proto.SerializeToString())
    return path
