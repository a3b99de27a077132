"""Find a preset's weights file, and load any weights file into a zoo network.

Finding (a preset's file name is its publisher's: keras' ``resnet50_weights_tf_dim_ordering_tf_kernels.h5``,
torchvision's ``resnet18-f37072fd.pth``, timm's ``model.safetensors`` saved as ``<arch.tag>.safetensors``):

1. an explicit path given by the caller;
2. ``$ILSVRC_KERAS_WEIGHTS_DIR/<file>``;
3. keras' own cache, ``$KERAS_HOME/models/<file>`` (default ``~/.keras/models``);
4. a download through ``keras.utils.get_file`` into that cache, checked against the publisher's hash
   (keras' md5, torchvision's sha256 prefix in the file name), unless ``$ILSVRC_KERAS_OFFLINE=1``.

Offline and not found, :class:`WeightsNotFoundError` names the file and where to put it.

Loading (:func:`load_weights`) reads the file's format from its first bytes: Keras files (legacy HDF5
by layer name, Keras 3 ``.weights.h5``/``.keras``), PyTorch ``.pth`` state dicts through a reader that
runs no code (:mod:`.torch_files`) and ``.safetensors``; PyTorch layouts are converted by name and
shape (:mod:`.convert`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import WeightsError, WeightsNotFoundError

WEIGHTS_DIR_ENV = "ILSVRC_KERAS_WEIGHTS_DIR"
OFFLINE_ENV = "ILSVRC_KERAS_OFFLINE"


def is_offline() -> bool:
    """True where ``$ILSVRC_KERAS_OFFLINE`` forbids downloads."""
    return os.environ.get(OFFLINE_ENV, "") not in ("", "0")


# Weights inside the package (MobileNet-0.25 at 128 px, 2 MB: NOTICE.md there): a fresh install without a network
# still classifies and localizes.
EMBEDDED_DIR = Path(__file__).parent / "embedded"


def keras_cache_dir() -> Path:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def _file_name(preset, include_top: bool) -> tuple[str, str, Optional[str]]:
    w = preset.weights
    if include_top or not w.notop_file_name:
        return w.file_name, w.url, w.file_hash
    return w.notop_file_name, w.notop_url, w.notop_file_hash


def find_local_weights(preset, include_top: bool = True, embedded: bool = True) -> Optional[Path]:
    """The weights file of ``preset`` (a :class:`~ilsvrc_keras.presets.Preset`) if it is already on
    this machine (``$ILSVRC_KERAS_WEIGHTS_DIR``, keras' cache, then the package's own, unless
    ``embedded=False``), else ``None``.

    >>> from ilsvrc_keras.presets import get_preset
    >>> find_local_weights(get_preset("mobilenet_0.25_128")).name
    'mobilenet_2_5_128_tf.h5'
    """
    if preset is None or preset.weights is None:
        return None
    name = _file_name(preset, include_top)[0]
    dirs = [os.environ.get(WEIGHTS_DIR_ENV), keras_cache_dir(), EMBEDDED_DIR if embedded else None]
    for d in dirs:
        if d and (Path(d) / name).is_file():
            return Path(d) / name
    return None


def file_digest(path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def hash_matches(path, published: Optional[str]) -> Optional[bool]:
    """Whether ``path`` has the publisher's hash: keras' full md5 (32 hex digits) or sha256 (64), or
    torchvision's sha256 prefix (the hex digits in its file names); ``None`` where none is published."""
    if not published:
        return None
    published = published.lower()
    algorithm = "md5" if len(published) == 32 else "sha256"
    return file_digest(path, algorithm).startswith(published)


def resolve_imagenet_weights(preset, include_top: bool = True) -> Path:
    """Path to the weights file of ``preset``, downloading it through keras if allowed."""
    if preset.weights is None:
        raise WeightsNotFoundError(
            f"{preset.arch}: no ImageNet weights are published for this architecture; "
            f"train it (ilsvrc-keras train) or pass a weights file you trained."
        )
    local = find_local_weights(preset, include_top)
    if local is not None:
        return local
    name, url, file_hash = _file_name(preset, include_top)
    where = f"${WEIGHTS_DIR_ENV} or {keras_cache_dir()}"
    if is_offline():
        raise WeightsNotFoundError(
            f"{preset.name}: ImageNet weights file {name} not found and ${OFFLINE_ENV} is set; "
            f"download {url} and put it in {where}."
        )
    import keras

    # keras checks full hashes itself; a published prefix (torchvision's) is checked here after the download.
    full = file_hash if file_hash and len(file_hash) in (32, 64) else None
    try:
        # keras reports download progress on stdout, which belongs to the CLI's --json output.
        with contextlib.redirect_stdout(sys.stderr):
            # Into the folder this module looks in ($KERAS_HOME read now, not when keras was imported); keras
            # falls back to /tmp/.keras for a cache folder that does not exist yet, so it is made first.
            keras_cache_dir().mkdir(parents=True, exist_ok=True)
            path = Path(keras.utils.get_file(name, url, cache_dir=str(keras_cache_dir().parent),
                                             cache_subdir=keras_cache_dir().name, file_hash=full))
    except Exception as exc:  # network errors come in many types (URLError, OSError, HTTPError...)
        raise WeightsNotFoundError(
            f"{preset.name}: ImageNet weights file {name} is not on this machine and could not be "
            f"downloaded ({type(exc).__name__}: {exc}); download {url} and put it in {where}."
        ) from None
    if file_hash and not full and not hash_matches(path, file_hash):
        path.unlink()  # the file this call just downloaded, not one the user put there
        raise WeightsError(f"{preset.name}: the downloaded {name} does not have the published sha256 "
                           f"({file_hash}...); it was removed. Download {url} again.")
    return path


def load_weights(model, path, converter: Optional[str] = None, new_head: bool = False,
                 arch: Optional[str] = None) -> None:
    """Load a weights file into ``model`` (the zoo architecture ``arch``, default ``model.name``).

    The format comes from the file's first bytes, not its name. Keras 3 files (``.weights.h5``,
    ``.keras``) go through ``model.load_weights``. Legacy keras HDF5 files (what keras.applications
    publishes) are matched layer by layer **by name**, so our builders only need keras' layer names,
    not its exact layer order; ``converter`` names a hook for files whose layout differs from ours
    (keras' old ResNeXt). PyTorch ``.pth`` and ``.safetensors`` state dicts are read without running
    code and converted by name and shape (:mod:`ilsvrc_keras.weights.convert`).
    ``new_head``: the classifier layers (:data:`CLASSIFIER_LAYERS`) keep their fresh initialization where
    the file's do not fit (another number of classes); every other layer must fit.
    """
    from .torch_files import file_format

    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file {path} does not exist")
    if path.stat().st_size == 0:
        raise WeightsError(f"weights file {path} is empty")
    fmt = file_format(path)
    if fmt in ("pth", "safetensors"):
        _load_torch_state(model, path, fmt, arch or model.name, new_head)
        return
    if fmt == "unknown" and path.suffix not in (".h5", ".hdf5", ".keras"):  # those get the Keras readers' words
        raise WeightsError(f"weights file {path} cannot be read: it is damaged or not a weights file this package "
                           "reads (Keras .h5/.weights.h5/.keras, PyTorch .pth, .safetensors)")
    if path.name.endswith(".weights.h5") or path.suffix == ".keras":
        with _damaged(path):
            _check_container(path)
        try:
            _load_keras_file(model, path, new_head)
        except WeightsError:
            raise
        except (ValueError, KeyError) as exc:
            raise WeightsError(f"{path.name} does not fit model {model.name}: {_keras_misfit(exc)}") from None
        return
    with _damaged(path):
        saved = _read_legacy_file(path)
    _assign_by_name(model, saved, CONVERTERS.get(converter), source=path.name,
                    keep=CLASSIFIER_LAYERS if new_head else frozenset())


def _load_torch_state(model, path: Path, fmt: str, arch: str, new_head: bool) -> None:
    from .convert import convert
    from .torch_files import read_pth, read_safetensors

    state = read_pth(path) if fmt == "pth" else read_safetensors(path)
    keep = CLASSIFIER_LAYERS if new_head else frozenset()
    saved = convert(model, state, arch, path.name, keep)
    _assign_by_name(model, saved, None, source=path.name, keep=keep)


# The classifier layers of the zoo's builders (keras.applications' names; MobileNet's is a 1x1 conv).
CLASSIFIER_LAYERS = frozenset({"predictions", "conv_preds", "aux1_predictions", "aux2_predictions"})


@contextlib.contextmanager
def _damaged(path: Path):
    """A file h5py or Keras cannot read is one :class:`WeightsError` naming it (the fault as the
    library put it), never an h5py ``OSError`` deep in a traceback."""
    try:
        yield
    except (WeightsNotFoundError, WeightsError):
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise WeightsError(f"weights file {path} cannot be read: it is damaged or not a Keras weights file "
                           f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


def _check_container(path: Path) -> None:
    """A ``.keras`` file is a zip archive, a ``.weights.h5`` an HDF5 file: anything else is damaged."""
    import zipfile

    if path.suffix == ".keras":
        if not zipfile.is_zipfile(path):
            raise WeightsError(f"weights file {path} is damaged: not a zip archive (a .keras file is one)")
        return
    import h5py

    with h5py.File(path, "r"):
        pass


def _read_legacy_file(path: Path) -> dict:
    import h5py

    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        saved = _read_legacy_h5(group)
    if not saved:
        raise WeightsError(f"weights file {path} holds no layer weights (an HDF5 file, but not Keras weights)")
    return saved


def _keras_misfit(exc: Exception) -> str:
    """Keras' "A total of N objects could not be loaded. Example error message for object <Conv2D
    name=...>: ..." in a user's words; any other fault as its first line."""
    import re

    text = str(exc)
    found = re.search(r"A total of (\d+) objects could not be loaded.*?name=([^,>\s]+)", text, re.S)
    if found:
        return _unfilled_words(int(found.group(1)), found.group(2))
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _unfilled_words(count: int, first: str) -> str:
    return (f"{count} of the model's layers find no weights in the file that fit (the first: {first}); was it "
            "saved from another architecture or with other options?")


def _quiet_load(model, path, **kwargs) -> None:
    """``model.load_weights`` without Keras' warning per layer group it skips or cannot fill: a misfit is
    reported once, as one error (Keras raises after warning without ``skip_mismatch``; with it, the new-head
    path checks what loaded itself)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipping nested container", category=UserWarning)
        warnings.filterwarnings("ignore", message="A total of .* objects could not be loaded", category=UserWarning)
        model.load_weights(str(path), **kwargs)


def _load_keras_file(model, path, new_head):
    if not new_head:
        _quiet_load(model, path)
        return
    # Every layer but the new classifier must be filled from the file. Its variables are set to NaN first, so
    # that one the file left alone shows, whatever its values were (a file saved from a fresh network holds the
    # same BatchNorm values as a fresh network); on a misfit the model gets its own values back.
    body = [layer for layer in all_layers(model) if layer.weights and layer.name not in CLASSIFIER_LAYERS]
    before = {layer.name: [w.numpy() for w in layer.weights] for layer in body}

    def floats(layer):
        return [w for w in layer.weights if np.issubdtype(np.dtype(w.dtype), np.floating) and np.prod(w.shape)]

    def restore():
        for layer in body:
            for w, value in zip(layer.weights, before[layer.name]):
                w.assign(value)

    for layer in body:
        for w in floats(layer):
            w.assign(np.full(w.shape, np.nan, np.dtype(w.dtype)))
    try:
        _quiet_load(model, path, skip_mismatch=True)
    except BaseException:
        restore()
        raise
    unfilled = [layer.name for layer in body if any(np.isnan(w.numpy()).any() for w in floats(layer))]
    if unfilled:
        restore()
        raise WeightsError(f"{path.name} does not fit model {model.name}: "
                           + _unfilled_words(len(unfilled), unfilled[0]))


def _attr_list(group, name):
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in group.attrs.get(name, [])]


def _read_legacy_h5(group) -> dict[str, list[np.ndarray]]:
    out = {}
    for layer_name in _attr_list(group, "layer_names"):
        g = group[layer_name]
        arrays = [np.asarray(g[w]) for w in _attr_list(g, "weight_names")]
        if arrays:
            out[layer_name] = arrays
    return out


def _assign_by_name(model, saved, converter, source, keep=frozenset()):
    layers = {layer.name: layer for layer in all_layers(model) if layer.weights}
    missing = sorted(set(layers) - set(saved) - set(keep))
    if missing:
        raise WeightsError(
            f"{source} does not fit model {model.name}: no weights for layers {missing[:5]}"
            + (" ..." if len(missing) > 5 else "")
        )
    for name, layer in layers.items():
        if name in keep and name not in saved:
            continue
        arrays = saved[name]
        if converter is not None:
            arrays = converter(layer, arrays)
        expected = [tuple(w.shape) for w in layer.weights]
        got = [tuple(a.shape) for a in arrays]
        if expected != got and name in keep:
            continue  # a new head: another number of classes
        if expected != got:
            raise WeightsError(
                f"{source} does not fit model {model.name}: layer {name} expects shapes {expected}, "
                f"the file has {got} (a different input size or number of classes?)"
            )
        layer.set_weights(arrays)


def all_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers and layer is not model:
            yield from all_layers(layer)
        else:
            yield layer


def _keras_resnext(layer, arrays):
    """keras-applications 1.0.8 built ResNeXt's grouped 3x3 as a DepthwiseConv2D with
    depth_multiplier c followed by a sum over each group's inputs. Rewrite that kernel
    (3, 3, G*c, c) as the (3, 3, c, G*c) kernel of the equivalent ``Conv2D(groups=G)``:
    output channel g*c+m takes input g*c+j with weight DW[:, :, g*c+j, m]."""
    groups = getattr(layer, "groups", 1)
    if groups == 1 or len(arrays) != 1 or arrays[0].shape == tuple(layer.weights[0].shape):
        return arrays
    dw = arrays[0]
    kh, kw, channels, c = dw.shape
    g = channels // c
    kernel = dw.reshape(kh, kw, g, c, c).transpose(0, 1, 3, 2, 4).reshape(kh, kw, c, g * c)
    return [kernel]


CONVERTERS = {"keras_resnext": _keras_resnext}
