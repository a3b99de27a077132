"""Presets: one set of weights for an architecture, with everything needed to use them.

An architecture (:mod:`ilsvrc_keras.registry`) holds the paper's facts. A :class:`Preset` holds one
set of its weights: where they come from (URL, hash, file name), the class labels, the preprocessing
as numbers (size, crop fraction, :class:`~ilsvrc_keras.transforms.Normalization`, interpolation),
whether the network ends in probabilities or logits, and figures measured with it -- as timm's
``arch.tag`` configs, torchvision's ``Weights`` and keras-hub's preset folders do.

Zoo presets are named ``arch.tag`` (``"resnet50.keras_in1k"``); the bare architecture name means its
default preset. A model folder written by :func:`save_folder` (by ``train``, ``fine_tune``, or you) is a
preset too, and this module is the only one that writes and reads that format:

- ``model.keras``: the network (Keras' safe format: no code is loaded from it);
- ``labels.json``: the class names, one per output;
- ``preprocessing.json``: size, crop fraction, normalization, interpolation, outputs, the card.

:func:`get_preset` takes a zoo name, ``arch.tag`` or a folder; :func:`ilsvrc_keras.load` opens any of
them through it. Adding a second set of weights for an architecture is one :func:`register_preset`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Optional, Sequence

from .errors import IlsvrcKerasError, UnknownModelError
from .registry import get_spec, list_models

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.json"
PREPROCESSING_FILE = "preprocessing.json"
OUTPUTS = ("probabilities", "logits")


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """Where a preset's weights come from (keras.applications' files, torchvision's, timm's, or any URL),
    as torchvision's ``Weights(url, ...)``: the file's name on disk is its publisher's."""

    url: str
    file_name: str
    # keras' md5 or sha256 (checked by keras.utils.get_file), or torchvision's sha256 prefix (the hex digits in
    # its file names, checked after the download); None where the publisher states none (Hugging Face's hub).
    file_hash: Optional[str] = None
    notop_url: Optional[str] = None
    notop_file_name: Optional[str] = None
    notop_file_hash: Optional[str] = None
    # Name of a weight-conversion hook in ilsvrc_keras.weights (e.g. keras' old ResNeXt layout).
    converter: Optional[str] = None
    publisher: str = "keras"  # keras | torchvision | timm
    license: str = ""


@dataclasses.dataclass(frozen=True)
class Preset:
    """One set of weights of architecture ``arch`` and how to use them.

    >>> from ilsvrc_keras.presets import get_preset
    >>> p = get_preset("resnet50")
    >>> p.name, p.size, p.normalization.name
    ('resnet50.keras_in1k', 224, 'caffe')
    """

    arch: str
    tag: str
    size: int
    crop_fraction: float
    normalization: object  # a transforms.Normalization, or its name
    interpolation: str = "bilinear"
    weights: Optional[WeightsSource] = None
    labels: Optional[tuple] = None  # the class names; None: ImageNet-1k's 1000 wnids
    outputs: str = "probabilities"  # what the network ends in: "probabilities" or "logits"
    # A model folder whose model.keras takes pixels and gives probabilities: the name of the network inside it
    # (what the library runs, with this preset's normalization and outputs). None: model.keras is the network.
    network: Optional[str] = None
    figures: dict = dataclasses.field(default_factory=dict)  # measured with these weights (and how)
    folder: Optional[str] = None  # a model folder's path
    card_extra: dict = dataclasses.field(default_factory=dict)
    # The name its publisher gives the checkpoint where it differs from arch.tag: torchvision's and timm's
    # ResNet-50 is the zoo's resnet50b (stride on the 3x3), published as "resnet50.tv_in1k".
    published_name: Optional[str] = None

    def __post_init__(self):
        from .transforms import Normalization

        object.__setattr__(self, "normalization", Normalization.named(self.normalization))
        if self.outputs not in OUTPUTS:
            raise IlsvrcKerasError(f"outputs must be one of {OUTPUTS}, not {self.outputs!r}")

    @property
    def name(self) -> str:
        return self.folder if self.folder else (self.published_name or f"{self.arch}.{self.tag}")

    @property
    def published_top1(self) -> Optional[float]:
        """The top-1 accuracy its publisher reports for these weights (a fraction), if any."""
        return self.figures.get("published_top1")

    def transform(self, size: Optional[int] = None):
        """The evaluation transform (resize, center crop, interpolation, normalization) of these weights."""
        from .transforms import EvalTransform

        return EvalTransform(int(size or self.size), self.crop_fraction, self.normalization, self.interpolation)

    def class_labels(self) -> list:
        """``(label, readable name)`` per output."""
        from .labels import imagenet_classes

        if self.labels is None:
            return list(imagenet_classes())
        return [(str(c), str(c)) for c in self.labels]

    def card(self) -> dict:
        """The model card: the architecture's facts, then this preset's."""
        try:
            card = get_spec(self.arch).card()
        except UnknownModelError:
            card = {"name": self.arch}
        card.update({"preset": self.name, "arch": self.arch, "input_size": self.size,
                     "crop_fraction": self.crop_fraction, "interpolation": self.interpolation,
                     "preprocessing": self.normalization.name, "normalization": self.normalization.to_dict(),
                     "outputs": self.outputs, "figures": dict(self.figures),
                     "imagenet_weights": self.weights.file_name if self.weights else None})
        if self.weights and not self.folder:
            card["source"] = {"publisher": self.weights.publisher, "url": self.weights.url,
                              "file_name": self.weights.file_name, "hash": self.weights.file_hash,
                              "license": self.weights.license}
        card.update(self.card_extra)
        if self.folder:
            card.update({"name": Path(self.folder).name, "path": self.folder, "classes": len(self.labels or ())})
        return card


# --- the zoo's presets -------------------------------------------------------------------------------------

_PRESETS: dict[str, Preset] = {}
_DEFAULT: dict[str, str] = {}  # arch -> the preset its bare name means


def register_preset(preset: Preset, default: bool = False) -> Preset:
    """Add a zoo preset (``arch.tag``); the first of an architecture (or ``default=True``) is what the
    bare architecture name means."""
    get_spec(preset.arch)  # the architecture must exist
    if preset.name in _PRESETS:
        raise ValueError(f"preset {preset.name!r} registered twice")
    _PRESETS[preset.name] = preset
    if default or preset.arch not in _DEFAULT:
        _DEFAULT[preset.arch] = preset.name
    return preset


def list_presets(arch: Optional[str] = None) -> list[str]:
    """The zoo's presets (``arch.tag``), oldest architecture first. ``arch``: those that build it, and
    those its publisher names after it (``resnet50.tv_in1k`` builds ``resnet50b``).

    >>> from ilsvrc_keras.presets import list_presets
    >>> list_presets("resnet50")
    ['resnet50.keras_in1k', 'resnet50.tv2_in1k', 'resnet50.tv_in1k']
    """
    order = {name: i for i, name in enumerate(list_models())}
    names = [n for n, p in _PRESETS.items() if arch is None or p.arch == arch or n.startswith(f"{arch}.")]
    return sorted(names, key=lambda n: (order.get(_PRESETS[n].arch, 0), n))


def imagenet_preset(arch: str) -> Optional[Preset]:
    """The default preset of ``arch``, or None where no weights are published for it."""
    name = _DEFAULT.get(arch)
    return _PRESETS[name] if name else None


def zoo_preset(name: str) -> tuple[Optional[Preset], str]:
    """``(preset, architecture)`` of a zoo name (its default preset, None where none is published) or of a
    zoo preset ``arch.tag``; any other name raises :class:`UnknownModelError` with the closest names.

    >>> from ilsvrc_keras.presets import zoo_preset
    >>> zoo_preset("resnet50.tv2_in1k")[1]
    'resnet50b'
    """
    key = os.fspath(name)
    if key in list_models():
        return imagenet_preset(key), key
    if key in _PRESETS:
        return _PRESETS[key], _PRESETS[key].arch
    arch, _, tag = key.partition(".")
    if tag and arch in list_models():
        raise UnknownModelError(f"{arch} has no preset {tag!r}; its presets: "
                                f"{', '.join(list_presets(arch)) or 'none (no weights are published for it)'}")
    get_spec(key)  # raises UnknownModelError with the closest names
    raise AssertionError("unreachable")  # pragma: no cover


def published_under(arch: str) -> Optional[Preset]:
    """The published preset named after ``arch`` that builds another architecture, for an architecture
    with no weights of its own: torchvision's AlexNet (``alexnet.tv_in1k``, the 2014 "One weird trick"
    network) for ``alexnet``, its GoogLeNet with batch normalization for ``googlenet``. What a user who
    asks :func:`ilsvrc_keras.load` for "googlenet" wants to see with; ``create_model`` still builds the paper's."""
    names = [n for n in list_presets() if n.startswith(f"{arch}.") and _PRESETS[n].arch != arch]
    return _PRESETS[names[0]] if names else None


def preset_for_file(path) -> Optional[Preset]:
    """The zoo preset whose weights file (with or without its top) has ``path``'s name, if any."""
    name = Path(path).name
    for preset in _PRESETS.values():
        if preset.weights and name in (preset.weights.file_name, preset.weights.notop_file_name):
            return preset
    return None


def is_model_folder(path) -> bool:
    return Path(path).is_dir() and (Path(path) / MODEL_FILE).is_file()


def get_preset(name) -> Preset:
    """A zoo name (its default preset), ``arch.tag``, or a model folder -> its :class:`Preset`.
    A zoo architecture without published weights has a preset with ``weights=None`` (its paper's
    preprocessing): random weights, or weights you give."""
    key = os.fspath(name)
    if key in _PRESETS:
        return _PRESETS[key]
    if is_model_folder(key):
        return read_folder(key)
    arch, _, tag = key.partition(".")
    zoo_name = key in list_models() or (tag and arch in list_models())
    if not zoo_name and (os.path.sep in key or os.path.exists(key)):
        raise IlsvrcKerasError(f"{key}: not a model folder (no {MODEL_FILE} inside)")
    preset, arch = zoo_preset(key)  # an unknown tag or name raises with what there is
    return preset or published_under(arch) or _untrained(arch)


def _untrained(arch: str) -> Preset:
    spec = get_spec(arch)
    return Preset(arch, "untrained", spec.input_size, spec.crop_fraction, spec.preprocessing)


# --- model folders: the one writer and the one reader -------------------------------------------------------


def save_folder(out, model, class_names: Sequence[str], transform, card: Optional[dict] = None,
                outputs: str = "probabilities") -> dict:
    """Write a model folder that :func:`get_preset` and :func:`ilsvrc_keras.load` read (and so
    ``classify``, ``evaluate``, ``export`` and the app). Each file is written whole or not at all.
    Returns the paths written.

    >>> import ilsvrc_keras
    >>> from ilsvrc_keras.presets import save_folder
    >>> net = ilsvrc_keras.create_model("resnet18", num_classes=2, input_shape=(64, 64, 3))
    >>> preset = ilsvrc_keras.presets.get_preset("resnet18")
    >>> paths = save_folder("runs/two", net, ["cat", "dog"], preset.transform(64))  # doctest: +SKIP
    """
    from .files import is_run_folder, marked_as, writable_folder, write_atomic, written_by

    if outputs not in OUTPUTS:
        raise IlsvrcKerasError(f"outputs must be one of {OUTPUTS}, not {outputs!r}")
    out = Path(out)
    # A model folder is replaced only where this package wrote it (a model folder or a run folder): never a
    # user's own model.keras or labels.json.
    theirs = [n for n in (MODEL_FILE, LABELS_FILE, PREPROCESSING_FILE) if (out / n).exists()]
    if theirs and not (marked_as(out / PREPROCESSING_FILE, "model folder") or is_run_folder(out)):
        raise IlsvrcKerasError(f"{out} holds {', '.join(theirs)} that this package did not write; choose a new "
                               "folder (nothing was changed)")
    writable_folder(out)
    from .serving import pixels_model

    # model.keras is what a Keras user loads and calls: uint8 pixels of the center crop in, probabilities out.
    # The network inside it (by name) is what the library runs, with the normalization and outputs recorded.
    saved = pixels_model(model, transform.normalization, transform.size, outputs, name=f"{model.name}_pixels",
                         dtype="float32")
    tmp = out / (MODEL_FILE + ".tmp.keras")
    saved.save(tmp)
    os.replace(tmp, out / MODEL_FILE)
    write_atomic(out / LABELS_FILE, json.dumps([str(c) for c in class_names], indent=1))
    prep = {**written_by("model folder"), "size": transform.size, "crop_fraction": transform.crop_fraction,
            "preprocessing": transform.normalization.name, "normalization": transform.normalization.to_dict(),
            "interpolation": getattr(transform, "interpolation", "bilinear"), "outputs": "probabilities",
            "inputs": "RGB pixels (0-255) of the center crop", "network": {"name": model.name, "outputs": outputs},
            "card": card or {}}
    write_atomic(out / PREPROCESSING_FILE, json.dumps(prep, indent=2))
    return {"model": str(out / MODEL_FILE), "labels": str(out / LABELS_FILE),
            "preprocessing": str(out / PREPROCESSING_FILE)}


def read_folder(folder) -> Preset:
    """A model folder's :class:`Preset`, its JSON checked: a missing file or key, a normalization
    that is neither named nor given as numbers, or labels that are not a list of names, is one
    :class:`IlsvrcKerasError` naming the file."""
    from .transforms import Normalization

    folder = Path(folder)
    labels = _read_json(folder / LABELS_FILE)
    prep = _read_json(folder / PREPROCESSING_FILE)
    if not isinstance(labels, list) or not labels:
        raise IlsvrcKerasError(f"{folder / LABELS_FILE}: expected a non-empty list of class names")
    if labels and not isinstance(labels[0], str):  # an older folder's [label, name] pairs
        labels = [row[0] if isinstance(row, (list, tuple)) else row for row in labels]
    if not isinstance(prep, dict):
        raise IlsvrcKerasError(f"{folder / PREPROCESSING_FILE}: expected a JSON object")
    try:
        size, crop = int(prep["size"]), float(prep["crop_fraction"])
        normalization = (Normalization.from_dict(prep["normalization"]) if prep.get("normalization") is not None
                         else Normalization.named(prep["preprocessing"]))
    except KeyError as exc:
        raise IlsvrcKerasError(f"{folder / PREPROCESSING_FILE}: missing {exc}") from None
    except (TypeError, ValueError, IlsvrcKerasError) as exc:
        raise IlsvrcKerasError(f"{folder / PREPROCESSING_FILE}: {exc}") from None
    if not (16 <= size <= 4096 and 0.1 <= crop <= 1.0):
        raise IlsvrcKerasError(f"{folder / PREPROCESSING_FILE}: size {size} or crop_fraction {crop} out of range")
    network = prep.get("network")  # a pixels-taking model.keras: the network inside it and what it ends in
    if network is not None:
        if not (isinstance(network, dict) and isinstance(network.get("name"), str)):
            raise IlsvrcKerasError(f"{folder / PREPROCESSING_FILE}: network must be {{\"name\", \"outputs\"}}")
        prep = {**prep, "outputs": network.get("outputs", "logits")}
    if prep.get("outputs", "probabilities") not in OUTPUTS:
        raise IlsvrcKerasError(f"{folder / PREPROCESSING_FILE}: outputs must be one of {', '.join(OUTPUTS)}, "
                               f"not {prep.get('outputs')!r}")
    card = prep.get("card") if isinstance(prep.get("card"), dict) else {}
    arch = card.get("fine_tuned_from") or card.get("arch") or card.get("family") or "folder"
    return Preset(str(arch), "folder", size, crop, normalization, str(prep.get("interpolation", "bilinear")),
                  labels=tuple(str(c) for c in labels), outputs=str(prep.get("outputs", "probabilities")),
                  network=network["name"] if network else None,
                  folder=str(folder), card_extra=card)


def _read_json(path: Path):
    try:
        return json.loads(path.read_text("utf8"))
    except FileNotFoundError:
        raise IlsvrcKerasError(f"{path.parent}: not a complete model folder ({path.name} is missing)") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise IlsvrcKerasError(f"{path}: not valid JSON ({exc})") from None


def folder_state(folder) -> tuple:
    """What identifies a model folder's contents cheaply: each file's size and modification time
    (a rewritten folder has a new state, so :func:`ilsvrc_keras.load`'s cache does not serve it stale)."""
    folder = Path(folder)
    state = []
    for name in (MODEL_FILE, LABELS_FILE, PREPROCESSING_FILE):
        try:
            st = (folder / name).stat()
            state.append((name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            state.append((name, None, None))
    return tuple(state)


def load_folder_model(preset: Preset):
    """The Keras model of a folder preset, checked against its labels and size."""
    import zipfile

    import keras

    from .models import layers  # noqa: F401  (registers the zoo's custom layers before deserialising)

    path = Path(preset.folder) / MODEL_FILE
    # Keras calls any unreadable archive "File not found": say what it is (the file is there).
    if path.is_file() and not zipfile.is_zipfile(path):
        raise IlsvrcKerasError(f"{path} is damaged: it is not a complete .keras archive (truncated or overwritten; "
                               f"{path.stat().st_size} bytes); write the model folder again")
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=True)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "lambda" in str(exc).lower():
            raise IlsvrcKerasError(
                f"{path}: refused, the file carries Python code (a Lambda layer), which Keras' safe mode does "
                "not run. If you trust its author, load it yourself with keras.models.load_model(path, "
                "safe_mode=False) and pass the model to ilsvrc_keras.export or save_folder") from None
        raise IlsvrcKerasError(f"{path}: cannot read the saved model ({exc})") from None
    except OSError as exc:
        raise IlsvrcKerasError(f"{path}: cannot read the saved model ({exc})") from None
    if preset.network is not None:
        try:
            model = model.get_layer(preset.network)
        except ValueError:
            raise IlsvrcKerasError(f"{path}: holds no network named {preset.network!r}, which {PREPROCESSING_FILE} "
                                   "names; write the model folder again") from None
    outputs = model.outputs[0].shape[-1] if model.outputs else None
    if outputs is not None and preset.labels is not None and outputs != len(preset.labels):
        raise IlsvrcKerasError(f"{preset.folder}: {LABELS_FILE} names {len(preset.labels)} classes but the network "
                               f"has {outputs} outputs")
    shape = tuple(model.inputs[0].shape[1:3])
    if None not in shape and shape != (preset.size, preset.size):
        raise IlsvrcKerasError(f"{preset.folder}: {PREPROCESSING_FILE} says {preset.size} px but the network "
                               f"takes {shape[0]}x{shape[1]}")
    return model


# --- which network to use when none is named --------------------------------------------------------------

DOWNLOAD_DEFAULT = "resnet50"  # a strong network keras can download: 22.9% top-1 error (10-crop)
EMBEDDED_DEFAULT = "mobilenet_0.25_128"  # its weights are inside the package (weights/embedded)


def strength(preset: Preset) -> float:
    """How good a zoo preset is, for choosing among them: its publisher's top-1 accuracy, else its
    architecture's paper's (100 - reported top-1 error), else 0."""
    if preset.published_top1:
        return float(preset.published_top1)
    spec = get_spec(preset.arch)
    return (100.0 - spec.reported_top1_error) / 100 if spec.reported_top1_error is not None else 0.0


def user_name(preset: Preset) -> str:
    """The shortest name that means ``preset``: its architecture's where it is that architecture's default."""
    return preset.arch if imagenet_preset(preset.arch) is preset else preset.name


def default_model(offline: Optional[bool] = None) -> tuple[str, str]:
    """``(zoo name or preset, why)``: the strongest preset whose ImageNet weights are on this machine (highest
    published top-1); where none is, ResNet-50, which keras downloads, or, with downloads off, the
    MobileNet-0.25 inside the package. ``fine_tune``, ``classify`` and the CLI use it when no model is named,
    and say which it was.

    >>> from ilsvrc_keras.presets import default_model
    >>> default_model()  # doctest: +SKIP
    ('resnet50b', 'the strongest network whose ImageNet weights are on this machine')
    """
    from .weights import find_local_weights, is_offline

    local = [_PRESETS[n] for n in list_presets()
             if any(find_local_weights(_PRESETS[n], top, embedded=False) is not None for top in (True, False))]
    if local:
        return user_name(max(local, key=strength)), "the strongest network whose ImageNet weights are on this machine"
    if is_offline() if offline is None else offline:
        return EMBEDDED_DEFAULT, ("no ImageNet weights are on this machine and downloads are off: the network "
                                  "inside the package")
    return DOWNLOAD_DEFAULT, "no ImageNet weights are on this machine; keras downloads them"


# keras.applications' published files. A second set of weights for an architecture is one more entry.
_KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/"


def _keras_file(folder, stem, hashes=(None, None), converter=None, top_suffix="_weights_tf_dim_ordering_tf_kernels"):
    top, notop = f"{stem}{top_suffix}.h5", f"{stem}{top_suffix}_notop.h5"
    return WeightsSource(url=f"{_KERAS}{folder}/{top}", file_name=top, file_hash=hashes[0],
                         notop_url=f"{_KERAS}{folder}/{notop}", notop_file_name=notop, notop_file_hash=hashes[1],
                         converter=converter)


# keras.applications' published figures (its documentation's table: single 224 px center crop, validation).
_KERAS_FIGURES = {"vgg16": (71.3, 90.1), "vgg19": (71.3, 90.0), "resnet50": (74.9, 92.1), "resnet101": (76.4, 92.8),
                  "resnet152": (76.6, 93.1), "resnext50": (77.7, 93.8)}


def _keras_figures(name: str) -> dict:
    top1, top5 = _KERAS_FIGURES[name]
    where = ("keras-applications 1.0.8's README table" if name == "resnext50"
             else "keras.io/api/applications table (keras' own evaluation)")
    return {"published_top1": top1 / 100, "published_top5": top5 / 100, "published_source": where}


def _register_keras() -> None:
    keras_resnets = {
        "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
        "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
        "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    }
    for name in ("vgg16", "vgg19"):
        register_preset(Preset(name, "keras_in1k", 224, 0.875, "caffe", weights=_keras_file(name, name),
                               figures=_keras_figures(name)))
    for name, hashes in keras_resnets.items():
        register_preset(Preset(name, "keras_in1k", 224, 0.875, "caffe", weights=_keras_file("resnet", name, hashes),
                               figures=_keras_figures(name)))
    # keras stores ResNeXt weights trained with torch-style normalization (keras-applications 1.0.8),
    # its grouped convolution in an older layout.
    register_preset(Preset("resnext50", "keras_in1k", 224, 0.875, "torch", weights=_keras_file(
        "resnet", "resnext50", ("67a5b30d522ed92f75a1f16eef299d1a", "62527c363bdd9ec598bed41947b379fc"),
        converter="keras_resnext"), figures=_keras_figures("resnext50")))
    mobilenet = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
    register_preset(Preset(
        "mobilenet_0.25_128", "keras_in1k", 128, 128 / 146, "tf",
        weights=WeightsSource(url=mobilenet + "mobilenet_2_5_128_tf.h5", file_name="mobilenet_2_5_128_tf.h5",
                              # keras states no hash for its MobileNet files; this is the file's sha256.
                              file_hash="fe295db7f78635f1403127e3ba8cdc6237f83262bdb745063a67c1d81190c7f8",
                              notop_url=mobilenet + "mobilenet_2_5_128_tf_no_top.h5",
                              notop_file_name="mobilenet_2_5_128_tf_no_top.h5"),
        figures={"top1": 0.40, "top5": 0.61, "published_top1": 0.415, "published_source": "keras' MobileNet README "
                 "table (alpha 0.25, 128 px)",
                 "how": "ilsvrc-keras evaluate on the 100 ILSVRC2012 validation images of the development assets"}))


_register_keras()
from . import preset_table  # noqa: E402,F401  (torchvision's and timm's checkpoints register themselves)
