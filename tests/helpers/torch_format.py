"""PyTorch's checkpoint format and seeded weights, with NumPy only.

Shared by ``tests/fixtures/torch/make_fixtures.py`` (run by a developer, with PyTorch, torchvision and timm)
and the parity tests (run by CI, without PyTorch): both build the same seeded weights for a state dict's
keys and shapes, so the logits the publisher's model gave on them can be checked against the zoo's.
"""

from __future__ import annotations

import collections
import contextlib
import io
import pickle
import sys
import types
import zipfile
import zlib

import numpy as np

# Fixed inputs: a few seeded "photos" (uint8 pixels at the network's input size).
NUM_INPUTS = 2


def random_state(spec, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded weights for ``spec`` = ``[(key, shape, dtype), ...]``: He-scaled kernels, BatchNorm scales
    and variances in [0.5, 1.5], small biases and means; each key from its own stream (its CRC32), so
    the result does not depend on the order of the keys."""
    out = {}
    for key, shape, dtype in spec:
        shape = tuple(shape)
        if dtype == "int64":  # num_batches_tracked
            out[key] = np.zeros(shape, np.int64)
            continue
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        if len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            value = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
            if ".se.fc1." in key:
                # Random BatchNorm statistics leave activations in the hundreds, which would put the SE gates'
                # inputs there too: sigmoid(s) then multiplies any rounding by |s| per block and the parity
                # test would measure float32 chaos, not the conversion. Gate inputs of order 1, as trained.
                value *= np.float32(1e-3)
        elif key.endswith(("running_var", ".weight")):
            value = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            value = (rng.standard_normal(shape, dtype=np.float32) * np.float32(0.1))
        out[key] = value.astype(np.float32, copy=False)
    return out


def inputs(size: int, seed: int = 0) -> np.ndarray:
    """``(NUM_INPUTS, size, size, 3)`` uint8 pixels: smooth random images (a photo's statistics more than noise's)."""
    rng = np.random.default_rng([seed, size])
    coarse = rng.uniform(0, 255, (NUM_INPUTS, 8, 8, 3))
    idx = np.arange(size) * 8 // size
    img = coarse[:, idx][:, :, idx] + rng.normal(0, 20, (NUM_INPUTS, size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


# --- writing PyTorch's zip layout without PyTorch -------------------------------------------------------------

_STORAGE_NAMES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage",
                  np.dtype(np.float16): "HalfStorage", np.dtype(np.float64): "DoubleStorage"}


@contextlib.contextmanager
def _torch_names():
    """Pickle refers to functions and classes by module and name and checks them by importing: provide
    stand-ins under ``torch`` and ``torch._utils`` for the time of the write (the real ones if present)."""
    saved = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called here; named in the pickle
        raise AssertionError

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in _STORAGE_NAMES.values():
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch, utils
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


class _Tensor:
    def __init__(self, rebuild, storage, shape):
        self.rebuild, self.storage, self.shape = rebuild, storage, shape

    def __reduce__(self):
        stride = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
        return self.rebuild, (self.storage, 0, self.shape, stride, False, collections.OrderedDict())


class _StorageRef:
    def __init__(self, storage_type, key, numel):
        self.type, self.key, self.numel = storage_type, key, numel


def write_pth(path, state: dict, extra=None) -> None:
    """``state`` (``{name: array}``) as ``torch.save(state_dict)`` writes it (the zip layout: ``data.pkl``
    with persistent storage ids, one raw little-endian file per storage). ``extra``: more objects to put
    in the dict (a test's hostile payload)."""
    with _torch_names() as (torch, utils):
        blobs, entries = {}, collections.OrderedDict()
        for i, (name, array) in enumerate(state.items()):
            # (ascontiguousarray would make a 0-d counter 1-d); no copy where the array is already C-ordered and
            # little-endian: VGG's 400 MB classifier would otherwise be copied three times per test
            array = np.asarray(array, order="C")
            storage = _StorageRef(getattr(torch, _STORAGE_NAMES[array.dtype]), str(i), array.size)
            blobs[str(i)] = array.astype(array.dtype.newbyteorder("<"), copy=False)
            entries[name] = _Tensor(utils._rebuild_tensor_v2, storage, tuple(array.shape))
        entries.update(extra or {})

        class Pickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, _StorageRef):
                    return ("storage", obj.type, obj.key, "cpu", obj.numel)
                return None

        buf = io.BytesIO()
        Pickler(buf, protocol=2).dump(entries)
    root = "archive/"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(root + "data.pkl", buf.getvalue())
        archive.writestr(root + "byteorder", "little")
        for key, data in blobs.items():
            with archive.open(f"{root}data/{key}", "w") as f:
                f.write(memoryview(data.reshape(-1)).cast("B"))
        archive.writestr(root + "version", "3\n")
