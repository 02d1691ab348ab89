"""The stroke-direction planes (``mojinet.data.directions``) as ONNX nodes, made in the graph from
its ``pixels`` input, so that a ``pixels+directions`` model's graph still reads the image alone.

The math is ``direction_planes``'s; ONNX has ``Atan`` but no ``Atan2``, and needs none::

    image  = pixels reshaped (batch, 1, h, w)
    gx, gy = Conv(image, Sobel kernels), zero padding 1     (y up, as directions._sobel)
    m      = min(1, √(gx² + gy²) / 4)                        edge strength
    u      = 4/π · atan(gy / gx) + 2   where gx ≠ 0,   0 where gx = 0

u = φ / 45° up to a multiple of 4: atan(gy/gx) is atan2(gy, gx) up to a multiple of π, and the
direction φ = atan2 + 90° is taken mod 180°, i.e. u mod 4. gx = 0 is a vertical gradient, a
horizontal stroke: φ = 0°, u = 0 (with gy = 0 too, m = 0 and every plane is 0 whatever u is).
The soft binning is a hat around each plane's orientation, circularly (plane 0 also at u = 4)::

    hat_c  = max(0, 1 − |u − c|)              c = 0, 1, 2, 3, 4    (batch, 5, h, w)
    plane_k = m · (hat_k + [k = 0] hat_4)     k = 0, 1, 2, 3       (1×1 Conv, then Mul)

— for u = k + t (0 ≤ t < 1) that is (1 − t)·m on plane k and t·m on plane k + 1 mod 4, as
``direction_planes`` gives. Pooling is an AveragePool p × p, stride p, padded with zeros at the
bottom and right to whole blocks and counting the padding (``count_include_pad``): the mean over
each block of the zero-padded image. Then Clip to [0, 1], flattened plane by plane, row by row,
and concatenated after the pixels.
"""

from __future__ import annotations

import numpy as np

from ..data.directions import N_PLANES, SOBEL_STEP, InputFeatures

# Conv is a cross-correlation: out[r, c] = Σ K[i, j] · image[r + i − 1, c + j − 1].
SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)  # right − left
SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float32)  # above − below
#: (4, 5, 1, 1): plane k = hat_k, plus hat_4 for plane 0 (4 is 0 again, mod 4)
FOLD = np.concatenate([np.eye(N_PLANES), np.eye(1, N_PLANES)], axis=0).T.astype(np.float32)


def _constants(numpy_helper) -> list:
    def c(name, value):
        return numpy_helper.from_array(np.asarray(value, np.float32), name)

    return [c("sobel_x", SOBEL_X[None, None]), c("sobel_y", SOBEL_Y[None, None]),  # (1,1,3,3)
            c("one", 1.0), c("nought", 0.0), c("inv_step", 1 / SOBEL_STEP),
            c("four_over_pi", 4 / np.pi), c("two", 2.0),
            c("centres", np.arange(N_PLANES + 1).reshape(1, -1, 1, 1)),  # (1, 5, 1, 1)
            c("fold", FOLD[:, :, None, None])]  # (4, 5, 1, 1)


def _gradient_nodes(h: int, w: int, helper, numpy_helper) -> tuple[list, list]:
    """pixels → gx, gy (batch, 1, h, w) and the edge strength m."""
    shape = numpy_helper.from_array(np.array([-1, 1, h, w], np.int64), "image_shape")
    n = helper.make_node
    nodes = [n("Reshape", ["pixels", "image_shape"], ["image"]),
             n("Conv", ["image", "sobel_x"], ["gx"], pads=[1, 1, 1, 1]),
             n("Conv", ["image", "sobel_y"], ["gy"], pads=[1, 1, 1, 1]),
             n("Mul", ["gx", "gx"], ["gx2"]), n("Mul", ["gy", "gy"], ["gy2"]),
             n("Add", ["gx2", "gy2"], ["g2"]), n("Sqrt", ["g2"], ["g_norm"]),
             n("Mul", ["g_norm", "inv_step"], ["g_scaled"]),
             n("Min", ["g_scaled", "one"], ["m"])]
    return nodes, [shape]


def _binning_nodes(helper) -> list:
    """gx, gy, m → the unpooled planes (batch, 4, h, w), without atan2 (see the docstring)."""
    n = helper.make_node
    return [n("Equal", ["gx", "nought"], ["vertical"]),  # gx = 0: φ = 0°
            n("Where", ["vertical", "one", "gx"], ["gx_safe"]),
            n("Div", ["gy", "gx_safe"], ["slope"]), n("Atan", ["slope"], ["angle"]),
            n("Mul", ["angle", "four_over_pi"], ["u_half"]),
            n("Add", ["u_half", "two"], ["u_slope"]),
            n("Where", ["vertical", "nought", "u_slope"], ["u"]),  # (batch, 1, h, w) in [0, 4]
            n("Sub", ["u", "centres"], ["u_off"]), n("Abs", ["u_off"], ["u_dist"]),
            n("Sub", ["one", "u_dist"], ["hat_raw"]), n("Relu", ["hat_raw"], ["hats"]),
            n("Conv", ["hats", "fold"], ["bin_shares"]),  # (batch, 4, h, w), each pixel's Σ = 1
            n("Mul", ["bin_shares", "m"], ["planes_full"])]


def _pooling_nodes(features: InputFeatures, helper, numpy_helper) -> tuple[list, list]:
    """planes_full → the pooled planes flattened (batch, 4·ph·pw), named ``plane_inputs``."""
    h, w = features.image_shape
    p = features.pool
    ph, pw = -(-h // p), -(-w // p)
    n, source = helper.make_node, "planes_full"
    nodes = []
    if p > 1:  # zeros at the bottom and right to whole blocks, counted in each mean
        nodes.append(n("AveragePool", [source], ["planes_pooled"], kernel_shape=[p, p],
                       strides=[p, p], pads=[0, 0, ph * p - h, pw * p - w], count_include_pad=1))
        source = "planes_pooled"
    flat = numpy_helper.from_array(np.array([-1, N_PLANES * ph * pw], np.int64), "planes_shape")
    nodes += [n("Clip", [source, "nought", "one"], ["planes_clipped"]),
              n("Reshape", ["planes_clipped", "planes_shape"], ["plane_inputs"])]
    return nodes, [flat]


def direction_nodes(features: InputFeatures, helper, numpy_helper) -> tuple[list, list, str]:
    """The nodes turning ``pixels`` (batch, h·w) into the network's inputs (batch, n_inputs):
    the pixels, then the four pooled planes. Returns (nodes, initialisers, the inputs' name)."""
    if features.name != "pixels+directions":
        raise ValueError(f"the ONNX graph makes pixels+directions inputs only, not "
                         f"{features.name}")
    h, w = features.image_shape
    grad, grad_inits = _gradient_nodes(h, w, helper, numpy_helper)
    pool, pool_inits = _pooling_nodes(features, helper, numpy_helper)
    concat = helper.make_node("Concat", ["pixels", "plane_inputs"], ["inputs"], axis=1)
    nodes = grad + _binning_nodes(helper) + pool + [concat]
    return nodes, _constants(numpy_helper) + grad_inits + pool_inits, "inputs"
