"""The decoded-image store: small datasets decoded once and kept in memory for every epoch.

Decoding the same photos every epoch is most of a small run's input cost; a store built on the
first epoch serves the rest (on the flowers, 2.9x a plain ``image_dataset_from_directory``
pipeline against 1.6x decoding every epoch: docs/benchmarks.md). ImageNet-sized data stays on the
decode-the-crop path.
"""

from __future__ import annotations

import math
import os
from typing import Optional

from .pipeline import Augment, decode_image, encoded_bytes
from .splits import Split

# Decoded images of a split are kept in memory when they fit in this many bytes.
CACHE_BYTES = int(float(os.environ.get("ILSVRC_KERAS_CACHE_MB", 3072)) * 2**20)


class DecodedCache:
    """Decoded copies of splits, kept for the life of this object (one per run).

    :meth:`serve` returns the split to read: the decoded copy where the split's decoded images fit
    ``max_bytes`` (``$ILSVRC_KERAS_CACHE_MB``, default 3 GiB; reckoning 4:3 photos as uint8 for
    training, float32 crops for evaluation), else the split itself. Training copies are uint8 with
    the shorter side shrunk to :data:`TRAIN_CACHE_SCALE` times the input size (more under scale
    jittering: :attr:`Augment.cache_scale`; never enlarged), aspect kept, so each epoch's random
    crop is cut from them. Evaluation copies are the evaluation transform's crops themselves.
    Undecodable images are left out of the copy (the training loop counts them as skipped).

    >>> from ilsvrc_keras.datasets import DecodedCache, open_dataset
    >>> cache = DecodedCache()
    >>> ds = open_dataset("flowers/")  # doctest: +SKIP
    >>> train = cache.serve(ds.train, transform, training=True)  # doctest: +SKIP
    """

    def __init__(self, max_bytes: Optional[int] = None):
        self.max_bytes = CACHE_BYTES if max_bytes is None else int(max_bytes)
        self._copies = {}

    @staticmethod
    def side(transform, training: bool, augment: Optional[Augment] = None) -> int:
        if not training:
            return transform.size
        return int(math.ceil(transform.size * (augment or Augment()).cache_scale))

    def fits(self, split, transform, training: bool, augment: Optional[Augment] = None) -> bool:
        if not isinstance(split, Split) or split.kind not in ("file", "encoded"):
            return False  # streams are never materialized; arrays are decoded already
        side = self.side(transform, training, augment)
        return len(split) * side * side * 3 * (4 / 3 if training else 4) <= self.max_bytes

    def serve(self, split, transform, training: bool, augment: Optional[Augment] = None):
        """The split to read this epoch: its decoded copy where it fits, else ``split``."""
        if not self.fits(split, transform, training, augment):
            return split
        side = self.side(transform, training, augment)
        key = (id(split), "train" if training else "eval", side, transform.crop_fraction)
        if key not in self._copies:
            self._copies[key] = (split, self._decode(split, transform, training, side))
        return self._copies[key][1]

    def _decode(self, split: Split, transform, training: bool, side: int) -> Split:
        import numpy as np
        import tensorflow as tf

        sources = tf.constant(split.items if split.kind == "encoded" else [str(p) for p in split.items])
        def load(i, source):
            image = decode_image(encoded_bytes(source, split.kind))
            if not training:
                return i, transform.crop(image)
            shape = tf.cast(tf.shape(image)[:2], tf.float32)
            factor = tf.minimum(1.0, side / tf.reduce_min(shape))
            resized = tf.image.resize(image, tf.cast(tf.round(shape * factor), tf.int32), method="area",
                                      antialias=True)
            return i, tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8)

        ds = tf.data.Dataset.from_tensor_slices((tf.range(len(split), dtype=tf.int64), sources))
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors()
        kept, arrays = [], []
        for i, image in ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
            kept.append(int(i))
            arrays.append(np.ascontiguousarray(image))
        copy = split.subset(kept)
        return Split(arrays, copy.labels, "decoded" if training else "cropped", copy.paths, copy.boxes)
