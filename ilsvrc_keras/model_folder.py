"""Model folders: the one format a trained or fine-tuned network is kept in, written and read here only.

- ``model.keras``: what a Keras user loads and calls (:func:`pixels_model`: RGB pixels of the center crop in,
  probabilities out; Keras' safe format, no code is loaded from it), with the network the library runs
  inside it by name;
- ``labels.json``: the class names, one per output;
- ``preprocessing.json``: size, crop fraction, normalization, interpolation, outputs, the card.

:func:`save_folder` writes one (``train``, ``fine_tune``, or you); :func:`read_folder` reads it into a
:class:`~ilsvrc_keras.preset.Preset`, which :func:`ilsvrc_keras.load` opens like any zoo preset.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Sequence

from .errors import IlsvrcKerasError
from .preset import OUTPUTS, Preset

MODEL_FILE = "model.keras"
LABELS_FILE = "labels.json"
PREPROCESSING_FILE = "preprocessing.json"


def is_model_folder(path) -> bool:
    return Path(path).is_dir() and (Path(path) / MODEL_FILE).is_file()


def pixels_model(network, normalization, size: int, outputs: str = "logits", name: Optional[str] = None,
                 dtype: str = "uint8"):
    """A Keras model: raw RGB pixels ``(size, size, 3)`` (0-255, of ``dtype``) -> ``normalization`` (a layer)
    -> ``network`` -> probabilities (a softmax where ``outputs`` is ``"logits"``; the first output of a
    network with side heads). What exports serve (``uint8``) and what a model folder's ``model.keras`` holds
    (``float32``, which takes uint8 arrays as they are and a resize's fractional pixels unrounded).

    >>> import keras
    >>> from ilsvrc_keras.transforms import Normalization
    >>> net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3)])
    >>> wrapped = pixels_model(net, Normalization.named("tf"), 8)
    >>> wrapped.input.dtype, wrapped.output.shape
    ('uint8', (None, 3))
    """
    import keras

    pixels = keras.Input((size, size, 3), dtype=dtype, name="pixels")
    x = normalization.layer()(pixels)
    y = network(x, training=False)
    if isinstance(y, (list, tuple)):
        y = y[0]
    if outputs == "logits":
        y = keras.layers.Softmax(name="probabilities", dtype="float32")(y)
    return keras.Model(pixels, y, name=name or f"{network.name}_pixels")


def save_folder(out, model, class_names: Sequence[str], transform, card: Optional[dict] = None,
                outputs: str = "probabilities") -> dict:
    """Write a model folder that :func:`get_preset` and :func:`ilsvrc_keras.load` read (and so
    ``classify``, ``evaluate``, ``export`` and the app). Each file is written whole or not at all.
    Returns the paths written.

    >>> import ilsvrc_keras
    >>> from ilsvrc_keras.model_folder import save_folder
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
