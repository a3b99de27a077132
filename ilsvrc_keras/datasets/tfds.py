"""tensorflow-datasets datasets by name, streamed from their records with the images kept encoded."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..errors import DataError
from .splits import SHUFFLE_BUFFER, ImageDataset, StreamSplit


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
