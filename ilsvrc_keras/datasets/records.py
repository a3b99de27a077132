"""The TFRecord shards ``ilsvrc-keras prepare`` writes, read back as streams."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DataError
from .splits import SHUFFLE_BUFFER, ImageDataset, StreamSplit

META_FILE = "dataset.json"  # written last by ``prepare``: a folder holding it is complete


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
