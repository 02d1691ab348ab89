"""``lazy_import(name)``: a module that is imported when one of its attributes is first read.

``scipy.ndimage`` takes ~0.25 s to import, and only the photo and scan path needs it: training,
``mojinet train --preset fast-98`` among it, never does. The standard library's
``importlib.util.LazyLoader`` defers the work; a module that is already imported is returned as
it is.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """The module ``name``, to be executed on first attribute access (ImportError now if it is
    not installed)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}; reinstall mojinet with its dependencies "
                          f"(pip install mojinet)")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
