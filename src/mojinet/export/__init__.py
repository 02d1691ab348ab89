"""Models out of mojinet: ``onnx.export_onnx`` (an ONNX graph for onnxruntime and friends) and
``web.export_web`` (the draw page as static files that run the network in the browser).

Each module imports its heavy dependency (``onnx``) only when called; ``mojinet export`` is the
command (``cli/export.py``).
"""
