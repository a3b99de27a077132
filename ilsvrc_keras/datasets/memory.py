"""Images in memory: ``(x, y)`` arrays and a user's ``tf.data.Dataset`` of ``(image, label)``."""

from __future__ import annotations

import numpy as np

from ..checks import check
from ..errors import DataError
from .folders import stratified_split
from .splits import SHUFFLE_BUFFER, ImageDataset, Split, StreamSplit


def _as_uint8(images) -> object:
    """NHWC (or a list of HWC) pixels -> uint8: floats are read as 0-255 (what keras'
    ``image_dataset_from_directory`` yields), or as 0-1 when no value exceeds 1."""
    if isinstance(images, np.ndarray):
        if images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise DataError(f"image arrays must be (N, H, W, 3) or (N, H, W, 1), not {images.shape}")
        if images.dtype != np.uint8:
            scale = 255.0 if images.size and float(np.max(images)) <= 1.0 else 1.0
            images = np.clip(np.round(images.astype(np.float32) * scale), 0, 255).astype(np.uint8)
        return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
    return [_as_uint8(np.asarray(im)[None])[0] for im in images]


def array_split(images, labels) -> Split:
    """``(N, H, W, C)`` images (or a list of ``(H, W, C)``) and ``N`` integer labels, kept decoded."""
    labels = np.asarray(labels)
    if labels.ndim == 2:  # one-hot, as from label_mode="categorical"
        labels = labels.argmax(-1)
    labels = labels.reshape(-1)
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        numeric = np.issubdtype(labels.dtype, np.number)
        bad = labels[~(np.isfinite(labels) & (labels == np.round(labels)))][:3] if numeric else labels[:3]
        if len(bad):  # whole floats (1.0) are fine; 0.5 would be cut to 0 and train the wrong class
            raise DataError(f"labels must be whole class indices (0, 1, ...), not {list(bad)}: a fractional label "
                            "would be cut to an integer and train the wrong class")
    if labels.size and labels.min() < 0:
        raise DataError(f"labels must be class indices from 0, not {int(labels.min())} (no class is -1)")
    return Split(_as_uint8(images), [int(v) for v in labels], kind="decoded")


def _element_image_label(ds):
    """A user's dataset -> unbatched ``(uint8 image, int label)`` elements."""
    import tensorflow as tf

    spec = ds.element_spec
    if not (isinstance(spec, tuple) and len(spec) >= 2):
        raise DataError("a tf.data.Dataset for training must yield (image, label) pairs")
    if spec[0].shape.rank == 4:  # batched, as keras.utils.image_dataset_from_directory gives
        ds = ds.unbatch()
    elif spec[0].shape.rank != 3:
        raise DataError(f"dataset images must be (H, W, C) or batches of them, not {spec[0].shape}")

    def convert(image, label, *_):
        if image.dtype != tf.uint8:
            image = tf.saturate_cast(tf.round(tf.cast(image, tf.float32)), tf.uint8)
        if image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        label = tf.cast(tf.argmax(label, -1) if label.shape.rank == 1 else tf.reshape(label, []), tf.int32)
        return image, label

    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def stream_split(ds) -> StreamSplit:
    """A user's ``tf.data.Dataset`` of ``(image, label)``, batched or not, streamed every epoch
    (never kept in memory). One pass counts its examples and labels, unless it knows its files
    (``image_dataset_from_directory``'s ``file_paths``)."""
    elements = _element_image_label(ds)
    files = getattr(ds, "file_paths", None)
    if files is not None:
        count, labels = len(files), None
    else:
        labels = [int(v) for v in elements.map(lambda x, y: y).as_numpy_iterator()]
        count = len(labels)

    def make(training: bool, seed: int, shard: tuple):
        d = elements
        if shard[0] > 1:
            d = d.shard(*shard)
        if training:
            d = d.shuffle(min(max(count, 1), SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=False)
        return d

    return StreamSplit(make, count, kind="decoded", labels=labels)


def _materialize(ds) -> Split:
    images, labels = [], []
    for image, label in _element_image_label(ds).as_numpy_iterator():
        images.append(image)
        labels.append(int(label))
    return Split(images, labels, kind="decoded")


def _holdout(split: Split, val_fraction: float, seed: int) -> tuple:
    check("val_fraction", val_fraction)
    by_class = {}
    for i, label in enumerate(split.labels):
        by_class.setdefault(label, []).append(i)
    train, val = stratified_split(by_class, val_fraction, seed)

    def ids(groups):
        return sorted(i for items in groups.values() for i in items)

    return split.subset(ids(train)), split.subset(ids(val))


def in_memory_dataset(data, val_data, class_names, val_fraction, seed) -> ImageDataset:
    def one(d, stream):
        if isinstance(d, tuple) and len(d) == 2:
            return array_split(*d)
        if hasattr(d, "element_spec"):
            return stream_split(d) if stream else _materialize(d)
        raise DataError("data must be a folder, a TFDS name, a tf.data.Dataset of (image, label) or (x, y) arrays")

    if class_names is None:
        class_names = getattr(data, "class_names", None)
    if val_data is not None:
        train, val = one(data, True), one(val_data, True)
    else:  # a held-out split needs the examples in a fixed order: a user's dataset may reshuffle
        train, val = _holdout(one(data, False), val_fraction, seed)
    seen = [y for s in (train, val) if s.labels is not None for y in s.labels]
    if class_names is None:
        class_names = [str(i) for i in range(max(seen) + 1)] if seen else []
    if seen and max(seen) >= len(class_names):
        raise DataError(f"labels go up to {max(seen)} but only {len(class_names)} class names")
    if train.labels is not None and len(set(train.labels)) < 2:
        raise DataError("a classifier needs at least two classes in the training data")
    return ImageDataset(train, val, [str(c) for c in class_names], "<memory>")
