"""Models out of mojinet: ``onnx.export_onnx`` (an ONNX graph for onnxruntime and friends) and
``web.export_web`` (the draw page as static files that run the network in the browser); a
model reading direction planes beside its pixels gets them made from the pixels by the graph
(``planes``) or the page (``static/net.js``).

Each module imports its heavy dependency (``onnx``) only when called; ``mojinet export`` is the
command (``cli/export.py``).
"""


#: The input features an export can make from the pixels itself (the ONNX graph in its nodes,
#: ``export.planes``; the static page in ``net.js``): the pixels as they are, and the
#: stroke-direction planes beside them. Moment normalisation is not carried.
EXPORTABLE = ("pixels", "pixels+directions")


def refuse_features(model, what: str) -> None:
    """A ValueError when ``model`` reads features ``what`` (an ONNX graph, the static page)
    cannot make from the pixels (``Model.features`` not in ``EXPORTABLE``: moment normalisation)."""
    features = model.features
    if features.name not in EXPORTABLE:
        raise ValueError(f"this model reads {features.name} (moment normalisation of its "
                         f"pixels, mojinet.data.moments); {what} carries only the network and "
                         f"the direction planes, not that transform, so it would read wrong "
                         f"answers. Serve it with mojinet serve MODEL, or export a model "
                         f"trained with --features pixels or pixels+directions")
