"""The draw-and-watch page: ``mojinet serve`` starts a local web server where the network reads
what you draw and shows every layer's activations.

``readout`` holds the NumPy side (no web framework); ``page`` the page's files (shared with the
static export, ``mojinet.export.web``); ``app.create_app(model)`` builds the FastAPI app;
``serve`` is the command. FastAPI and uvicorn come with the ``web`` extra and are imported only by
``app`` and when the command runs.
"""
