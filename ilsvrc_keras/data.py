"""Data sources: labeled image folders and ILSVRC ground-truth files, and the tf.data pipelines
built on them (evaluation: :func:`eval_dataset`; training: :func:`image_folder_dataset` splits and
:func:`file_dataset` with the random-resized crop decoded from the JPEG bytes).

Ground truth for flat ILSVRC validation folders comes in three forms, all read here:
``LOC_val_solution.csv`` (Kaggle localization challenge: ``ImageId,PredictionString`` with
repeated ``wnid xmin ymin xmax ymax``), a text file with one label per line for
``ILSVRC2012_val_00000001`` onward (wnids, or the devkit's integer ILSVRC2012_IDs with the
devkit's ``meta.mat`` beside it), or a folder of the official Pascal-VOC XML box files.
Class-per-folder datasets name each class by its subfolder (wnids for ImageNet).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional


from .errors import DataError

IMAGE_EXTENSIONS = {".jpeg", ".jpg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
_VAL_ID = re.compile(r"ILSVRC2012_val_(\d+)")


@dataclasses.dataclass
class GroundTruth:
    """The label of an image and its boxes ``[(label, (xmin, ymin, xmax, ymax)), ...]``."""

    label: str
    boxes: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LabeledImages:
    """Image files with their labels (and boxes, where the ground truth has them)."""

    paths: list
    truths: list  # GroundTruth per path

    @property
    def labels(self) -> list:
        return [t.label for t in self.truths]

    def __len__(self):
        return len(self.paths)


def list_images(folder) -> list:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def read_loc_csv(path) -> dict:
    out = {}
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
            raise DataError(f"{path}: expected the header 'ImageId,PredictionString' of LOC_val_solution.csv")
        for row in reader:
            if not row:
                continue
            parts = row[1].split()
            if len(parts) % 5 or not parts:
                raise DataError(f"{path}: row {row[0]!r} is not a list of 'wnid xmin ymin xmax ymax'")
            boxes = [(parts[i], tuple(float(v) for v in parts[i + 1 : i + 5])) for i in range(0, len(parts), 5)]
            out[row[0]] = GroundTruth(boxes[0][0], boxes)
    return out


def _devkit_ids_to_wnids(meta_mat: Path) -> dict:
    from scipy.io import loadmat

    synsets = loadmat(str(meta_mat), squeeze_me=True)["synsets"]
    return {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets}


def read_label_lines(path) -> dict:
    """One label per line for ``ILSVRC2012_val_00000001`` onward (wnids or devkit integer ids)."""
    path = Path(path)
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if lines and all(ln.isdigit() for ln in lines):
        meta = path.with_name("meta.mat")
        if not meta.is_file():
            raise DataError(
                f"{path}: integer labels are the devkit's ILSVRC2012_IDs; the devkit's meta.mat must lie "
                f"beside this file to map them to wnids"
            )
        ids = _devkit_ids_to_wnids(meta)
        lines = [ids[int(ln)] for ln in lines]
    return {f"ILSVRC2012_val_{i:08d}": GroundTruth(wnid) for i, wnid in enumerate(lines, start=1)}


def read_voc_folder(folder) -> dict:
    """The official ILSVRC Pascal-VOC XML files (one per image, boxes in original pixels)."""
    out = {}
    for xml in sorted(Path(folder).glob("*.xml")):
        root = ET.parse(xml).getroot()
        boxes = []
        for obj in root.iter("object"):
            b = obj.find("bndbox")
            boxes.append((obj.findtext("name"), tuple(float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))))
        if boxes:
            out[xml.stem] = GroundTruth(boxes[0][0], boxes)
    if not out:
        raise DataError(f"{folder}: no Pascal-VOC XML files with objects")
    return out


def read_ground_truth(labels) -> dict:
    """``image id (file stem) -> GroundTruth`` from any of the supported ground-truth forms."""
    labels = Path(labels)
    if labels.is_dir():
        return read_voc_folder(labels)
    if not labels.is_file():
        raise DataError(f"{labels}: labels file not found")
    if labels.suffix.lower() == ".csv":
        return read_loc_csv(labels)
    return read_label_lines(labels)


def labeled_images(data, labels=None, limit: Optional[int] = None) -> LabeledImages:
    """The images of an evaluation set with their ground truth.

    ``data`` is a flat folder of validation images (``labels`` then gives the ground truth) or a
    class-per-folder tree. ``limit`` keeps the first N images in sorted order.
    """
    data = Path(data)
    if not data.is_dir():
        raise DataError(f"{data}: no such folder")
    if labels is not None:
        truth = read_ground_truth(labels)
        paths, truths = [], []
        for p in list_images(data):
            key = p.stem if p.stem in truth else (_VAL_ID.search(p.stem) and _VAL_ID.search(p.stem).group(0))
            if key in truth:
                paths.append(p)
                truths.append(truth[key])
        if not paths:
            raise DataError(f"{data}: none of its images is named in {labels}")
    else:
        classes = sorted(d for d in data.iterdir() if d.is_dir())
        if not classes:
            raise DataError(f"{data}: neither class subfolders nor a labels file (--labels) to go with it")
        paths, truths = [], []
        for d in classes:
            for p in list_images(d):
                paths.append(p)
                truths.append(GroundTruth(d.name))
        if not paths:
            raise DataError(f"{data}: its class folders hold no images")
    if limit is not None:
        paths, truths = paths[:limit], truths[:limit]
    return LabeledImages([str(p) for p in paths], truths)


def decode_image(contents):
    """Encoded bytes -> uint8 ``(H, W, 3)`` inside tf.data (JPEG incl. CMYK, PNG, GIF's first frame, BMP)."""
    import tensorflow as tf

    image = tf.io.decode_image(contents, channels=3, expand_animations=False, dtype=tf.uint8)
    image.set_shape([None, None, 3])
    return image


def eval_dataset(paths, transform, batch_size: int = 32):
    """A tf.data pipeline of ``(index, preprocessed batch)`` over ``paths``.

    Files that fail to decode are dropped (``ignore_errors``), never fatal; the indices that come
    out tell the caller which ones were lost.
    """
    import tensorflow as tf

    def load(i, path):
        return i, transform(decode_image(tf.io.read_file(path)))

    ds = tf.data.Dataset.from_tensor_slices((tf.range(len(paths), dtype=tf.int64), tf.constant(paths)))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# --- training sources ------------------------------------------------------------------------------


@dataclasses.dataclass
class Split:
    """Files of one split with integer labels (indices into the dataset's class names).
    ``contents``, when given, holds the encoded images themselves (in-memory data); ``paths``
    then only names them."""

    paths: list
    labels: list
    contents: Optional[list] = None

    def __len__(self):
        return len(self.paths)


@dataclasses.dataclass
class FileDataset:
    """A labeled image dataset on disk: train and validation splits and the class names."""

    train: Split
    val: Split
    class_names: list
    root: str


def _class_folders(folder: Path) -> list:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))


def _files_by_class(folder: Path, class_names=None) -> dict:
    classes = _class_folders(folder)
    if not classes:
        raise DataError(f"{folder}: no class subfolders")
    out = {}
    for d in classes:
        files = list_images(d)
        if not files:
            raise DataError(f"{d}: class folder holds no images")
        out[d.name] = files
    return out


def stratified_split(by_class: dict, val_fraction: float, seed: int = 0) -> tuple:
    """``{class: items}`` -> ``(train, val)`` dicts: per class (in sorted order), a seeded shuffle
    and ``round(n * val_fraction)`` items (at least one, none for a single item) held out."""
    import random

    rng = random.Random(seed)
    train, val = {}, {}
    for name in sorted(by_class):
        items = list(by_class[name])
        rng.shuffle(items)
        n_val = max(1, round(len(items) * val_fraction)) if len(items) > 1 else 0
        val[name], train[name] = items[:n_val], items[n_val:]
    return train, val


def image_folder_dataset(root, val_fraction: float = 0.2, seed: int = 0, labels=None) -> FileDataset:
    """A class-per-folder dataset as train/validation files.

    Layouts: ``root/train/<class>/`` with ``root/val/<class>/`` (or, for ILSVRC, ``root/val/``
    flat with ``labels``: ``LOC_val_solution.csv`` or the devkit ground truth); or ``root/<class>/``
    alone, split per class (stratified) with ``val_fraction`` held out by a seeded shuffle.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    if (root / "train").is_dir():
        train = _files_by_class(root / "train")
        class_names = sorted(train)
        val_dir = root / "val"
        if labels is not None:
            items = labeled_images(val_dir, labels)
            val = {}
            for p, t in zip(items.paths, items.truths):
                val.setdefault(t.label, []).append(Path(p))
        elif val_dir.is_dir():
            val = _files_by_class(val_dir)
        else:
            raise DataError(f"{root}: has train/ but neither val/ nor a labels file for the validation images")
        unseen = sorted(set(val) - set(class_names))
        if unseen:
            raise DataError(f"{root}: validation classes not in train/: {unseen[:5]}")
    else:
        if not 0 < val_fraction < 1:
            raise DataError(f"val_fraction must lie strictly between 0 and 1, not {val_fraction}")
        by_class = _files_by_class(root)
        class_names = sorted(by_class)
        train, val = stratified_split(by_class, val_fraction, seed)
    if len(class_names) < 2:
        raise DataError(f"{root}: a classifier needs at least two classes, found {class_names}")
    index = {c: i for i, c in enumerate(class_names)}

    def split(files_by_class):
        pairs = [(str(p), index[c]) for c in sorted(files_by_class) for p in files_by_class[c]]
        return Split([p for p, _ in pairs], [y for _, y in pairs])

    return FileDataset(split(train), split(val), class_names, str(root))


def open_dataset(data, val_fraction: float = 0.2, seed: int = 0, labels=None, data_dir=None,
                 manual_dir=None) -> FileDataset:
    """Any training source -> train and validation splits with class names: a folder written by
    ``ilsvrc-keras prepare`` (TFRecord shards), a class-per-folder or ILSVRC folder
    (:func:`image_folder_dataset`), or a TFDS dataset name (``"imagenet2012"`` with ``manual_dir``
    holding the ILSVRC tars, ``"tf_flowers"``, ...)."""
    from . import records

    if records.is_record_folder(data):
        return records.record_dataset(data)
    if Path(data).exists() or os.sep in str(data):
        return image_folder_dataset(data, val_fraction=val_fraction, seed=seed, labels=labels)
    return records.tfds_dataset(str(data), data_dir=data_dir, manual_dir=manual_dir)


# --- training transform ------------------------------------------------------------------------------

CROP_SCALE = (0.08, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)


def random_crop_window(shape, seed, scale=CROP_SCALE, ratio=CROP_RATIO):
    """Inception-style random-resized-crop window ``(offset_y, offset_x, height, width)`` for an
    image of ``shape`` ``(height, width, channels)`` (area ``scale`` of the image, aspect ``ratio``; the whole image when
    sampling fails), drawn statelessly from ``seed`` (a ``[2]`` int tensor)."""
    import tensorflow as tf

    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.cast(shape, tf.int32), bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
        min_object_covered=0.0, aspect_ratio_range=ratio, area_range=scale, max_attempts=10,
        use_image_if_no_bounding_boxes=True)
    return tf.stack([begin[0], begin[1], size[0], size[1]])


def scale_jitter_window(shape, seed, jitter):
    """The crops of AlexNet, VGG and the ResNet paper as a window ``(offset_y, offset_x, height,
    width)`` of an image of ``shape``: the shorter side resized to ``r`` times the input size, ``r``
    uniform in ``jitter`` (VGG's [256, 512] at 224 px: ``(256/224, 512/224)``), then a random square
    of the input size. In the original's pixels that square has side ``shorter / r`` (the whole
    shorter side when ``r < 1``), so only the window is decoded, as with :func:`random_crop_window`."""
    import tensorflow as tf

    height, width = tf.cast(shape[0], tf.int32), tf.cast(shape[1], tf.int32)
    short = tf.minimum(height, width)
    r = tf.random.stateless_uniform([], seed, jitter[0], jitter[1])
    side = tf.clip_by_value(tf.cast(tf.round(tf.cast(short, tf.float32) / r), tf.int32), 1, short)
    u = tf.random.stateless_uniform([2], seed + 7, 0.0, 1.0)
    offset_y = tf.cast(u[0] * tf.cast(height - side + 1, tf.float32), tf.int32)
    offset_x = tf.cast(u[1] * tf.cast(width - side + 1, tf.float32), tf.int32)
    return tf.stack([tf.minimum(offset_y, height - side), tf.minimum(offset_x, width - side), side, side])


def decode_random_crop(contents, seed, augment: Optional["Augment"] = None):
    """Encoded bytes -> the random crop as uint8, its window picked by ``augment``
    (:meth:`Augment.window`; default: Inception's random-resized crop). JPEGs decode only the crop
    (``decode_and_crop_jpeg``); PNG, GIF and BMP files (ImageNet has PNGs named .JPEG) are
    decoded whole and cropped."""
    import tensorflow as tf

    window_fn = (augment or Augment()).window

    def jpeg():
        window = window_fn(tf.io.extract_jpeg_shape(contents), seed)
        return tf.image.decode_and_crop_jpeg(contents, window, channels=3)

    def other():
        image = decode_image(contents)
        window = window_fn(tf.shape(image), seed)
        return tf.image.crop_to_bounding_box(image, window[0], window[1], window[2], window[3])

    image = tf.cond(tf.io.is_jpeg(contents), jpeg, other)
    image.set_shape([None, None, 3])
    return image


@dataclasses.dataclass
class Augment:
    """Training augmentation options (a random crop and flip always). The crop is Inception's
    random-resized crop: ``crop_scale`` is its range of crop areas; the paper's (0.08, 1) suits long
    ImageNet schedules, short runs on small datasets learn faster with a milder (0.25-0.35, 1). With
    ``scale_jitter=(lo, hi)`` it is the older crop of AlexNet (256 px images, 224 crops:
    ``(256/224, 256/224)``), VGG (``(256/224, 512/224)``) and ResNet (``(256/224, 480/224)``): the
    shorter side resized to a random multiple in [lo, hi] of the input size, then a random square
    crop (:func:`scale_jitter_window`)."""

    crop_scale: tuple = CROP_SCALE
    scale_jitter: Optional[tuple] = None
    randaugment: bool = False
    mixup: float = 0.0   # Beta(alpha, alpha) of MixUp; 0 = off
    cutmix: float = 0.0  # Beta(alpha, alpha) of CutMix; 0 = off

    def window(self, shape, seed):
        """The training crop's window ``(offset_y, offset_x, height, width)`` in an image of ``shape``."""
        if self.scale_jitter:
            return scale_jitter_window(shape, seed, tuple(self.scale_jitter))
        return random_crop_window(shape, seed, tuple(self.crop_scale))

    @property
    def cache_scale(self) -> float:
        """The shorter side, as a multiple of the input size, of training images kept in memory:
        enough that a jittered crop is never cut from a shrunken copy."""
        return max(TRAIN_CACHE_SCALE, max(self.scale_jitter) if self.scale_jitter else 0.0)


def _pad_batch(batch_size, num_classes):
    """Pad a short final batch to ``batch_size`` with zero-weight examples: static shapes for
    XLA, and no image is dropped (the weights say which examples are real)."""
    import tensorflow as tf

    def pad(x, y, w):
        n = batch_size - tf.shape(x)[0]
        x = tf.pad(x, [[0, n], [0, 0], [0, 0], [0, 0]])
        y = tf.pad(y, [[0, n], [0, 0]])
        w = tf.pad(w, [[0, n]])
        return (tf.ensure_shape(x, [batch_size, None, None, 3]), tf.ensure_shape(y, [batch_size, num_classes]),
                tf.ensure_shape(w, [batch_size]))

    return pad


# Decoded images of a split are kept in memory when they fit in this many bytes (small datasets:
# decoding each photo once instead of every epoch; ImageNet stays on the decode-the-crop path).
CACHE_BYTES = int(float(os.environ.get("ILSVRC_KERAS_CACHE_MB", 3072)) * 2**20)
TRAIN_CACHE_SCALE = 1.25  # cached training images keep a shorter side of 1.25x the input size


def _cache_side(transform, training: bool, augment: Optional[Augment] = None) -> int:
    if not training:
        return transform.size
    return int(math.ceil(transform.size * (augment or Augment()).cache_scale))


def fits_in_memory(split: Split, transform, training: bool, augment: Optional[Augment] = None) -> bool:
    """Whether the decoded images of ``split`` fit :data:`CACHE_BYTES` (``$ILSVRC_KERAS_CACHE_MB``),
    reckoning 4:3 photos as uint8 (training) or float32 crops (evaluation)."""
    side = _cache_side(transform, training, augment)
    per_image = side * side * 3 * (4 / 3 if training else 4)
    return len(split) * per_image <= CACHE_BYTES


def decoded_images(split: Split, transform, training: bool, augment: Optional[Augment] = None) -> list:
    """The split's images decoded once and kept (on the split) for every later epoch.

    Training: uint8, shorter side shrunk to :data:`TRAIN_CACHE_SCALE` times the input size (more
    under scale jittering: :attr:`Augment.cache_scale`; never enlarged), aspect kept, so that each
    epoch's random crop is cut from it. Evaluation: the evaluation transform's crop itself (the very
    pixels :func:`ilsvrc_keras.classify` sees).
    Undecodable files are ``None``."""
    import numpy as np
    import tensorflow as tf

    side = _cache_side(transform, training, augment)
    key = ("train" if training else "eval", side, transform.crop_fraction)
    stores = split.__dict__.setdefault("_decoded", {})
    if key in stores:
        return stores[key]
    in_memory = split.contents is not None
    sources = tf.constant(split.contents if in_memory else split.paths)

    def load(i, source):
        image = decode_image(source if in_memory else tf.io.read_file(source))
        if not training:
            return i, transform.crop(image)
        shape = tf.cast(tf.shape(image)[:2], tf.float32)
        factor = tf.minimum(1.0, side / tf.reduce_min(shape))
        resized = tf.image.resize(image, tf.cast(tf.round(shape * factor), tf.int32), method="area", antialias=True)
        return i, tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8)

    ds = tf.data.Dataset.from_tensor_slices((tf.range(len(split), dtype=tf.int64), sources))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors()
    arrays = [None] * len(split)
    for i, image in ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator():
        arrays[int(i)] = np.ascontiguousarray(image)
    stores[key] = arrays
    return arrays


def file_dataset(split: Split, transform, batch_size: int, num_classes: int, *, training: bool,
                 seed: int = 0, epoch: int = 0, skip: int = 0, augment: Optional[Augment] = None,
                 shard: tuple = (1, 0), class_weights: Optional[list] = None, cache: Optional[bool] = None,
                 size: Optional[int] = None):
    """tf.data over a split: ``(images, one-hot labels, weights)`` batches of ``batch_size``.

    Training: a shuffle seeded by ``(seed, epoch)`` (so a resumed epoch replays the same order
    and ``skip`` jumps over the examples already trained on), random-resized-crop decoded from
    the JPEG bytes (or AlexNet/VGG-style scale jittering: :class:`Augment`), flip, optional
    RandAugment/MixUp/CutMix. Evaluation: the model's evaluation transform. Undecodable files are
    dropped; weights above 0 mark real examples (1, or the example's ``class_weights`` entry; 0 pads
    the last batch), so the caller can count what was skipped. A split with ``contents`` (encoded
    images in memory) is read from there, not disk. ``shard=(n, i)`` keeps every n-th file
    from the i-th (one shard per worker). ``cache`` keeps the decoded images in memory across
    epochs (:func:`decoded_images`); ``None`` does so where they fit (:func:`fits_in_memory`).
    ``size``: the training crops' size when it is not the transform's (progressive resizing); the
    in-memory store keeps the transform's, so that it serves every size of the run.
    """
    import tensorflow as tf

    from .records import StreamSplit

    augment = augment or Augment()
    weights = tf.constant(class_weights if class_weights is not None else [1.0] * num_classes, tf.float32)
    stream = isinstance(split, StreamSplit)
    store = None
    if stream:  # TFRecord shards or TFDS: encoded images arrive with their labels
        in_memory = True
        ds = split.make(training, seed * 100003 + epoch, shard)
    else:
        labels = tf.constant(split.labels, tf.int32)
        in_memory = split.contents is not None
        if cache if cache is not None else fits_in_memory(split, transform, training, augment):
            store = decoded_images(split, transform, training, augment)
        if store is not None:
            # Indices into the decoded store stand in for the files; lost files are left out here.
            kept = [i for i, a in enumerate(store) if a is not None]
            sources = tf.constant(kept, tf.int64)
            labels = tf.gather(labels, kept)
            dtype = tf.uint8 if training else tf.float32

            def fetch(index):
                image = tf.numpy_function(lambda j: store[int(j)], [index], dtype, stateful=False)
                image.set_shape([None, None, 3])
                return image
        else:
            sources = tf.constant(split.contents if in_memory else split.paths)
        ds = tf.data.Dataset.from_tensor_slices((sources, labels))
        if shard[0] > 1:
            ds = ds.shard(shard[0], shard[1])
        if training:
            ds = ds.shuffle(len(split), seed=seed * 100003 + epoch, reshuffle_each_iteration=False)
    ds = ds.enumerate().skip(skip)
    size = int(size or transform.size) if training else transform.size

    def read(source):  # encoded bytes: the source itself for in-memory data and streams, else its file
        return source if in_memory else tf.io.read_file(source)

    def load(i, item):
        source, label = item
        if training:
            s = tf.stack([tf.cast(seed * 7919 + epoch, tf.int64), i])
            if store is not None:
                image = fetch(source)
                window = augment.window(tf.shape(image), s)
                image = tf.image.crop_to_bounding_box(image, window[0], window[1], window[2], window[3])
            else:
                image = decode_random_crop(read(source), s, augment)
            # Back to uint8 at once: the flip, the batching and the prefetch buffers then move a
            # quarter of the bytes (about 10% more images/s at 224 px); normalization comes per batch.
            image = tf.saturate_cast(tf.round(tf.image.resize(image, (size, size), method="bilinear")), tf.uint8)
            image = tf.image.stateless_random_flip_left_right(image, seed=s + 1)
        elif store is not None:
            image = fetch(source)
        else:
            image = transform.crop(decode_image(read(source)))
        return image, tf.one_hot(label, num_classes), tf.gather(weights, label)

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors()
    ds = ds.batch(batch_size)
    if training and (augment.randaugment or augment.mixup or augment.cutmix):
        ds = ds.map(lambda x, y, w: (tf.cast(x, tf.float32), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and augment.randaugment:
        import keras

        rand_augment = keras.layers.RandAugment(value_range=(0, 255), seed=seed)
        ds = ds.map(lambda x, y, w: (rand_augment(x, training=True), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and (augment.mixup or augment.cutmix):
        ds = ds.map(_mix(augment, seed), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y, w: (transform.normalize(x), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.map(_pad_batch(batch_size, num_classes)).prefetch(tf.data.AUTOTUNE)


def _mix(augment: Augment, seed: int):
    """MixUp or CutMix on a batch (one of them per batch when both are on), labels mixed alike."""
    import keras
    import tensorflow as tf

    layers = []
    if augment.mixup:
        layers.append(keras.layers.MixUp(alpha=augment.mixup, seed=seed))
    if augment.cutmix:
        layers.append(keras.layers.CutMix(factor=augment.cutmix, seed=seed))

    def mix(x, y, w):
        out = [layer({"images": x, "labels": y}, training=True) for layer in layers]
        if len(out) == 1:
            return out[0]["images"], out[0]["labels"], w
        pick = tf.random.uniform([], seed=seed) < 0.5
        return (tf.where(pick, out[0]["images"], out[1]["images"]),
                tf.where(pick, out[0]["labels"], out[1]["labels"]), w)

    return mix
