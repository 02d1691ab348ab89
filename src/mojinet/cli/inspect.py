"""The ``mojinet inspect`` and ``mojinet figures`` commands. Thin: parse, call the library, print.

``add_parser(sub)`` registers both subcommands on the main parser's subparsers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import inspect as ins
from .. import scores
from ..data.images import to_input
from ..data.registry import DATA_DIR_ENV, dataset_name
from ..io import Model, load_model
from ..models import model_path
from ..runner import model_split
from .common import DefaultsHelpFormatter, whole
from .printer import say, say_json

# The figure names of ``mojinet.viz.report.FIGURES`` (kept here so that parsing the command line
# does not import matplotlib; a test checks the two lists agree).
FIGURES_NAMES = ("activation-functions", "network", "gradient-descent", "training",
                 "first-layer-weights", "preferred-inputs", "confusion-matrix",
                 "confident-mistakes", "within-class")


class InspectError(ValueError):
    """Bad arguments for inspect/figures (shown to the user as one line)."""


def _class_index(model: Model, label: str) -> int:
    if label in model.classes:
        return model.classes.index(label)
    raise InspectError(f"unknown label {label!r}; the model's classes are "
                       f"{' '.join(model.classes[:50])}")


def _param_description(net, s: ins.Sensitivity, image_shape) -> str:
    to = ins.layer_name(net, s.layer)
    if s.kind == "bias":
        return f"bias of {to} neuron {s.index[0]}"
    i, j = s.index
    if s.layer == 1 and image_shape[0] * image_shape[1] == net.sizes[0]:
        r, c = divmod(i, image_shape[1])
        return f"pixel ({r}, {c}) → {to} neuron {j}"
    return f"{ins.layer_name(net, s.layer - 1)} neuron {i} → {to} neuron {j}"


def _neuron_description(net, i: int, model: Model) -> str:
    """'neuron i' of the last hidden layer, or 'pixel (r, c)' for a network without one."""
    h, w = model.image_shape
    if net.n_layers == 1 and h * w == net.sizes[0]:
        return f"pixel ({i // w}, {i % w})"
    return f"neuron {i}"


def _ratio(a: float, b: float) -> str:
    if b == 0:
        return "∞"
    r = abs(a) / abs(b)
    return f"{r:,.0f}" if r >= 100 else f"{r:#.3g}"


def _median_nonzero(g: np.ndarray) -> float:
    nz = np.abs(g[g != 0]).astype(np.float64)
    return float(np.median(nz)) if nz.size else 0.0


def inspect_report(model: Model, x: np.ndarray, label: int | None, top: int = 10) -> dict:
    """Everything ``mojinet inspect`` shows, as plain Python data (also its ``--json`` output).
    x: (h·w,) an image, read as the model reads images (``Model.inputs``)."""
    net = model.network
    x = model.inputs(x.reshape(1, -1))[0]  # (n_inputs,): the pixels, and planes if it has them
    acts = ins.layer_activations(net, x)
    predicted = int(np.argmax(acts[-1]))
    wanted = predicted if label is None else label
    contrib, bias = ins.output_contributions(net, x, predicted)
    grads = ins.sensitivities(net, x, wanted)
    nudges = ins.output_nudges(net, x, wanted)
    largest = ins.largest_sensitivities(grads, top)
    all_w = np.concatenate([g.ravel() for g in grads.nabla_w]).astype(np.float64)
    nonzero = np.abs(all_w[all_w != 0])
    median = float(np.median(nonzero)) if nonzero.size else 0.0
    order = np.argsort(-contrib, kind="stable")
    return {
        "prediction": model.classes[predicted],
        "output": scores.output_kind(net),  # probabilities, or activations and their shares
        "top": scores.candidates(model, acts[-1], 3),
        "wanted": model.classes[wanted],
        "cost": grads.cost,
        "layers": [{"name": ins.layer_name(net, l), "activations": a.astype(float).tolist()}
                   for l, a in enumerate(acts)],
        "contributions": {
            "output": model.classes[predicted],
            "z": float(contrib.sum() + bias), "bias": bias,
            "from_layer": ins.layer_name(net, net.n_layers - 1),
            "terms": [{"neuron": int(i), "describes": _neuron_description(net, i, model),
                       "w_times_a": float(contrib[i]),
                       "w": float(net.weights[-1][i, predicted]),
                       "a": float(acts[-2][i])} for i in order],
        },
        "nudges": {c: float(v) for c, v in zip(model.classes, nudges)},
        "hidden_nudges": [{"name": ins.layer_name(net, l), "minus_dC_da": (-g).tolist()}
                          for l, g in enumerate(ins.activation_gradients(net, x, wanted))
                          if 0 < l < net.n_layers],
        "sensitivities": [{"parameter": s.name, "kind": s.kind, "layer": s.layer,
                           "index": list(s.index), "gradient": s.gradient,
                           "describes": _param_description(net, s, model.image_shape)}
                          for s in largest],
        "per_layer": [{"layer": l, "weights": ins.layer_name(net, l - 1) + " → "
                       + ins.layer_name(net, l),
                       "max_abs_weight_gradient": float(np.abs(gw).max()),
                       "median_nonzero_abs_weight_gradient": _median_nonzero(gw),
                       "max_abs_bias_gradient": float(np.abs(gb).max())}
                      for l, (gw, gb) in enumerate(zip(grads.nabla_w, grads.nabla_b), start=1)],
        "median_nonzero_weight_gradient": median,
        "zero_weight_gradients": int(np.sum(all_w == 0)),
        "n_weights": int(all_w.size),
    }


def _format_report(rep: dict, source: str, top: int) -> str:
    out = [f"{source}",
           "prediction: " + ", then ".join(scores.describe(t, rep["output"])
                                           for t in rep["top"]),
           f"wanted label for the gradients: {rep['wanted']} "
           f"({'the prediction' if rep['wanted'] == rep['prediction'] else 'given with --label'}"
           f"); cost of this example {rep['cost']:.4g}", "", "activations per layer:"]
    for layer in rep["layers"]:
        a = np.array(layer["activations"])
        if layer["name"] == "input":
            out.append(f"  input ({a.size}): {int(np.sum(a > 0))} pixels with ink, mean "
                       f"{a.mean():.3f}")
        elif layer["name"] == "output":
            out.append(f"  output ({a.size}): " + "  ".join(
                f"{c}:{v:.2f}" for c, v in zip(rep["nudges"], a)))
        else:
            out.append(f"  {layer['name']} ({a.size}): " + " ".join(f"{v:.2f}" for v in a))
    c = rep["contributions"]
    terms = c["terms"]
    out += ["", f"what pushes output {c['output']} (z = Σ w·a + b = {c['z']:.3f}, bias "
            f"{c['bias']:+.3f}), from {c['from_layer']}:"]
    shown = terms[:5] + [t for t in terms[-3:] if t not in terms[:5] and t["w_times_a"] < 0]
    for t in shown:
        out.append(f"  {t['describes']:<15} w·a = {t['w_times_a']:+.3f}  "
                   f"(w = {t['w']:+.3f}, a = {t['a']:.3f})")
    out += ["", f"nudges backpropagation asks of the outputs (−∂C/∂a, wanting "
            f"{rep['wanted']}; + = be more active):",
            "  " + "  ".join(f"{k}:{v:+.3f}" for k, v in rep["nudges"].items())]
    for h in rep["hidden_nudges"][::-1][:1]:  # the last hidden layer: one step back
        g = np.array(h["minus_dC_da"])
        best = np.argsort(-np.abs(g), kind="stable")[:6]
        out.append(f"  …which asks of {h['name']} (−∂C/∂a, largest): " + "  ".join(
            f"{j}:{g[j]:+.3f}" for j in best))
    sens = rep["sensitivities"]
    med = rep["median_nonzero_weight_gradient"]
    out += ["", f"largest sensitivities of the cost to one parameter (∂C/∂w for this example; "
            f"ratio to the median nonzero weight gradient {med:.3g}):"]
    for n, s in enumerate(sens, start=1):
        out.append(f"  {n:>2}. {s['parameter']:<12} {s['gradient']:+.3e}  "
                   f"×{_ratio(s['gradient'], med):<8} {s['describes']}")
    if sens:
        a = sens[0]
        out += ["", f"The cost is {_ratio(a['gradient'], med)}× more sensitive to {a['parameter']} "
                f"than to the median weight with a nonzero gradient"
                + (f", and {_ratio(a['gradient'], sens[-1]['gradient'])}× more than to "
                   f"{sens[-1]['parameter']} (number {len(sens)} above)." if len(sens) > 1
                   else ".")]
    out += ["", "per layer (|∂C/∂w|: largest, median of the nonzero ones; |∂C/∂b|: largest):"]
    for pl in rep["per_layer"]:
        out.append(f"  W{pl['layer']}, b{pl['layer']} ({pl['weights']}): "
                   f"{pl['max_abs_weight_gradient']:.3e}, "
                   f"{pl['median_nonzero_abs_weight_gradient']:.3e}; "
                   f"{pl['max_abs_bias_gradient']:.3e}")
    out.append(f"{rep['zero_weight_gradients']:,} of {rep['n_weights']:,} weights have a zero "
               f"gradient here: ∂C/∂w = a_in·δ_out is 0 when the input activation a_in is 0 "
               f"(e.g. a blank pixel).")
    return "\n".join(out)


def cmd_inspect(args) -> int:
    model = load_model(model_path(args.model))  # a file, or a shipped model's name
    h, w = model.image_shape
    if args.top < 1:
        raise InspectError(f"--top must be at least 1, got {args.top}")
    if (args.image is None) == (args.index is None):
        raise InspectError("give either an IMAGE file or --index N (a test image), not both")
    if args.index is not None:
        data = model_split(model, "test", args.dataset, args.data_dir)
        if not 0 <= args.index < len(data):
            raise InspectError(f"--index must be in 0..{len(data) - 1} for {data.name}")
        x = data.X[args.index]
        source = (f"{args.model}: image {args.index} of {data.name} "
                  f"(label {data.classes[data.y[args.index]]})")
    else:
        if h != w:
            raise InspectError(f"{args.model}: image files need a square input, not {h}×{w}; "
                               f"use --index N")
        box = model.preprocessing.get("user_images", {}).get("box")
        x = to_input(Path(args.image), size=h, box=box).reshape(-1)
        source = f"{args.model}: {args.image}"
    if x.size != model.features.n_pixels:
        raise InspectError(f"the image gives {x.size} inputs, the model needs "
                           f"{model.features.n_pixels}")
    label = None if args.label is None else _class_index(model, args.label)
    rep = inspect_report(model, x, label, args.top)
    if args.json:
        say_json({"source": source, **rep})
    else:
        say(_format_report(rep, source, args.top))
    return 0


def cmd_figures(args) -> int:
    from ..viz.report import make_figures

    model = load_model(model_path(args.model))  # a file, or a shipped model's name
    data = model_split(model, "test", args.dataset, args.data_dir)
    if args.limit < 0:
        raise InspectError(f"--limit must be 0 (all) or a positive number, got {args.limit}")
    if args.limit:
        data = data.subset(args.limit)
    formats = tuple(f.strip().lower() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad or not formats:
        raise InspectError(f"--formats takes png, svg and/or pdf separated by commas, not "
                           f"{args.formats!r}")
    cls = None if args.class_label is None else _class_index(model, args.class_label)
    say(f"Drawing figures for {args.model} with {len(data):,} {data.name} images into "
           f"{args.out}:")
    only = None if not args.only else set(args.only)
    entries, result = make_figures(model, data, args.out, formats, layer=args.layer, k=args.k,
                                   class_index=cls, standardised=args.standardise, only=only,
                                   log=say)
    say(f"Wrote {len(entries)} figures ({', '.join(formats)}) and "
           f"{Path(args.out) / 'index.md'} / index.html with the captions.")
    if result is not None:
        s, o = result.summary, result.other
        how = ("z-scored activations" if result.standardised else "activations")
        say(f"Within-class analysis (hidden layer {result.layer}, top {s.k} of {s.n_neurons} "
               f"neurons by {how}, Jaccard): within a class {s.within:.3f}, between classes "
               f"{s.between:.3f}, random sets {s.chance:.3f}")
        say(f"  ranking by {'activations' if result.standardised else 'z-scored activations'}"
               f" instead: within {o.within:.3f}, between {o.between:.3f}")
        say("  per class (within / between): " + "  ".join(
            f"{c}: {a:.2f}/{b:.2f}" for c, a, b in
            zip(model.classes, s.per_class_within, s.per_class_between)))
    return 0


def add_parser(sub) -> None:
    """Register ``inspect`` and ``figures`` on the main parser's subparsers."""
    i = sub.add_parser(
        "inspect", help="look inside the network for one image: activations, contributions, "
        "gradient sensitivities", description="Per-layer activations, the neurons that push the "
        "answer most, the nudges backpropagation asks of the outputs, and the weights and "
        "biases the cost is most sensitive to for this one example.")
    i.add_argument("model")
    i.add_argument("image", nargs="?", metavar="IMAGE",
                   help="an image file (preprocessed as by predict)")
    i.add_argument("--index", type=whole(0), metavar="N",
                   help="use test image N of the dataset instead")
    i.add_argument("--label", help="the wanted answer for the gradients (default: the prediction)")
    i.add_argument("--top", type=whole(1), default=10, help="how many sensitivities to list")
    i.add_argument("--dataset", type=dataset_name, metavar="NAME",
                   help="dataset for --index (default: the one the model was trained on)")
    i.add_argument("--data-dir", help=f"folder with the dataset's IDX files (or ${DATA_DIR_ENV})")
    i.add_argument("--json", action="store_true", help="print JSON instead of text")
    i.set_defaults(func=cmd_inspect)

    f = sub.add_parser(
        "figures", help="draw the chapter's figures for a trained model (PNG/SVG/PDF + index)",
        formatter_class=DefaultsHelpFormatter)
    f.add_argument("model")
    f.add_argument("--out", required=True, help="folder for the figures (created if missing)")
    f.add_argument("--formats", default="png,svg,pdf", help="comma-separated: png, svg, pdf")
    f.add_argument("--dataset", type=dataset_name, metavar="NAME",
                   help="test images from this dataset (default: the model's)")
    f.add_argument("--data-dir", help=f"folder with the dataset's IDX files (or ${DATA_DIR_ENV})")
    f.add_argument("--limit", type=whole(0), default=0, metavar="N",
                   help="use only the first N test images (quicker)")
    f.add_argument("--layer", type=whole(1), default=1,
                   help="hidden layer for the within-class figure")
    f.add_argument("--k", type=whole(1), default=None,
                   help="top-k most active neurons compared (default: a quarter of the layer)")
    f.add_argument("--class", dest="class_label", metavar="LABEL",
                   help="class for the within-class figure (default: the most varied)")
    f.add_argument("--standardise", action="store_true",
                   help="within-class figure: rank neurons by activation z-scored per neuron "
                   "(how unusually active) instead of by raw activation")
    f.add_argument("--only", nargs="+", metavar="NAME", choices=FIGURES_NAMES,
                   help=f"draw only these figures: {', '.join(FIGURES_NAMES)}")
    f.set_defaults(func=cmd_figures)
