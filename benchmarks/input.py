"""The training input pipeline against keras' ``image_dataset_from_directory`` with the same augmentation
(``python -m benchmarks input``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, assets, split_folders, timed_process, timeit  # noqa: F401


def _rate(ds, batches: int, warmup: int = 2) -> float:
    it = iter(ds)
    for _ in range(warmup):
        next(it)
    n, t = 0, time.perf_counter()
    for _ in range(batches):
        x = next(it)
        n += int((x[0] if isinstance(x, tuple) else x).shape[0])
    return n / (time.perf_counter() - t)


def input_pipeline(data=None, size=224, batch_size=64, batches=30, **_) -> dict:
    """Images/s of the training input pipeline as the Trainer runs it (random-resized crop decoded from the
    JPEG bytes, flip; uint8 batches, normalized by the training step on its device) against a plain
    ``image_dataset_from_directory`` pipeline with the same augmentation on the decoded, resized images
    (normalized in the model too, by a ``Rescaling`` or ``Normalization`` layer, as Keras' examples do), and
    against bare JPEG decoding of the same files;
    also from TFRecord shards as ``ilsvrc-keras prepare`` writes them, with the files' own bytes and
    with ``--shorter-side`` at the evaluation resize (``size / 0.875``: 256 px for 224)."""
    import shutil
    import tempfile

    import keras
    import tensorflow as tf

    from ilsvrc_keras.datasets import (
        DecodedCache,
        Split,
        decode_image,
        list_images,
        make_dataset,
        prepare,
        random_crop_window,
    )
    from ilsvrc_keras.datasets import open_dataset as _open
    from ilsvrc_keras.datasets.folders import readable_images
    from ilsvrc_keras.transforms import EvalTransform

    data = Path(data) if data else assets() / "flowers"
    classes = sorted(d for d in data.iterdir() if d.is_dir())
    paths, labels = [], []
    for i, d in enumerate(classes):
        files = [str(p) for p in list_images(d)]
        paths += files
        labels += [i] * len(files)
    # Read at the door as open_dataset reads a class-per-folder tree (the headers once, not every epoch).
    plain = {}
    readable, _ = readable_images(paths, plain)
    keep = set(readable)
    split = Split([p for p in paths if p in keep], [y for p, y in zip(paths, labels) if p in keep],
                  plain=[plain[p] for p in paths if p in keep])
    t = EvalTransform(size, 0.875, "torch")
    ours = make_dataset(split, t, batch_size, len(classes), training=True, normalize=False).repeat()
    started = time.perf_counter()
    decoded = DecodedCache(max_bytes=2**62).serve(split, t, training=True)
    cache_seconds = time.perf_counter() - started  # the first epoch's one-off decode into memory
    ours_cached = make_dataset(decoded, t, batch_size, len(classes), training=True, normalize=False).repeat()
    shard_dir = Path(tempfile.mkdtemp(prefix="ilsvrc-keras-bench-"))
    side = int(round(size / 0.875))
    shards, prepare_seconds = {}, {}
    for i, (name, shorter) in enumerate((("own bytes", None), (f"shorter side {side}", side))):
        started = time.perf_counter()
        # one shard of 99% of the images (prepare holds out a validation 1%)
        prepare(data, shard_dir / str(i), shard_size=len(paths), val_fraction=0.01,
                shorter_side=shorter, progress=False)
        prepare_seconds[name] = round(time.perf_counter() - started, 1)
        shards[name] = _open(shard_dir / str(i)).train

    def augment(x, y):
        def one(img_seed):
            img, seed = img_seed
            y0, x0, h, w = tf.unstack(random_crop_window(tf.shape(img), seed))
            crop = tf.image.crop_to_bounding_box(img, y0, x0, h, w)
            crop = tf.image.resize(crop, (size, size))
            return tf.image.stateless_random_flip_left_right(crop, seed)
        seeds = tf.random.uniform([tf.shape(x)[0], 2], maxval=2**31 - 1, dtype=tf.int64)
        x = tf.map_fn(one, (x, seeds), fn_output_signature=tf.float32)
        return x, y

    # keras' own folder loader decodes and resizes whole images (to 256 px, as the usual recipe).
    loader = keras.utils.image_dataset_from_directory(
        str(data), image_size=(int(size / 0.875), int(size / 0.875)), batch_size=batch_size, shuffle=True,
        seed=0, verbose=False)
    plain = loader.map(augment, num_parallel_calls=tf.data.AUTOTUNE).repeat().prefetch(tf.data.AUTOTUNE)
    cached = loader.cache()
    for _ in cached:  # fill keras' cache first, as our store is filled above
        pass
    plain_cached = cached.map(augment, num_parallel_calls=tf.data.AUTOTUNE).repeat().prefetch(tf.data.AUTOTUNE)
    bare = (tf.data.Dataset.from_tensor_slices(paths).map(lambda p: decode_image(tf.io.read_file(p)),
                                                          num_parallel_calls=tf.data.AUTOTUNE)
            .map(lambda im: tf.shape(im)).batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE))

    def from_shards(name):
        return make_dataset(shards[name], t, batch_size, len(classes), training=True, normalize=False).repeat()

    def bare_shards(name):
        return (shards[name].make(False, 0, (1, 0)).map(lambda c, y: tf.shape(decode_image(c)),
                                                         num_parallel_calls=tf.data.AUTOTUNE)
                .batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE))

    small = f"shorter side {side}"
    rows = {"ilsvrc_keras pipeline (crop decoded from the JPEG)": _rate(ours, batches),
            "image_dataset_from_directory + same augmentation": _rate(plain, batches),
            "ilsvrc_keras pipeline, decoded images kept in memory": _rate(ours_cached, batches),
            "image_dataset_from_directory + cache() + same augmentation": _rate(plain_cached, batches),
            "bare decode (no resize, no augmentation)": _rate(bare, batches),
            "ilsvrc_keras pipeline from TFRecord shards (the files' own bytes)": _rate(from_shards("own bytes"), batches),
            f"ilsvrc_keras pipeline from TFRecord shards ({small} px)": _rate(from_shards(small), batches),
            f"bare decode of the shards' images ({small} px)": _rate(bare_shards(small), batches)}
    shutil.rmtree(shard_dir, ignore_errors=True)
    rows = {k: round(v, 1) for k, v in rows.items()}
    names = list(rows)
    return {"task": "input", "data": str(data), "images": len(paths), "size": size, "batch_size": batch_size,
            "images_per_sec": rows, "first_epoch_decode_into_memory_s": round(cache_seconds, 1),
            "ratio_vs_plain": round(rows[names[0]] / rows[names[1]], 2),
            "ratio_vs_plain_both_cached": round(rows[names[2]] / rows[names[3]], 2),
            "ratio_vs_plain_shards_shrunk": round(rows[names[6]] / rows[names[1]], 2),
            "shards_write_s": prepare_seconds}


def synthetic_jpegs(folder, count=256, classes=4, size=(500, 375), seed=0) -> Path:
    """A class-per-folder tree of photo-sized JPEGs (smooth noise, quality 90): what the input pipeline
    decodes, for machines that hold no dataset (the GPU benchmark's)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder = Path(folder)
    for i in range(count):
        d = folder / f"class{i % classes}"
        d.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
        Image.fromarray(small).resize(size, Image.BILINEAR).save(d / f"{i:05d}.jpg", quality=90)
    return folder


def table(result: dict) -> list:
    lines = []
    lines.append(f"{result['images']} images from {result['data']} at {result['size']} px, batch {result['batch_size']}")
    for k, v in result["images_per_sec"].items():
        lines.append(f"  {k:<66}{v:>9.1f} img/s")
    lines.append(f"  ratio, ours / plain: {result['ratio_vs_plain']}; both with decoded images in memory: "
                 f"{result['ratio_vs_plain_both_cached']} (our first epoch decodes into memory in "
                 f"{result['first_epoch_decode_into_memory_s']} s); from shrunk shards / plain: "
                 f"{result['ratio_vs_plain_shards_shrunk']} (shards written in "
                 + ", ".join(f"{v} s ({k})" for k, v in result["shards_write_s"].items()) + ")")
    return lines
