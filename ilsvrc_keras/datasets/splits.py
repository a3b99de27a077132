"""The splits every source serves: :class:`Split` (a list of files, encoded bytes or decoded arrays) and
:class:`StreamSplit` (a ``tf.data`` stream), an :class:`ImageDataset` of two of them, and what is done to
splits whatever their source (:func:`all_of`, :func:`remap_labels`, :func:`first`).

Every split serves ``make(training, seed, shard)``: a ``tf.data.Dataset`` of ``(payload, label)``
whose ``kind`` says what the payload is: ``"file"`` (a path), ``"encoded"`` (image bytes),
``"decoded"`` (a uint8 ``(H, W, 3)`` image) or ``"cropped"`` (the evaluation transform's float crop,
from :class:`ilsvrc_keras.datasets.cache.DecodedCache`). Training splits are shuffled there, seeded
by ``seed``, so that a resumed epoch replays its order.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Callable, Optional, Sequence

import numpy as np

from ..errors import DataError

KINDS = ("file", "encoded", "decoded", "cropped")
SHUFFLE_BUFFER = 8192


@dataclasses.dataclass
class Split:
    """Items of one split with integer labels (indices into the dataset's class names).

    ``items``: file paths (``kind="file"``), encoded images (``"encoded"``), uint8 ``(H, W, 3)``
    arrays or one ``(N, H, W, 3)`` array (``"decoded"``), or evaluation crops (``"cropped"``).
    ``names`` name the items in reports (the paths for files); ``boxes`` hold each item's ground
    truth boxes ``[(wnid, (xmin, ymin, xmax, ymax)), ...]`` where known. ``plain``: per file, whether
    TensorFlow's own decoder gives :func:`ilsvrc_keras.load_image`'s pixels, as the header read at the
    door said (the pipelines then need not read it again each epoch); None: unknown, read as decoded.
    """

    items: Sequence
    labels: list
    kind: str = "file"
    names: Optional[list] = None
    boxes: Optional[list] = None
    plain: Optional[list] = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if len(self.items) != len(self.labels):
            raise DataError(f"{len(self.items)} images but {len(self.labels)} labels")

    def __len__(self):
        return len(self.labels)

    @property
    def paths(self) -> list:
        """The items' names (file paths for folders; ``<array i>`` for images in memory)."""
        if self.names is not None:
            return self.names
        if self.kind == "file":
            return [str(p) for p in self.items]
        return [f"<{self.kind} {i}>" for i in range(len(self))]

    def subset(self, indices) -> "Split":
        """The items at ``indices``, in that order."""
        indices = list(indices)
        items = self.items[np.asarray(indices, np.int64)] if isinstance(self.items, np.ndarray) else [
            self.items[i] for i in indices]

        def pick(seq):
            return None if seq is None else [seq[i] for i in indices]

        return Split(items, [self.labels[i] for i in indices], self.kind, pick(self.names), pick(self.boxes),
                     pick(self.plain))

    def make(self, training: bool, seed: int = 0, shard: tuple = (1, 0)):
        """``tf.data`` of ``(payload, label)``: every ``shard[0]``-th item from ``shard[1]``,
        shuffled (seeded) for training."""
        import tensorflow as tf

        labels = tf.constant(self.labels, tf.int32)
        in_arrays = self.kind in ("decoded", "cropped")
        sources = tf.range(len(self), dtype=tf.int64) if in_arrays else tf.constant(
            [bytes(v) if isinstance(v, (bytes, bytearray)) else str(v) for v in self.items])
        ds = tf.data.Dataset.from_tensor_slices((sources, labels))
        if shard[0] > 1:
            ds = ds.shard(shard[0], shard[1])
        if training:
            ds = ds.shuffle(max(1, len(self)), seed=seed, reshuffle_each_iteration=False)
        if in_arrays:  # arrays of any shape stay in Python memory; only the batch's are fetched
            items, dtype = self.items, tf.float32 if self.kind == "cropped" else tf.uint8

            def fetch(index, label):
                image = tf.numpy_function(lambda j: np.asarray(items[int(j)]), [index], dtype, stateful=False)
                image.set_shape([None, None, 3])
                return image, label

            ds = ds.map(fetch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return ds


@dataclasses.dataclass
class StreamSplit:
    """One split served as a stream: ``make(training, seed, shard)`` returns the ``tf.data`` of
    ``(payload, label)`` of ``kind``; ``count`` is its number of examples; ``labels`` (one per
    example, in no particular order) where the class counts are known, for class weights."""

    make: Callable
    count: int
    kind: str = "encoded"
    labels: Optional[list] = None
    files: Optional[list] = None  # the shard files, for display

    def __len__(self):
        return self.count

    @property
    def paths(self):
        """None: a stream does not name its examples (reports name them by position)."""
        return None


@dataclasses.dataclass
class ImageDataset:
    """Training and validation splits with the class names (``labels`` index into them)."""

    train: object  # Split or StreamSplit
    val: object
    class_names: list
    root: str
    # Files left out at the door as (path, reason) (not images, empty, too large: images.check_file),
    # and the paths of images the ground truth does not name: reported by train, fine_tune, evaluate
    # and prepare.
    unreadable: list = dataclasses.field(default_factory=list)
    unlabeled: list = dataclasses.field(default_factory=list)

    def fingerprint(self) -> str:
        """A short hash of what this dataset holds: its classes and each split's item names and labels
        (file paths, TFDS shard files, or a digest of in-memory pixels): what a run folder records,
        so that a rerun on other data is noticed."""
        import hashlib

        h = hashlib.sha256(json.dumps(list(self.class_names)).encode())
        for split in (self.train, self.val):
            h.update(f"|{type(split).__name__}:{len(split)}|".encode())
            if isinstance(split, Split) and split.kind == "file":
                names = split.paths
            elif isinstance(split, Split):
                names = [hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16] if hasattr(a, "shape")
                         else hashlib.sha256(bytes(a)).hexdigest()[:16] for a in split.items]
            else:
                names = [str(f) for f in (split.files or [])]
            h.update("\n".join(map(str, names)).encode())
            if split.labels is not None:
                h.update(np.asarray(split.labels, np.int64).tobytes())
        return h.hexdigest()[:16]


def all_of(ds: ImageDataset):
    """All of ``ds`` as one split (its training and held-out parts together), for training beside a
    ``val_data`` of the user's, or for validating on all of it."""
    parts = [p for p in (ds.train, ds.val) if len(p)]
    if len(parts) == 1:
        return parts[0]
    a, b = parts
    if isinstance(a, Split) and isinstance(b, Split) and a.kind == b.kind:
        items = (np.concatenate([a.items, b.items]) if isinstance(a.items, np.ndarray)
                 and isinstance(b.items, np.ndarray) else [*a.items, *b.items])
        boxes = None if a.boxes is None or b.boxes is None else [*a.boxes, *b.boxes]
        plain = None if a.plain is None or b.plain is None else [*a.plain, *b.plain]
        return Split(items, [*a.labels, *b.labels], a.kind, boxes=boxes, plain=plain)
    if isinstance(a, StreamSplit) and isinstance(b, StreamSplit) and a.kind == b.kind:
        def make(training: bool, seed: int, shard: tuple):
            both = a.make(training, seed, shard).concatenate(b.make(training, seed, shard))
            return both.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=False) if training else both
        labels = None if a.labels is None or b.labels is None else [*a.labels, *b.labels]
        return StreamSplit(make, a.count + b.count, a.kind, labels, [*(a.files or []), *(b.files or [])])
    raise DataError(f"{ds.root}: its two splits are of different kinds and cannot be used as one")


def remap_labels(split, mapping: list):
    """``split`` with its labels mapped through ``mapping`` (its class index -> the training's)."""
    if mapping == list(range(len(mapping))):
        return split
    if isinstance(split, Split):
        return Split(split.items, [mapping[y] for y in split.labels], split.kind, split.names, split.boxes,
                     split.plain)

    def make(training: bool, seed: int, shard: tuple):
        import tensorflow as tf

        table = tf.constant(mapping, tf.int32)
        return split.make(training, seed, shard).map(lambda x, y: (x, tf.gather(table, y)))

    labels = None if split.labels is None else [mapping[y] for y in split.labels]
    return StreamSplit(make, split.count, split.kind, labels, split.files)


def first(split, n: int):
    """The first ``n`` examples of ``split`` (a :class:`Split` or a :class:`StreamSplit`)."""
    if isinstance(split, Split):
        return split.subset(range(min(n, len(split))))

    def make(training: bool, seed: int, shard: tuple):
        return split.make(training, seed, shard).take(n)

    return StreamSplit(make, min(n, split.count), split.kind, None, split.files)
