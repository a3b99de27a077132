"""Where labeled images come from: one :class:`Split` (a list: files, encoded bytes or decoded
arrays) or :class:`StreamSplit` (a ``tf.data`` stream: TFRecord shards, TFDS, a user's dataset)
per split, and :func:`open_dataset`, the one front door that turns anything a user hands in into
an :class:`ImageDataset` for training, fine-tuning, evaluation and ``prepare``.

Every split serves ``make(training, seed, shard)``: a ``tf.data.Dataset`` of ``(payload, label)``
whose ``kind`` says what the payload is: ``"file"`` (a path), ``"encoded"`` (image bytes),
``"decoded"`` (a uint8 ``(H, W, 3)`` image) or ``"cropped"`` (the evaluation transform's float crop,
from :class:`ilsvrc_keras.datasets.cache.DecodedCache`). Training splits are shuffled there, seeded
by ``seed``, so that a resumed epoch replays its order.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..checks import check
from ..errors import DataError, ImageError
from .ground_truth import labeled_images, list_images

KINDS = ("file", "encoded", "decoded", "cropped")
META_FILE = "dataset.json"  # written last by ``prepare``: a folder holding it is complete
SHUFFLE_BUFFER = 8192


@dataclasses.dataclass
class Split:
    """Items of one split with integer labels (indices into the dataset's class names).

    ``items``: file paths (``kind="file"``), encoded images (``"encoded"``), uint8 ``(H, W, 3)``
    arrays or one ``(N, H, W, 3)`` array (``"decoded"``), or evaluation crops (``"cropped"``).
    ``names`` name the items in reports (the paths for files); ``boxes`` hold each item's ground
    truth boxes ``[(wnid, (xmin, ymin, xmax, ymax)), ...]`` where known.
    """

    items: Sequence
    labels: list
    kind: str = "file"
    names: Optional[list] = None
    boxes: Optional[list] = None

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

        return Split(items, [self.labels[i] for i in indices], self.kind, pick(self.names), pick(self.boxes))

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


# --- class folders ---------------------------------------------------------------------------------


def readable_images(files) -> tuple:
    """``(readable, unreadable)``: the files among ``files`` whose header reads as an image within the
    limits (:func:`ilsvrc_keras.images.check_file`: a few KB each, about 30 us), and ``(path, reason)``
    of the others. Files that pass and still fail to decode (a truncated body) are skipped and
    counted by the pipelines."""
    from ..images import check_file

    good, bad = [], []
    for f in files:
        try:
            check_file(f)
            good.append(f)
        except ImageError as exc:
            bad.append((str(f), str(exc)))
    return good, bad


def files_by_class(folder: Path, unreadable: Optional[list] = None) -> dict:
    """``{class: [image files]}`` of a class-per-folder tree, unreadable files left out (and listed
    in ``unreadable``); a class with no image, or none that can be read, is a :class:`DataError`."""
    classes = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{folder}: no class subfolders")
    out = {}
    for d in classes:
        files = list_images(d, recursive=True)  # images in a class's subfolders belong to it (as in keras)
        if not files:
            raise DataError(f"{d}: class folder holds no images")
        out[d.name], bad = readable_images(files)
        if not out[d.name]:
            raise DataError(f"{d}: none of its {len(files)} images can be read ({bad[0][1]}); "
                            "remove the class or replace its files")
        if unreadable is not None:
            unreadable += bad
    return out


def stratified_split(by_class: dict, val_fraction: float, seed: int = 0) -> tuple:
    """``{class: items}`` -> ``(train, val)`` dicts: per class (in sorted order), a seeded shuffle
    and ``round(n * val_fraction)`` items (at least one, none for a single item) held out;
    ``val_fraction=1`` holds out everything, ``0`` nothing."""
    import random

    rng = random.Random(seed)
    train, val = {}, {}
    for name in sorted(by_class):
        items = list(by_class[name])
        rng.shuffle(items)
        if val_fraction >= 1:
            n_val = len(items)
        elif val_fraction <= 0:
            n_val = 0
        else:
            n_val = max(1, round(len(items) * val_fraction)) if len(items) > 1 else 0
        val[name], train[name] = items[:n_val], items[n_val:]
    return train, val


def _check_fraction(val_fraction: float) -> None:
    check("val_fraction", val_fraction)  # 0 trains on everything


def _file_split(files_by_class: dict, index: dict) -> Split:
    pairs = [(str(p), index[c]) for c in sorted(files_by_class) for p in files_by_class[c]]
    return Split([p for p, _ in pairs], [y for _, y in pairs])


def folder_dataset(root, val_fraction: float = 0.2, seed: int = 0, labels=None) -> ImageDataset:
    """A class-per-folder (or ILSVRC) dataset as train/validation files.

    Layouts: ``root/train/<class>/`` with ``root/val/<class>/`` (or, for ILSVRC, ``root/val/`` flat
    with ``labels``: ``LOC_val_solution.csv`` or the devkit ground truth); ``root/<class>/`` alone,
    split per class (stratified) with ``val_fraction`` held out by a seeded shuffle; or a flat folder
    of validation images with ``labels`` (all of it validation: for evaluation).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    unreadable, unlabeled = [], []
    if (root / "train").is_dir():
        train_files = files_by_class(root / "train", unreadable)
        class_names = sorted(train_files)
        index = {c: i for i, c in enumerate(class_names)}
        val_dir = root / "val"
        if labels is not None:
            val = _labeled_split(val_dir, labels, index, unreadable=unreadable, unlabeled=unlabeled)
        elif val_dir.is_dir():
            val_files = files_by_class(val_dir, unreadable)
            unseen = sorted(set(val_files) - set(class_names))
            if unseen:
                raise DataError(f"{root}: validation classes not in train/: {unseen[:5]}")
            val = _file_split(val_files, index)
        else:
            raise DataError(f"{root}: has train/ but neither val/ nor a labels file for the validation images")
        train = _file_split(train_files, index)
    elif labels is not None:  # a flat folder of validation images and its ground truth
        items = labeled_images(root, labels)
        class_names = sorted(set(items.labels))
        val = _labeled_split(root, labels, {c: i for i, c in enumerate(class_names)}, items, unreadable, unlabeled)
        train = Split([], [])
    else:
        _check_fraction(val_fraction)
        by_class = files_by_class(root, unreadable)
        class_names = sorted(by_class)
        train_files, val_files = stratified_split(by_class, val_fraction, seed)
        index = {c: i for i, c in enumerate(class_names)}
        train, val = _file_split(train_files, index), _file_split(val_files, index)
    if len(class_names) < 2 and len(train):
        raise DataError(f"{root}: a classifier needs at least two classes, found {class_names}")
    if unreadable:
        import logging

        logging.getLogger(__name__).warning("%d unreadable files of %s are left out (%s)", len(unreadable),
                                            root, unreadable[0][1])
    return ImageDataset(train, val, class_names, str(root), unreadable, unlabeled)


def _labeled_split(folder: Path, labels, index: dict, items=None, unreadable=None, unlabeled=None) -> Split:
    items = items or labeled_images(folder, labels)
    unseen = sorted({t for t in items.labels if t not in index})
    if unseen:
        raise DataError(f"{labels}: classes not in train/: {unseen[:5]}")
    good, bad = readable_images(items.paths)
    good = set(good)
    if not good:
        raise DataError(f"{folder}: none of its {len(items.paths)} labeled images can be read ({bad[0][1]})")
    keep = [i for i, p in enumerate(items.paths) if p in good]
    if unreadable is not None:
        unreadable += bad
    if unlabeled is not None:
        unlabeled += items.unlabeled
    return Split([items.paths[i] for i in keep], [index[items.truths[i].label] for i in keep],
                 boxes=[items.truths[i].boxes for i in keep])


# --- images in memory --------------------------------------------------------------------------------


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
    _check_fraction(val_fraction)
    by_class = {}
    for i, label in enumerate(split.labels):
        by_class.setdefault(label, []).append(i)
    train, val = stratified_split(by_class, val_fraction, seed)

    def ids(groups):
        return sorted(i for items in groups.values() for i in items)

    return split.subset(ids(train)), split.subset(ids(val))


def _in_memory(data, val_data, class_names, val_fraction, seed) -> ImageDataset:
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


# --- TFRecord shards and TFDS -------------------------------------------------------------------------------------------


def parse_record(record):
    """A ``prepare`` shard's record -> ``(encoded image, label)``."""
    import tensorflow as tf

    parsed = tf.io.parse_single_example(record, {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/class/label": tf.io.FixedLenFeature([], tf.int64),
    })
    return parsed["image/encoded"], tf.cast(parsed["image/class/label"], tf.int32)


def _records_split(files: list, count: int, class_counts) -> StreamSplit:
    def make(training: bool, seed: int, shard: tuple):
        import tensorflow as tf

        n, i = shard
        ds = tf.data.Dataset.from_tensor_slices([str(f) for f in files])
        by_file = n > 1 and len(files) >= n
        if by_file:
            ds = ds.shard(n, i)
        if training:
            ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=False)
        ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(8, len(files)), block_length=1,
                           num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if n > 1 and not by_file:
            ds = ds.shard(n, i)
        if training:
            ds = ds.shuffle(min(max(count, 1), SHUFFLE_BUFFER), seed=seed, reshuffle_each_iteration=False)
        return ds.map(parse_record, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    labels = [c for c, k in enumerate(class_counts) for _ in range(k)]
    return StreamSplit(make, count, "encoded", labels, [str(f) for f in files])


def is_record_folder(path) -> bool:
    return Path(path).is_dir() and (Path(path) / META_FILE).is_file()


def record_dataset(root):
    """The dataset :func:`prepare` wrote in ``root``."""
    root = Path(root)
    try:
        meta = json.loads((root / META_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{root}: not a prepared record folder ({exc})") from None
    splits = {}
    for name in ("train", "val"):
        files = [root / f for f in meta[name]["files"]]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DataError(f"{root}: shard files missing: {missing[:3]}")
        splits[name] = _records_split(files, int(meta[name]["count"]), meta[name]["class_counts"])
    return ImageDataset(splits["train"], splits["val"], list(meta["class_names"]), str(root))


def tfds_builder(name: str, data_dir=None, manual_dir=None):
    """The prepared TFDS builder of ``name`` (prepared into ``data_dir`` on first use, from the
    files in ``manual_dir`` where the dataset needs them); a clear :class:`DataError` otherwise."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError(f"{name!r} is not a folder; for TFDS datasets install tensorflow-datasets") from None
    # A plain name (no version, config or community namespace after ':') is checked against TFDS's own
    # list first: a typo of a folder name is one line with the closest names, not TFDS's catalogue.
    base = name.split("/")[0]
    known = tfds.list_builders(with_community_datasets=False)
    if ":" not in name and base not in known:
        import difflib

        here = [p.name for p in Path.cwd().iterdir() if p.is_dir()] if Path.cwd().is_dir() else []
        close = difflib.get_close_matches(base, here + list(known), n=3)
        raise DataError(f"{name!r} is neither a folder here nor a TFDS dataset"
                        + (f"; did you mean {', '.join(close)}?" if close else "")
                        + " (a folder: give its path; TFDS names: tfds.list_builders())")
    try:
        builder = tfds.builder(name, data_dir=None if data_dir is None else str(data_dir))
        config = tfds.download.DownloadConfig(manual_dir=str(manual_dir)) if manual_dir else None
        builder.download_and_prepare(download_config=config)
    except Exception as exc:  # TFDS raises many kinds (missing manual files, no network, unknown name)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DataError(f"TFDS dataset {name!r} is not available ({type(exc).__name__}: {first[:300]})") from None
    return builder


def tfds_dataset(name: str, data_dir=None, manual_dir=None, val_split: Optional[str] = None):
    """A tensorflow-datasets dataset by name, its images kept encoded for the training transform.

    ``imagenet2012`` needs the ILSVRC2012 tars in ``manual_dir`` the first time (TFDS prepares its
    records into ``data_dir`` once). Validation: ``val_split``, else the dataset's ``validation``
    or ``test`` split, else the last 20% of ``train``."""
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir, manual_dir)
    image_key, label_key = builder.info.supervised_keys or ("image", "label")
    class_names = list(builder.info.features[label_key].names)
    splits = builder.info.splits
    if val_split is None:
        val_split = next((s for s in ("validation", "test") if s in splits), None)
    train_split = "train"
    if val_split is None:
        train_split, val_split = "train[:80%]", "train[80%:]"

    def stream(split_name):
        def make(training: bool, seed: int, shard: tuple):
            import tensorflow as tf

            read = tfds.ReadConfig(shuffle_seed=seed, interleave_cycle_length=8)
            ds = builder.as_dataset(split=split_name, shuffle_files=training, read_config=read,
                                    decoders={image_key: tfds.decode.SkipDecoding()})
            if shard[0] > 1:
                ds = ds.shard(*shard)
            if training:
                ds = ds.shuffle(SHUFFLE_BUFFER, seed=seed, reshuffle_each_iteration=False)
            return ds.map(lambda ex: (ex[image_key], tf.cast(ex[label_key], tf.int32)),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

        return StreamSplit(make, int(builder.info.splits[split_name].num_examples), "encoded")

    return ImageDataset(stream(train_split), stream(val_split), class_names, f"tfds:{name}")


# --- the front door ----------------------------------------------------------------------------------


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
        return Split(items, [*a.labels, *b.labels], a.kind, boxes=boxes)
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
        return Split(split.items, [mapping[y] for y in split.labels], split.kind, split.names, split.boxes)

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
        train = _in_memory(data, None, class_names, 0.0, seed)
        if class_names is None and getattr(data, "class_names", None) is None:
            raise DataError("with arrays or a dataset as data and a folder as val_data, give class_names (the "
                            "folder's classes are matched to the arrays' labels by name)")
        val, unreadable, unlabeled = _validation(val_data, train.class_names, labels, data_dir)
        return ImageDataset(train.train, val, train.class_names, train.root, unreadable, unlabeled)
    return _in_memory(data, val_data, class_names, val_fraction, seed)
