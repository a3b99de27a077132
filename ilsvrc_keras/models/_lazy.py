"""``layers``/``keras`` proxies that import keras on first attribute access.

The family modules register their metadata at import time; deferring the keras import keeps
``ilsvrc-keras --help`` and ``ilsvrc-keras models`` fast (TensorFlow takes seconds to import).
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
