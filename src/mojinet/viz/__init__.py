"""Figures for a thesis or a lecture: pure functions that return a matplotlib ``Figure``.

Nothing here touches pyplot's global state or switches matplotlib's backend; save a figure with
``save_figure`` (PNG, SVG, PDF, atomically) or let a notebook display it. ``make_figures`` builds
the whole set for a trained model with an index of captions (``mojinet figures``).
"""
