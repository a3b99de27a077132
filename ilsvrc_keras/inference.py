"""Pretrained inference: :class:`Classifier`, :func:`load` and :func:`classify`.

A classifier bundles a network with its evaluation transform and class names. Single images
go through one compiled ``tf.function`` (``model.predict`` costs ~50 ms of set-up per call;
this path costs the network's own time); many images go through tf.data in batches.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from .errors import IlsvrcKerasError, UnknownModelError
from .images import ImageInput, load_image
from .labels import decode, imagenet_classes
from .registry import get_spec
from .transforms import EvalTransform

MODELS_DIR_ENV = "ILSVRC_KERAS_MODELS_DIR"
MODEL_FILE = "model.keras"
LABELS_FILE = "labels.json"
PREPROCESSING_FILE = "preprocessing.json"


class Classifier:
    """A network ready to classify images: model, transform and class labels together.

    Attributes: ``model`` (keras.Model), ``transform`` (:class:`EvalTransform`),
    ``class_labels`` (``(label, readable name)`` per output), ``name`` and ``card`` (metadata).
    """

    def __init__(self, model, transform: EvalTransform, class_labels: Sequence[tuple[str, str]],
                 name: str, card: Optional[dict] = None):
        self.model = model
        self.transform = transform
        self.class_labels = [tuple(c) for c in class_labels]
        self.name = name
        self.card = card or {"name": name}
        size = transform.size
        # Compiled once per classifier; the signatures keep tf.function from retracing per shape.
        self._forward = tf.function(
            lambda x: self._first_output(self.model(x, training=False)),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)],
        )
        self._prepare = tf.function(transform, input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])

    @staticmethod
    def _first_output(y):
        return y[0] if isinstance(y, (list, tuple)) else y

    @property
    def num_classes(self) -> int:
        return len(self.class_labels)

    def index(self, label: str) -> int:
        """The output index of a class, given its label (e.g. ``"n02123045"``) or readable name."""
        for i, (lab, name) in enumerate(self.class_labels):
            if label in (lab, name):
                return i
        raise IlsvrcKerasError(f"{self.name} has no class {label!r}")

    def preprocess(self, images: Iterable[ImageInput]) -> tuple[np.ndarray, list[tuple[int, int]]]:
        """Images -> the network's input batch, and each image's original ``(height, width)``."""
        arrays = [load_image(im) for im in images]
        batch = np.stack([self._prepare(a).numpy() for a in arrays]) if arrays else np.zeros(
            (0, self.transform.size, self.transform.size, 3), np.float32)
        return batch, [a.shape[:2] for a in arrays]

    def predict_batch(self, batch) -> np.ndarray:
        """Class probabilities for an already preprocessed batch ``(N, size, size, 3)``."""
        return self._forward(tf.convert_to_tensor(batch, tf.float32)).numpy()

    def predict(self, images: Iterable[ImageInput]) -> np.ndarray:
        batch, _ = self.preprocess(images)
        return self.predict_batch(batch) if len(batch) else np.zeros((0, self.num_classes), np.float32)

    def classify(self, images: Union[ImageInput, Sequence[ImageInput]], top: int = 5):
        single = not isinstance(images, (list, tuple))
        results = decode(self.predict([images] if single else images), self.class_labels, top)
        return results[0] if single else results

    def __repr__(self):
        return f"Classifier({self.name!r}, {self.num_classes} classes, {self.transform.size} px)"


def _is_model_folder(path) -> bool:
    return Path(path).is_dir() and (Path(path) / MODEL_FILE).is_file()


def save_model_folder(out, model, class_names: Sequence[str], transform: EvalTransform,
                      card: Optional[dict] = None) -> dict:
    """Write a model folder that :func:`load` (and so ``classify``, ``evaluate``, the app) reads:
    ``model.keras``, ``labels.json`` (the class names) and ``preprocessing.json`` (size, crop
    fraction, normalization and the model card). Each file is written whole or not at all.
    Returns the paths written."""
    from .files import write_atomic

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (MODEL_FILE + ".tmp.keras")
    model.save(tmp)
    os.replace(tmp, out / MODEL_FILE)
    write_atomic(out / LABELS_FILE, json.dumps([str(c) for c in class_names], indent=1))
    prep = {"size": transform.size, "crop_fraction": transform.crop_fraction,
            "preprocessing": transform.preprocessing, "card": card or {}}
    write_atomic(out / PREPROCESSING_FILE, json.dumps(prep, indent=2))
    return {"model": str(out / MODEL_FILE), "labels": str(out / LABELS_FILE),
            "preprocessing": str(out / PREPROCESSING_FILE)}


def _load_folder(folder: Path) -> Classifier:
    import keras

    # Registers the zoo's custom layers (LRN) with keras before deserialising.
    from .models import layers  # noqa: F401

    try:
        model = keras.models.load_model(folder / MODEL_FILE, compile=False)
        labels = json.loads((folder / LABELS_FILE).read_text())
        prep = json.loads((folder / PREPROCESSING_FILE).read_text())
    except FileNotFoundError as exc:
        raise IlsvrcKerasError(f"{folder}: not a complete model folder ({exc.filename} is missing)") from None
    except (ValueError, OSError) as exc:
        raise IlsvrcKerasError(f"{folder}: cannot read the saved model ({exc})") from None
    transform = EvalTransform(int(prep["size"]), float(prep["crop_fraction"]), prep["preprocessing"])
    class_labels = [(str(c), str(c)) for c in labels] if labels and isinstance(labels[0], str) else labels
    card = {"name": folder.name, "path": str(folder), **prep.get("card", {})}
    return Classifier(model, transform, class_labels, folder.name, card)


@functools.lru_cache(maxsize=8)
def _load_cached(model: str, weights: Optional[str]) -> Classifier:
    if _is_model_folder(model):
        return _load_folder(Path(model))
    from .zoo import create_model

    try:
        spec = get_spec(model)
    except UnknownModelError:
        if os.path.sep in model or os.path.exists(model):
            raise IlsvrcKerasError(f"{model}: not a model folder (no {MODEL_FILE} inside)") from None
        raise
    net = create_model(model, weights=weights or "imagenet")
    return Classifier(net, EvalTransform.for_spec(spec), imagenet_classes(), spec.name, spec.card())


def load(model: Union[str, os.PathLike, Classifier] = "mobilenet_0.25_128",
         weights: Optional[Union[str, os.PathLike]] = None) -> Classifier:
    """A :class:`Classifier` for a registry name (ImageNet weights by default) or a model folder
    written by :func:`ilsvrc_keras.fine_tune`. Loaded once per process and cached.

    >>> import ilsvrc_keras
    >>> clf = ilsvrc_keras.load("mobilenet_0.25_128",
    ...                         weights="../shared/assets/weights/mobilenet_2_5_128_tf.h5")
    >>> clf.classify("photo.jpg", top=1)  # doctest: +SKIP
    [Prediction(label='n02123045', name='tabby', probability=0.61)]
    """
    if isinstance(model, Classifier):
        return model
    weights = str(Path(weights).resolve()) if weights not in (None, "imagenet") else None
    return _load_cached(str(model), weights)


def classify(images, model: Union[str, os.PathLike, Classifier] = "mobilenet_0.25_128",
             weights=None, top: int = 5):
    """Top-``top`` classes of one image or a list of images.

    ``images``: a path, bytes, a file object, a PIL image or an ``(H, W, 3)`` array, or a list of
    them. Returns a list of :class:`Prediction` ``(label, name, probability)`` for one image, a
    list of such lists for a list. Bad images raise :class:`ilsvrc_keras.ImageError`.

    >>> import ilsvrc_keras
    >>> ilsvrc_keras.classify("cat.jpg", model="mobilenet_0.25_128",
    ...                       weights="mobilenet_2_5_128_tf.h5", top=1)  # doctest: +SKIP
    [Prediction(label='n02123045', name='tabby', probability=0.61)]
    """
    return load(model, weights).classify(images, top=top)


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    """A model :func:`load` can open on this machine, as listed by :func:`available_models`.

    ``key`` is what :func:`load` takes (a registry name or a model folder's path); ``source`` is
    ``"local"`` (ImageNet weights on this machine), ``"download"`` (keras would fetch them) or
    ``"folder"`` (a model folder written by :func:`ilsvrc_keras.fine_tune` or ``train``).
    """

    key: str
    title: str
    source: str
    card: dict
    weights: Optional[str] = None


def _model_folders(dirs) -> list[Path]:
    found = []
    for d in dirs:
        d = Path(d).expanduser()
        if _is_model_folder(d):
            found.append(d)
        elif d.is_dir():
            found += sorted(p for p in d.iterdir() if _is_model_folder(p))
    return found


def _folder_choice(folder: Path) -> Optional[ModelChoice]:
    try:
        labels = json.loads((folder / LABELS_FILE).read_text())
        card = json.loads((folder / PREPROCESSING_FILE).read_text()).get("card", {})
    except (OSError, ValueError):
        return None  # a half-written or foreign folder is not offered
    card = {**card, "name": folder.name, "path": str(folder), "classes": len(labels)}
    base = card.get("fine_tuned_from") or card.get("family") or "trained"
    return ModelChoice(str(folder), f"{folder.name} ({base}, {len(labels)} classes)", "folder", card)


def available_models(models_dirs: Sequence[Union[str, os.PathLike]] = (),
                     offline: Optional[bool] = None) -> list[ModelChoice]:
    """The models :func:`load` can open here, best first.

    Registry networks whose ImageNet weights are on this machine (``$ILSVRC_KERAS_WEIGHTS_DIR`` or
    keras' cache) come first, most accurate (lowest reported top-1 error) first; then model
    folders found in ``models_dirs`` and ``$ILSVRC_KERAS_MODELS_DIR`` (``os.pathsep``-separated;
    a folder of model folders or one model folder); then, unless offline (``offline=None`` reads
    ``$ILSVRC_KERAS_OFFLINE``), networks whose weights keras would download. The first entry is
    therefore the best choice that works without a download.

    >>> import ilsvrc_keras
    >>> [c.key for c in ilsvrc_keras.available_models(offline=True)]  # doctest: +SKIP
    ['mobilenet_0.25_128']
    """
    from .registry import list_models
    from .weights import find_local_weights, is_offline

    offline = is_offline() if offline is None else offline
    local, remote = [], []
    for name in list_models():
        spec = get_spec(name)
        if not spec.has_imagenet_weights:
            continue
        card = spec.card()
        err = spec.reported_top1_error
        title = f"{name} ({spec.year}" + (f", {err:g}% top-1 error)" if err is not None else ")")
        path = find_local_weights(spec)
        if path is not None:
            local.append(ModelChoice(name, title, "local", card, str(path)))
        elif not offline:
            remote.append(ModelChoice(name, title + " - download", "download", card))
    by_error = lambda c: (c.card.get("reported_top1_error") is None, c.card.get("reported_top1_error") or 0)  # noqa: E731
    env_dirs = [d for d in os.environ.get(MODELS_DIR_ENV, "").split(os.pathsep) if d]
    folders = [c for c in map(_folder_choice, _model_folders([*models_dirs, *env_dirs])) if c is not None]
    return sorted(local, key=by_error) + folders + sorted(remote, key=by_error)
