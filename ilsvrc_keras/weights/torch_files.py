"""Reading PyTorch-world checkpoints without PyTorch: ``.pth`` state dicts and ``.safetensors`` files.

A ``.pth`` file is a pickle, and unpickling runs whatever callables the pickle names: ``torch.load``
without ``weights_only`` executes a checkpoint's code. :func:`read_pth` instead unpickles with a
restricted ``find_class`` that resolves only the names a state dict of tensors needs (the tensor
rebuild functions, the storage types, ``collections.OrderedDict``) to local NumPy stand-ins; any other
name is a :class:`~ilsvrc_keras.errors.WeightsError` raised before anything is called. Both of
PyTorch's layouts are read: the zip archive (``torch.save`` since PyTorch 1.6: ``<root>/data.pkl`` plus
one raw file per storage) and the older "legacy" stream (magic number, protocol, system info, the
pickle, the storage keys, then each storage's bytes).

``.safetensors`` files (timm's ``model.safetensors``) hold no code by design and are read with the
``safetensors`` package's NumPy API.
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..errors import WeightsError

# PyTorch's legacy storage classes (what torch.save still writes in the pickle) -> NumPy dtypes.
# bfloat16 has no NumPy dtype: its 16 bits are the top half of a float32 (widened on reading).
_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16", "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_SAFETENSORS_MAX_HEADER = 100 * 1024 * 1024


class _StorageType:
    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize


class _Storage:
    """One storage's bytes as a flat NumPy array (filled later in the legacy layout)."""

    def __init__(self, storage_type: _StorageType, numel: int, data: bytes | None = None):
        self.type, self.numel = storage_type, int(numel)
        self.array = None if data is None else _as_array(data, storage_type, self.numel)


def _as_array(data: bytes, storage_type: _StorageType, numel: int) -> np.ndarray:
    need = numel * storage_type.itemsize
    if len(data) < need:
        raise WeightsError(f"a storage holds {len(data)} bytes where {need} are needed (the file is truncated)")
    if storage_type.dtype == "bfloat16":
        bits = np.frombuffer(data, "<u2", count=numel).astype(np.uint32) << 16
        return bits.view(np.float32)
    return np.frombuffer(data, np.dtype(storage_type.dtype).newbyteorder("<"), count=numel)


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """``torch._utils._rebuild_tensor_v2``: a view of ``storage`` with ``size`` and ``stride``."""
    if not isinstance(storage, _Storage):
        raise WeightsError("a tensor is built on something that is not a storage")
    if storage.array is None:  # the legacy layout reads storages after the pickle: resolve later
        return _PendingTensor(storage, int(storage_offset), tuple(size), tuple(stride))
    return _view(storage.array, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_ignored):
    """``torch._utils._rebuild_parameter``: a ``Parameter`` is its tensor."""
    return data


class _PendingTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def resolve(self) -> np.ndarray:
        return _view(self.storage.array, self.offset, self.size, self.stride)


def _view(flat: np.ndarray, offset: int, size: tuple, stride: tuple) -> np.ndarray:
    if len(size) != len(stride) or any(int(s) < 0 for s in size) or any(int(s) < 0 for s in stride):
        raise WeightsError(f"a tensor has an impossible shape {size} / stride {stride}")
    last = offset + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else offset - 1
    if offset < 0 or last >= flat.size:
        raise WeightsError(f"a tensor of shape {size} reaches past its storage of {flat.size} values")
    itemsize = flat.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=[s * itemsize for s in stride])
    return np.array(view)  # a copy: contiguous, writable, independent of the file's buffer


# The only names a checkpoint's pickle may use; everything else is refused before it is called.
_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, load_storage, source):
        super().__init__(file)
        self._load_storage, self._source = load_storage, source

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise WeightsError(f"{self._source}: refused: the checkpoint's pickle calls {module}.{name}, which is "
                               "not part of a state dict of tensors (a file that carries code is never run)") from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise WeightsError(f"{self._source}: refused: an unknown persistent object {str(pid)[:80]!r}")
        return self._load_storage(pid[1], str(pid[2]), int(pid[4]))


def read_pth(path) -> dict[str, np.ndarray]:
    """A PyTorch ``.pth`` state dict as ``{name: array}``, without PyTorch and without running any code
    the file may carry. A checkpoint that wraps its weights (``{"state_dict": ...}``, ``{"model": ...}``)
    is unwrapped.

    >>> from ilsvrc_keras.weights.torch_files import read_pth
    >>> read_pth("resnet18-f37072fd.pth")["fc.weight"].shape  # doctest: +SKIP
    (1000, 512)
    """
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            obj = _read_zip(path)
        else:
            obj = _read_legacy(path)
    except WeightsError:
        raise
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, KeyError, ValueError, TypeError,
            AttributeError, IndexError, struct.error, OSError) as exc:
        raise WeightsError(f"weights file {path} cannot be read: it is damaged or not a PyTorch checkpoint "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    return _state_dict(obj, path)


def _read_zip(path: Path):
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pickles) != 1:
            raise WeightsError(f"weights file {path} is a zip archive but not a PyTorch checkpoint (no data.pkl)")
        root = pickles[0][: -len("data.pkl")]
        storages: dict[str, _Storage] = {}

        def load_storage(storage_type, key, numel):
            if key not in storages:
                storages[key] = _Storage(storage_type, numel, archive.read(f"{root}data/{key}"))
            return storages[key]

        return _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])), load_storage, path.name).load()


def _read_legacy(path: Path):
    with open(path, "rb") as f:
        # The three small headers are plain data: read them with the same restriction (no names at all).
        if _RestrictedUnpickler(f, None, path.name).load() != _LEGACY_MAGIC:
            raise WeightsError(f"weights file {path} is not a PyTorch checkpoint (no zip archive, no legacy magic)")
        _RestrictedUnpickler(f, None, path.name).load()  # protocol version
        _RestrictedUnpickler(f, None, path.name).load()  # system info (byte order, type sizes)
        storages: dict[str, _Storage] = {}

        def load_storage(storage_type, key, numel):
            return storages.setdefault(key, _Storage(storage_type, numel))

        obj = _RestrictedUnpickler(f, load_storage, path.name).load()
        keys = _RestrictedUnpickler(f, None, path.name).load()
        for key in keys:
            storage = storages[str(key)]
            (numel,) = struct.unpack("<q", f.read(8))
            storage.array = _as_array(f.read(numel * storage.type.itemsize), storage.type, numel)
    return obj


def _state_dict(obj, path: Path) -> dict[str, np.ndarray]:
    if isinstance(obj, dict):
        for wrapper in ("state_dict", "model", "model_state_dict"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict) or not obj:
        raise WeightsError(f"weights file {path} holds no state dict of tensors")
    out = {}
    for key, value in obj.items():
        if isinstance(value, _PendingTensor):
            value = value.resolve()
        if not isinstance(value, np.ndarray):
            continue  # metadata beside the tensors (an epoch count, a version)
        out[str(key)] = value
    if not out:
        raise WeightsError(f"weights file {path} holds no tensors")
    return out


def read_safetensors(path) -> dict[str, np.ndarray]:
    """A ``.safetensors`` file as ``{name: array}`` (the format holds data only; nothing is executed)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    try:
        return dict(load_file(str(path)))
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise WeightsError(f"weights file {path} cannot be read: it is damaged or not a safetensors file "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


def file_format(path) -> str:
    """``"pth"``, ``"safetensors"``, ``"hdf5"``, ``"keras"`` or ``"unknown"``, from the file's first bytes
    (not its name: ``weights=PATH`` takes any file in any of these formats)."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "hdf5"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except zipfile.BadZipFile:
            return "unknown"
        if any(n.endswith("data.pkl") for n in names):
            return "pth"
        return "keras" if "config.json" in names or "model.weights.h5" in names else "unknown"
    if head[:1] == b"\x80" and len(head) > 2:  # a pickle stream: PyTorch's legacy layout starts with one
        return "pth"
    if len(head) >= 9 and head[8:9] == b"{":
        (length,) = struct.unpack("<Q", head[:8])
        if 0 < length <= _SAFETENSORS_MAX_HEADER:
            return "safetensors"
    return "unknown"
