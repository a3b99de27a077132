"""The one front door: :func:`open_dataset` turns anything a user hands in (a class-per-folder tree, the ILSVRC
layout, ``prepare``'s shards, a TFDS name, arrays, a ``tf.data.Dataset``) into an :class:`ImageDataset` for
training, fine-tuning, evaluation and ``prepare``, through one module per kind of source: :mod:`.folders`,
:mod:`.records`, :mod:`.tfds`, :mod:`.memory` (the splits they serve: :mod:`.splits`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from ..errors import DataError
from .folders import folder_dataset
from .memory import array_split, in_memory_dataset, stream_split
from .records import is_record_folder, record_dataset
from .splits import ImageDataset, Split, StreamSplit, all_of, remap_labels
from .tfds import tfds_dataset


def _mapping(names, class_names, what) -> list:
    index = {c: i for i, c in enumerate(class_names)}
    unseen = [c for c in names if c not in index]
    if unseen:
        raise DataError(f"{what} has classes the training data lacks: {unseen[:5]}")
    return [index[c] for c in names]


def _validation(val_data, class_names, labels, data_dir=None):
    """``val_data`` of any kind, all of it for validation, its labels in the training data's class order.
    Returns ``(split, unreadable, unlabeled)``."""
    if isinstance(val_data, (str, os.PathLike)):
        path = Path(val_data)
        if is_record_folder(path):
            vds = record_dataset(path)
        elif path.exists() or os.sep in str(val_data):
            vds = folder_dataset(path, val_fraction=1.0, labels=labels)
        else:  # a TFDS name: its validation split, not its training one
            tds = tfds_dataset(str(val_data), data_dir=data_dir)
            return remap_labels(tds.val, _mapping(tds.class_names, class_names, str(val_data))), [], []
        split = all_of(vds)
        return remap_labels(split, _mapping(vds.class_names, class_names, str(val_data))), vds.unreadable, vds.unlabeled
    if isinstance(val_data, tuple) and len(val_data) == 2:
        split = array_split(*val_data)
    elif hasattr(val_data, "element_spec"):
        split = stream_split(val_data)
        names = getattr(val_data, "class_names", None)
        if names is not None:
            return remap_labels(split, _mapping(list(names), class_names, "val_data")), [], []
    else:
        raise DataError("val_data must be a folder, a folder written by `ilsvrc-keras prepare`, a TFDS name, "
                        "(x, y) arrays or a tf.data.Dataset of (image, label)")
    seen = [] if split.labels is None else split.labels
    if seen and (max(seen) >= len(class_names) or min(seen) < 0):
        raise DataError(f"val_data's labels go from {min(seen)} to {max(seen)} but the training data has "
                        f"{len(class_names)} classes (0 to {len(class_names) - 1})")
    return split, [], []


def open_dataset(data, val_data=None, *, class_names: Optional[Sequence[str]] = None, val_fraction: float = 0.2,
                 seed: int = 0, labels=None, data_dir=None, manual_dir=None) -> ImageDataset:
    """Any labeled image source -> an :class:`ImageDataset` (train and validation splits, class names).

    ``data`` may be
    - a class-per-folder tree (``val_fraction`` held out per class, seeded), ``train/`` + ``val/``
      folders, or the raw ILSVRC layout (``val/`` flat with its ``labels`` file); a flat folder of
      validation images with ``labels`` is all validation (what :func:`ilsvrc_keras.evaluate` reads);
    - a folder written by ``ilsvrc-keras prepare`` (TFRecord shards);
    - a TFDS name (``"tf_flowers"``; ``"imagenet2012"`` with ``manual_dir`` holding the ILSVRC tars),
      streamed from its records, never decoded into memory;
    - ``(x, y)`` arrays, NHWC uint8 or float pixels, kept as they are (no re-encoding);
    - any ``tf.data.Dataset`` of ``(image, label)``, batched or not (``image_dataset_from_directory``):
      streamed when ``val_data`` is given, else read once to hold out a stratified split; its
      ``class_names`` are used when it has them.

    ``val_data`` (the same kinds) replaces the held-out split: all of ``data`` then trains and all of
    ``val_data`` validates, its classes matched to the training data's by name (or taken as the same
    indices for arrays and unnamed datasets). ``val_fraction=1`` makes all of ``data`` validation,
    ``val_fraction=0`` all of it training (no validation); prepared shards and TFDS datasets keep their own
    validation split unless ``val_fraction=0``.

    >>> from ilsvrc_keras.datasets import open_dataset
    >>> ds = open_dataset("flowers/", val_fraction=0.2, seed=0)  # doctest: +SKIP
    >>> ds.class_names, len(ds.train), len(ds.val)  # doctest: +SKIP
    (['daisy', 'dandelion', 'rose', 'sunflower', 'tulip'], 3453, 864)
    """
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if is_record_folder(path):
            ds = record_dataset(path)
        elif path.exists() or os.sep in str(data) or (os.altsep and os.altsep in str(data)):
            ds = folder_dataset(path, val_fraction=val_fraction, seed=seed, labels=labels)
        else:
            ds = tfds_dataset(str(data), data_dir=data_dir, manual_dir=manual_dir)
        if isinstance(ds.train, StreamSplit) and val_fraction == 0 and val_data is None:
            # Prepared shards and TFDS come with their own validation split; no validation: all of it trains.
            ds = ImageDataset(all_of(ds), Split([], [], "encoded"), ds.class_names, ds.root)
        if class_names is not None and list(class_names) != list(ds.class_names):
            raise DataError(f"class_names {list(class_names)[:5]} differ from the data's {ds.class_names[:5]}")
        if val_data is not None:  # all of data trains; all of val_data validates, whatever its kind
            val, unreadable, unlabeled = _validation(val_data, ds.class_names, labels, data_dir)
            ds = ImageDataset(all_of(ds), val, ds.class_names, ds.root, ds.unreadable + unreadable,
                              ds.unlabeled + unlabeled)
        return ds
    if val_data is not None and isinstance(val_data, (str, os.PathLike)):
        train = in_memory_dataset(data, None, class_names, 0.0, seed)
        if class_names is None and getattr(data, "class_names", None) is None:
            raise DataError("with arrays or a dataset as data and a folder as val_data, give class_names (the "
                            "folder's classes are matched to the arrays' labels by name)")
        val, unreadable, unlabeled = _validation(val_data, train.class_names, labels, data_dir)
        return ImageDataset(train.train, val, train.class_names, train.root, unreadable, unlabeled)
    return in_memory_dataset(data, val_data, class_names, val_fraction, seed)
