"""How a network and a training history show themselves in Jupyter (``_repr_html_``): HTML text.

- ``network_html(net)``: a table of the layers — neurons, activation, weights and biases — and
  the cost.
- ``history_html(history)``: the cost curves (training, and the per-epoch check) and the accuracy
  curve as inline SVG, and a table of the last epochs.

Plain strings built here (no matplotlib: a notebook cell should not wait for a figure), with
every label escaped. Non-goals: interactive widgets.
"""

from __future__ import annotations

from html import escape

__all__ = ["history_html", "network_html", "svg_curves"]

_STYLE = "border-collapse:collapse;font-family:sans-serif;font-size:13px"
_CELL = "padding:2px 10px;border-bottom:1px solid #ccc;text-align:right"
# colour-blind-safe pair (Okabe–Ito blue and orange), as the figures use
_COLOURS = ("#0072B2", "#E69F00")


def _table(header: list[str], rows: list[list[str]], caption: str = "") -> str:
    head = "".join(f'<th style="{_CELL}">{escape(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{escape(c)}</td>' for c in row)
                   + "</tr>" for row in rows)
    cap = f"<caption style='text-align:left'>{escape(caption)}</caption>" if caption else ""
    return f'<table style="{_STYLE}">{cap}<tr>{head}</tr>{body}</table>'


def network_html(net) -> str:
    """A table of ``net``'s layers with exact parameter counts."""
    rows = [["input", f"{net.sizes[0]:,}", "", "", ""]]
    for l, (W, act) in enumerate(zip(net.weights, net.activations), start=1):
        rows.append([f"layer {l}", f"{W.shape[1]:,}", act.name, f"{W.size:,}", f"{W.shape[1]:,}"])
    rows.append(["total", "", "", f"{net.n_weights:,}", f"{net.n_biases:,}"])
    caption = (f"Network {'-'.join(map(str, net.sizes))}, cost {net.cost.name}, "
               f"{net.n_params:,} parameters")
    return _table(["", "neurons", "activation", "weights", "biases"], rows, caption)


def svg_curves(series: dict[str, list[float | None]], title: str, width: int = 320,
               height: int = 180, percent: bool = False) -> str:
    """Lines for each named series of per-epoch values (None: no value), as an SVG element."""
    pad_l, pad_r, pad_t, pad_b = 48, 10, 22, 28
    values = [v for vs in series.values() for v in vs if v is not None]
    n = max((len(vs) for vs in series.values()), default=0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(title)}" style="font:11px sans-serif">',
             f'<text x="{pad_l}" y="14">{escape(title)}</text>']
    if not values or n == 0:
        return "".join(parts) + "</svg>"
    low, high = min(values), max(values)
    high = high if high > low else low + 1e-9

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - (v - low) / (high - low))

    label = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:.4g}")
    parts += [f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" '
              f'y2="{height - pad_b}" stroke="#888"/>',
              f'<text x="2" y="{y(high) + 4:.1f}">{escape(label(high))}</text>',
              f'<text x="2" y="{y(low) + 4:.1f}">{escape(label(low))}</text>',
              f'<text x="{pad_l}" y="{height - 8}">epoch 1</text>',
              f'<text x="{width - pad_r}" y="{height - 8}" text-anchor="end">{n}</text>']
    for k, (name, vs) in enumerate(series.items()):
        colour = _COLOURS[k % len(_COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vs) if v is not None)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"><title>{escape(name)}</title></polyline>')
        parts.append(f'<text x="{width - pad_r}" y="{14 + 12 * k}" text-anchor="end" '
                     f'fill="{colour}">{escape(name)}</text>')
    return "".join(parts) + "</svg>"


def history_html(history, eval_name: str = "check") -> str:
    """The cost and accuracy curves of ``history`` and a table of its last (up to 10) epochs."""
    epochs = history.epochs
    if not epochs:
        return "<p>History: no epochs yet</p>"
    costs = {"training cost": [e.train_cost for e in epochs]}
    if any(e.eval_cost is not None for e in epochs):
        costs[f"{eval_name} cost"] = [e.eval_cost for e in epochs]
    figures = [svg_curves(costs, "cost per epoch")]
    if any(e.eval_accuracy is not None for e in epochs):
        accuracy = {f"{eval_name} accuracy": [e.eval_accuracy for e in epochs]}
        figures.append(svg_curves(accuracy, "accuracy per epoch", percent=True))
    rows = [[str(e.epoch), f"{e.train_cost:.4f}",
             "" if e.eval_cost is None else f"{e.eval_cost:.4f}",
             "" if e.eval_accuracy is None else f"{e.eval_accuracy:.2%}",
             "" if e.eta is None else f"{e.eta:.4g}", f"{e.seconds:.1f}"] for e in epochs[-10:]]
    table = _table(["epoch", "cost", f"{eval_name} cost", f"{eval_name} accuracy", "η", "s"],
                   rows, f"History: {len(epochs)} epochs" +
                   (" (the last 10)" if len(epochs) > 10 else ""))
    return f'<div style="display:flex;gap:12px;flex-wrap:wrap">{"".join(figures)}</div>{table}'
