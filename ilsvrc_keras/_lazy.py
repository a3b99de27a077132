"""``keras``/``layers``/``tf`` proxies that import on first attribute access.

Modules whose metadata the CLI needs at start-up (the model families, localization's options)
use these, so that ``ilsvrc-keras --help`` and ``ilsvrc-keras models`` answer without paying
TensorFlow's seconds of import time.
"""

import importlib


class _LazyModule:
    def __init__(self, name):
        self._name = name
        self._module = None

    def __getattr__(self, attr):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


keras = _LazyModule("keras")
layers = _LazyModule("keras.layers")
tf = _LazyModule("tensorflow")


def exports(package: str, names: dict):
    """``__getattr__`` and ``__dir__`` for a package whose public ``names`` (``{name: submodule}``) are
    imported from their submodules on first use (PEP 562)."""
    import sys

    def __getattr__(name):
        if name in names:
            value = getattr(importlib.import_module(f".{names[name]}", package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(names))

    return __getattr__, __dir__
