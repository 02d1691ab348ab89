"""Engines: the fast paths of training and inference, tested equal to the reference in ``nn/``.

``reference`` is ``nn/`` itself (``Network.backprop`` then the optimiser's step, batch by batch);
``blas`` and ``compiled`` do the same math in fewer calls; ``auto`` picks the fastest that can
train the run.
"""

ENGINES = ("auto", "reference", "blas", "compiled")
