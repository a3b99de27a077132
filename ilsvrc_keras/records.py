"""Sources for datasets too large to list file by file: TFRecord shards and TFDS.

``prepare`` writes a class-per-folder dataset (or the raw ILSVRC2012 layout: ``train/<wnid>/`` and
``val/`` with its labels file) as TFRecord shards, many shards at once, each holding the original
encoded bytes (no re-encoding, so nothing is lost and the training transform still decodes only
its crop), or with ``shorter_side`` the images larger than that shrunk to it (fewer pixels to
decode every epoch; what fast.ai's resized ImageNet copies do). :func:`record_dataset` reads
such a folder back, and :func:`tfds_dataset` serves a tensorflow-datasets dataset
(``imagenet2012`` from the manually downloaded tars, or any TFDS image dataset by name) the same
way, with its JPEGs left encoded (``SkipDecoding``).

Both give :class:`StreamSplit` objects, which :func:`ilsvrc_keras.data.file_dataset` reads like
file lists: per-epoch seeded shuffles (shard order, then a buffer), per-worker sharding, and a
``skip`` that replays an interrupted epoch's order.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import io
import json
import math
import os
import random
from pathlib import Path
from typing import Callable, Optional

from .errors import DataError

META_FILE = "dataset.json"
SHARD_SIZE = 1024  # examples per shard by default (ILSVRC2012 train: 1,252 shards of ~110 MB)
SHUFFLE_BUFFER = 8192


@dataclasses.dataclass
class StreamSplit:
    """One split served as a stream of ``(encoded image, label)``: ``make(training, seed, shard)``
    returns the tf.data.Dataset; ``count`` is the number of examples; ``labels`` (one per example,
    in no particular order) where the class counts are known, for class weights."""

    make: Callable
    count: int
    labels: Optional[list] = None
    paths: Optional[list] = None  # the shard files, for display

    def __len__(self):
        return self.count


# --- writing -------------------------------------------------------------------------------------------


def _example(contents: bytes, label: int, name: str):
    import tensorflow as tf

    feature = {
        "image/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(value=[contents])),
        "image/class/label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
        "image/filename": tf.train.Feature(bytes_list=tf.train.BytesList(value=[name.encode()])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


JPEG_QUALITY = 90  # of shrunk images (FFCV writes ImageNet at 90)


def shrink_image(contents: bytes, shorter_side: int, quality: int = JPEG_QUALITY) -> bytes:
    """``contents`` re-encoded as a JPEG whose shorter side is ``shorter_side`` px, where it is
    larger (aspect kept; RGB, whatever the source's mode: CMYK, grayscale, 16-bit, PNG); smaller
    images and bytes that are not a readable image come back unchanged (the training pipeline
    skips and counts the latter, as for any folder).

    >>> from ilsvrc_keras.records import shrink_image
    >>> small = shrink_image(open("photo.jpg", "rb").read(), 256)  # doctest: +SKIP
    """
    from PIL import Image

    from .errors import ImageError
    from .images import load_image

    def target(size):  # (width, height) with the shorter side at shorter_side, aspect kept
        scale = shorter_side / min(size)
        return tuple(max(1, round(v * scale)) for v in size)

    try:
        with Image.open(io.BytesIO(contents)) as image:
            if min(image.size) <= shorter_side:
                return contents
            # A JPEG is decoded straight at 1/2, 1/4 or 1/8 of its size where that stays above the
            # target (libjpeg's DCT scaling): most of the shrinking for free.
            image.draft("RGB", target(image.size))
            pixels = load_image(image)  # any mode -> RGB uint8, as classify() reads it
    except (ImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return contents
    rgb = Image.fromarray(pixels)  # the draft's size, turned by the EXIF orientation
    rgb = rgb.resize(target(rgb.size), Image.Resampling.BICUBIC, reducing_gap=2.0)
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _write_shard(path: Path, items, shorter_side: Optional[int] = None) -> tuple:
    """Write one shard (to a temporary name, renamed when complete); returns (written, unreadable)."""
    import tensorflow as tf

    written, unreadable = 0, []
    tmp = path.with_name(path.name + ".tmp")
    with tf.io.TFRecordWriter(str(tmp)) as writer:
        for file, label in items:
            try:
                contents = Path(file).read_bytes()
            except OSError:
                unreadable.append(file)
                continue
            if not contents:
                unreadable.append(file)
                continue
            if shorter_side:
                contents = shrink_image(contents, shorter_side)
            writer.write(_example(contents, label, Path(file).name))
            written += 1
    os.replace(tmp, path)
    return written, unreadable


def prepare(src, out, *, shard_size: int = SHARD_SIZE, val_fraction: float = 0.2, seed: int = 0, labels=None,
            workers: Optional[int] = None, progress: bool = True, shorter_side: Optional[int] = None) -> dict:
    """Write the dataset in ``src`` as TFRecord shards in ``out`` (``train-00000-of-00004.tfrecord``
    ..., ``val-...``) and a ``dataset.json`` that :func:`record_dataset` and ``ilsvrc-keras train
    --data OUT`` read. Training examples are shuffled across shards (seeded), so that reading a few
    shards at a time still mixes the classes. Shards are written in parallel by ``workers`` threads
    (the work is reading files and writing records; nothing is decoded). Empty or unreadable files
    are left out and counted; files that are not decodable images are kept and skipped (and
    counted) by the training pipeline, as for folders.

    ``shorter_side`` (px): images larger than that are shrunk to it and re-encoded (JPEG quality
    90); the others keep their bytes. Every epoch then decodes fewer pixels: on 500x375 ImageNet
    photos, 256 halves them. Keep it above the training size divided by the crop fraction (256 for
    224 px training): random-resized crops of small areas are then upsampled a little more.

    >>> from ilsvrc_keras.records import prepare
    >>> prepare("../shared/assets/flowers", "/tmp/flowers-records")["train"]["count"]  # doctest: +SKIP
    3453
    """
    from .data import image_folder_dataset

    dataset = image_folder_dataset(src, val_fraction=val_fraction, seed=seed, labels=labels)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if shorter_side is not None and shorter_side < 8:
        raise DataError(f"shorter_side must be at least 8 px, not {shorter_side}")
    meta = {"format": "tfrecord", "source": str(src), "class_names": list(dataset.class_names),
            "shorter_side": shorter_side}
    jobs = []
    for name, split in (("train", dataset.train), ("val", dataset.val)):
        items = list(zip(split.paths, split.labels))
        if name == "train":
            random.Random(seed).shuffle(items)
        shards = max(1, math.ceil(len(items) / shard_size))
        files = [out / f"{name}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
        meta[name] = {"files": [f.name for f in files], "class_counts": [0] * len(dataset.class_names)}
        for i, f in enumerate(files):
            jobs.append((name, f, items[i::shards]))
    unreadable = []
    totals = {"train": 0, "val": 0}
    from tqdm.auto import tqdm

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers or min(32, (os.cpu_count() or 1) * 2)) as pool:
        futures = {pool.submit(_write_shard, f, items, shorter_side): (name, items) for name, f, items in jobs}
        for fut in tqdm(concurrent.futures.as_completed(futures), total=len(futures), desc="shards",
                        disable=not progress, unit="shard"):
            name, items = futures[fut]
            written, bad = fut.result()
            totals[name] += written
            unreadable += bad
            bad_set = set(bad)
            for file, label in items:
                if file not in bad_set:
                    meta[name]["class_counts"][label] += 1
    for name in ("train", "val"):
        meta[name]["count"] = totals[name]
    meta["unreadable"] = sorted(unreadable)
    tmp = out / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, out / META_FILE)  # written last: a folder with dataset.json is complete
    return {**meta, "out": str(out)}


# --- reading -------------------------------------------------------------------------------------------


def _parse(record):
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
        return ds.map(_parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    labels = [c for c, k in enumerate(class_counts) for _ in range(k)]
    return StreamSplit(make, count, labels, [str(f) for f in files])


def is_record_folder(path) -> bool:
    return Path(path).is_dir() and (Path(path) / META_FILE).is_file()


def record_dataset(root):
    """The dataset :func:`prepare` wrote in ``root``, as a :class:`ilsvrc_keras.data.FileDataset`."""
    from .data import FileDataset

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
    return FileDataset(splits["train"], splits["val"], list(meta["class_names"]), str(root))


def tfds_builder(name: str, data_dir=None, manual_dir=None):
    """The prepared TFDS builder of ``name`` (prepared into ``data_dir`` on first use, from the
    files in ``manual_dir`` where the dataset needs them); a clear :class:`DataError` otherwise."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError(f"{name!r} is not a folder; for TFDS datasets install tensorflow-datasets") from None
    try:
        builder = tfds.builder(name, data_dir=None if data_dir is None else str(data_dir))
        config = tfds.download.DownloadConfig(manual_dir=str(manual_dir)) if manual_dir else None
        builder.download_and_prepare(download_config=config)
    except Exception as exc:  # TFDS raises many kinds (missing manual files, no network, unknown name)
        raise DataError(f"TFDS dataset {name!r} is not available ({type(exc).__name__}: {exc})") from None
    return builder


def tfds_dataset(name: str, data_dir=None, manual_dir=None, val_split: Optional[str] = None):
    """A tensorflow-datasets dataset by name, its images kept encoded for the training transform.

    ``imagenet2012`` needs the ILSVRC2012 tars in ``manual_dir`` the first time (TFDS prepares its
    records into ``data_dir`` once). Validation: ``val_split``, else the dataset's ``validation``
    or ``test`` split, else the last 20% of ``train``."""
    import tensorflow_datasets as tfds

    from .data import FileDataset

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

        return StreamSplit(make, int(builder.info.splits[split_name].num_examples))

    return FileDataset(stream(train_split), stream(val_split), class_names, f"tfds:{name}")
