"""``prepare``: a dataset written as TFRecord shards, for datasets too large to list file by file.

:func:`prepare` writes a class-per-folder dataset (or the raw ILSVRC2012 layout: ``train/<wnid>/``
and ``val/`` with its labels file) as TFRecord shards, many shards at once, each holding the
original encoded bytes (no re-encoding, so nothing is lost and the training transform still
decodes only its crop), or with ``shorter_side`` the images larger than that shrunk to it (fewer
pixels to decode every epoch; what fast.ai's resized ImageNet copies do). :func:`ilsvrc_keras.datasets.open_dataset`
reads such a folder back (:func:`ilsvrc_keras.datasets.records.record_dataset`).
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import math
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from ..checks import check
from ..errors import DataError, IlsvrcKerasError, ImageError
from ..files import check_output, marked_as, path_sources, replace_with, writable_folder, written_by
from .records import META_FILE
from .sources import open_dataset
from .splits import Split

SHARD_SIZE = 1024  # examples per shard by default (ILSVRC2012 train: 1,252 shards of ~110 MB)


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

    >>> from ilsvrc_keras.datasets import shrink_image
    >>> small = shrink_image(open("photo.jpg", "rb").read(), 256)  # doctest: +SKIP
    """
    from PIL import Image

    from ..images import load_image

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


def _write_shards(dataset, out: Path, meta: dict, shard_size, seed, workers, progress, shorter_side) -> None:
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
    meta["unreadable"] = sorted(unreadable + [path for path, _ in dataset.unreadable])


def prepare(src, out, *, shard_size: int = SHARD_SIZE, val_fraction: float = 0.2, seed: int = 0, labels=None,
            workers: Optional[int] = None, progress: bool = True, shorter_side: Optional[int] = None,
            overwrite: bool = False) -> dict:
    """Write the dataset in ``src`` as TFRecord shards in ``out`` (``train-00000-of-00004.tfrecord``
    ..., ``val-...``) and a ``dataset.json`` that :func:`record_dataset` and ``ilsvrc-keras train
    --data OUT`` read. Training examples are shuffled across shards (seeded), so that reading a few
    shards at a time still mixes the classes. Shards are written in parallel by ``workers`` threads
    (the work is reading files and writing records; nothing is decoded). Files that are not images
    (checked from their headers by :func:`open_dataset`) are left out and listed in ``unreadable``;
    images whose body turns out damaged are skipped (and counted) by the training pipeline.

    ``shorter_side`` (px): images larger than that are shrunk to it and re-encoded (JPEG quality
    90); the others keep their bytes. Every epoch then decodes fewer pixels: on 500x375 ImageNet
    photos, 256 halves them. Keep it above the training size divided by the crop fraction (256 for
    224 px training): random-resized crops of small areas are then upsampled a little more.

    The shards are written into a sibling folder and moved to ``out`` when complete. An existing ``out`` is
    replaced only if it holds a previous ``prepare`` output and ``overwrite`` is given (its stale shards go
    with it); a folder holding anything else, ``src`` itself or a folder inside it, is refused first.

    >>> from ilsvrc_keras.datasets import prepare
    >>> prepare("flowers/", "/tmp/flowers-records")["train"]["count"]  # doctest: +SKIP
    3453
    """
    dataset = open_dataset(src, val_fraction=val_fraction, seed=seed, labels=labels)
    if not all(isinstance(s, Split) and s.kind == "file" for s in (dataset.train, dataset.val)):
        raise DataError(f"{src}: prepare writes shards of image folders, not of {dataset.root}")
    check("shard_size", shard_size)
    check("val_fraction", val_fraction)
    check("workers", workers, optional=True)
    check("shorter_side", shorter_side, optional=True)
    ours = marked_as(Path(out) / META_FILE, "prepare")
    if ours and not overwrite:
        held = json.loads((Path(out) / META_FILE).read_text()).get("source")
        if held != str(src):  # say what would be replaced: another dataset's shards, not a rerun's
            raise IlsvrcKerasError(f"{out} holds a previous prepared dataset, of {held}, not {src}; pass --overwrite "
                                   "/ overwrite=True to replace it whole, or choose another folder")
    final = check_output(out, "prepared dataset", ours=ours,
                         sources=path_sources(src), overwrite=overwrite, inside_source=False)
    writable_folder(final.parent if str(final.parent) else ".")
    out = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.tmp-"))
    meta = {**written_by("prepare"), "format": "tfrecord", "source": str(src),
            "class_names": list(dataset.class_names), "shorter_side": shorter_side}
    try:
        _write_shards(dataset, out, meta, shard_size, seed, workers, progress, shorter_side)
        (out / META_FILE).write_text(json.dumps(meta, indent=1))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # the staging folder this call made; the target is untouched
        raise
    replace_with(out, final)  # the whole folder at once: a reader sees the old dataset or the new one
    return {**meta, "out": str(final)}
