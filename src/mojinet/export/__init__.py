"""Models out of mojinet: ``onnx.export_onnx`` (an ONNX graph for onnxruntime and friends) and
``web.export_web`` (the draw page as static files that run the network in the browser).

Each module imports its heavy dependency (``onnx``) only when called; ``mojinet export`` is the
command (``cli/export.py``).
"""


def refuse_features(model, what: str) -> None:
    """A ValueError when ``model`` reads more than its pixels (``Model.features``): ``what`` (an
    ONNX graph, the static page) carries only the network, not the planes made of the image."""
    features = model.features
    if features.name != "pixels":
        raise ValueError(f"this model reads {features.name} (a transform of its pixels: "
                         f"stroke-direction planes, mojinet.data.directions, or moment "
                         f"normalisation, mojinet.data.moments); {what} carries only "
                         f"the network, not that transform, so it would read wrong answers. "
                         f"Serve it with mojinet serve MODEL, or export a model trained with "
                         f"--features pixels")
