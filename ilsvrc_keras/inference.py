"""Pretrained inference: :class:`Classifier`, :func:`load` and :func:`classify`.

A classifier bundles a network with its evaluation transform and class names. Single images
go through one compiled ``tf.function`` (``model.predict`` costs ~50 ms of set-up per call;
this path costs the network's own time); many images go through tf.data in batches.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from .checks import check
from .discovery import choose_default_model
from .errors import IlsvrcKerasError
from .images import ImageInput, load_image
from .labels import decode
from .model_folder import folder_state, is_model_folder, load_folder_model
from .presets import get_preset
from .transforms import EvalTransform

TTA_VIEWS = 6  # test-time augmentation: center, four corners, mirrored center


class Classifier:
    """A network ready to classify images: model, transform and class labels together.

    Attributes: ``model`` (keras.Model), ``transform`` (:class:`EvalTransform`),
    ``class_labels`` (``(label, readable name)`` per output), ``name``, ``card`` (metadata) and
    ``outputs`` (``"probabilities"``, or ``"logits"`` for a network without its softmax: the
    classifier applies it, so :meth:`predict` always returns probabilities).

    Test-time augmentation (``tta=True`` in :meth:`predict` and :meth:`classify`): the probabilities of
    :data:`TTA_VIEWS` views averaged, all of them in one batched pass: the center crop, the four corner
    crops and the mirrored center crop, cut from the center square of the image resized as for the
    center crop (:attr:`tta_transform` makes that square).
    """

    def __init__(self, model, transform: EvalTransform, class_labels: Sequence[tuple[str, str]],
                 name: str, card: Optional[dict] = None, outputs: str = "probabilities"):
        self.model = model
        self.transform = transform
        self.class_labels = [tuple(c) for c in class_labels]
        self.name = name
        self.card = card or {"name": name}
        self.outputs = outputs
        size = transform.size
        # Compiled once per classifier; the signatures keep tf.function from retracing per shape.
        self._forward = tf.function(
            lambda x: self.probabilities(self.model(x, training=False)),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)],
        )
        self._prepare = tf.function(transform, input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
        # The square the views are cut from: the center crop's resize, cropped to its shorter side.
        self.tta_transform = EvalTransform(round(size / transform.crop_fraction), 1.0, transform.normalization,
                                           transform.interpolation)
        square = self.tta_transform.size
        self._views_forward = tf.function(self._average_views,
                                          input_signature=[tf.TensorSpec([None, square, square, 3], tf.float32)])
        self._prepare_square = tf.function(self.tta_transform,
                                           input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])

    def _average_views(self, squares):
        c, s = self.transform.size, self.tta_transform.size
        o = (s - c) // 2
        center = squares[:, o:o + c, o:o + c]
        views = [center, squares[:, :c, :c], squares[:, :c, s - c:], squares[:, s - c:, :c], squares[:, s - c:, s - c:],
                 tf.reverse(center, axis=[2])]
        probs = self.probabilities(self.model(tf.concat(views, 0), training=False))
        return tf.reduce_mean(tf.reshape(probs, [len(views), -1, probs.shape[-1]]), axis=0)

    def probabilities(self, y):
        """The network's first output as probabilities (a softmax over logits)."""
        y = tf.cast(y[0] if isinstance(y, (list, tuple)) else y, tf.float32)
        return tf.nn.softmax(y, axis=-1) if self.outputs == "logits" else y

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

    def predict_batch(self, batch, tta: bool = False) -> np.ndarray:
        """Class probabilities for an already preprocessed batch: ``(N, size, size, 3)`` center crops, or
        with ``tta`` the squares of :attr:`tta_transform` (the views are cut from them)."""
        forward = self._views_forward if tta else self._forward
        return forward(tf.convert_to_tensor(batch, tf.float32)).numpy()

    def predict(self, images: Iterable[ImageInput], tta: bool = False) -> np.ndarray:
        if tta:
            arrays = [load_image(im) for im in images]
            if not arrays:
                return np.zeros((0, self.num_classes), np.float32)
            return self.predict_batch(np.stack([self._prepare_square(a).numpy() for a in arrays]), tta=True)
        batch, _ = self.preprocess(images)
        return self.predict_batch(batch) if len(batch) else np.zeros((0, self.num_classes), np.float32)

    def classify(self, images: Union[ImageInput, Sequence[ImageInput]], top: int = 5, tta: bool = False):
        check("top", top)
        single = not isinstance(images, (list, tuple))
        results = decode(self.predict([images] if single else images, tta=tta), self.class_labels, top)
        return results[0] if single else results

    def __repr__(self):
        return f"Classifier({self.name!r}, {self.num_classes} classes, {self.transform.size} px)"


@functools.lru_cache(maxsize=8)
def _load_cached(key: str, weights: Optional[str], state) -> Classifier:
    # ``state``: a model folder's files (size, mtime), so that a rewritten folder is loaded anew.
    from .zoo import create_model

    preset = get_preset(key)
    if preset.folder:
        model = load_folder_model(preset)
        return Classifier(model, preset.transform(), preset.class_labels(), Path(preset.folder).name, preset.card(),
                          preset.outputs)
    # create_model takes the preset's name: its architecture, and its own weights file.
    net = create_model(preset.name if preset.weights else preset.arch, weights=weights or "imagenet")
    return Classifier(net, preset.transform(), preset.class_labels(), key, preset.card())


def load(model: Union[str, os.PathLike, Classifier, None] = None,
         weights: Optional[Union[str, os.PathLike]] = None) -> Classifier:
    """A :class:`Classifier` for a zoo name (its ImageNet preset), a preset ``arch.tag``, or a model
    folder written by ``train``, :func:`ilsvrc_keras.fine_tune` or
    :func:`ilsvrc_keras.model_folder.save_folder` -- all through :func:`ilsvrc_keras.presets.get_preset`.
    ``weights``: another weights file for a zoo network. ``model=None``: the default network
    (:func:`ilsvrc_keras.discovery.default_model`), named in the log. Loaded once per process and
    cached; a model folder rewritten since is loaded again.

    >>> import ilsvrc_keras
    >>> clf = ilsvrc_keras.load("mobilenet_0.25_128")  # its weights are inside the package
    >>> clf
    Classifier('mobilenet_0.25_128', 1000 classes, 128 px)
    >>> clf.classify("photo.jpg", top=1)  # doctest: +SKIP
    [Prediction(label='n02123045', name='tabby', probability=0.61)]
    """
    if isinstance(model, Classifier):
        return model
    if model is None:
        model = choose_default_model(weights)
    key = os.fspath(model)
    if is_model_folder(key):
        if weights not in (None, "imagenet"):
            raise IlsvrcKerasError(f"{key} is a model folder with its own weights; --weights/weights= applies to zoo "
                                   "networks only")
        key = str(Path(key).resolve())
        return _load_cached(key, None, folder_state(key))
    weights = str(Path(weights).resolve()) if weights not in (None, "imagenet") else None
    return _load_cached(key, weights, None)


def classify(images, model: Union[str, os.PathLike, Classifier, None] = None, weights=None, top: int = 5,
             tta: bool = False):
    """Top-``top`` classes of one image or a list of images (``tta``: averaged over six views, see
    :class:`Classifier`).

    ``images``: a path, bytes, a file object, a PIL image or an ``(H, W, 3)`` array, or a list of
    them. ``model``: a zoo name, ``arch.tag``, a model folder or a :class:`Classifier` (default: the
    strongest network whose weights are here, see :func:`load`). Returns a list of
    :class:`Prediction` ``(label, name, probability)`` for one image, a list of such lists for a
    list. Bad images raise :class:`ilsvrc_keras.ImageError`.

    >>> import ilsvrc_keras
    >>> ilsvrc_keras.classify("cat.jpg", model="mobilenet_0.25_128",
    ...                       weights="mobilenet_2_5_128_tf.h5", top=1)  # doctest: +SKIP
    [Prediction(label='n02123045', name='tabby', probability=0.61)]
    """
    return load(model, weights).classify(images, top=top, tta=tta)
