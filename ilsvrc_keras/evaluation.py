"""``evaluate``: ILSVRC top-1/top-5 of a classifier over a labeled image folder."""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, Union

import numpy as np

from .data import eval_dataset, labeled_images
from .errors import DataError
from .inference import Classifier, load
from .metrics import topk_correct


def evaluate(data: Union[str, os.PathLike], model: Union[str, Classifier] = "mobilenet_0.25_128",
             weights=None, labels=None, limit: Optional[int] = None, batch_size: int = 32,
             progress: bool = True) -> dict:
    """Top-1 / top-5 accuracy (and ILSVRC error) of ``model`` on a labeled image folder.

    ``data``: flat validation images with ``labels`` (``LOC_val_solution.csv``, a label-per-line
    file or a Pascal-VOC folder), or a class-per-folder tree. Undecodable files are skipped and
    listed in ``skipped``.

    >>> import ilsvrc_keras
    >>> r = ilsvrc_keras.evaluate("val/images", labels="LOC_val_solution.csv",
    ...                           model="mobilenet_0.25_128")  # doctest: +SKIP
    >>> r["top1"], r["top5"]  # doctest: +SKIP
    (0.42, 0.66)
    """
    from tqdm import tqdm

    items = labeled_images(data, labels, limit)  # cheap checks before the model loads
    clf = load(model, weights)
    index = {label: i for i, (label, _) in enumerate(clf.class_labels)}
    unknown = sorted({t for t in items.labels if t not in index})
    if unknown:
        raise DataError(f"{data}: labels not among {clf.name}'s classes: {unknown[:5]}")
    targets = np.array([index[t] for t in items.labels])
    start = time.perf_counter()
    seen, probs = [], []
    bar = tqdm(total=len(items), unit="img", desc=f"evaluate {clf.name}", file=sys.stderr, disable=not progress)
    for idx, batch in eval_dataset(items.paths, clf.transform, batch_size):
        probs.append(clf.predict_batch(batch))
        seen.append(idx.numpy())
        bar.update(len(idx))
    bar.close()
    seconds = time.perf_counter() - start
    seen = np.concatenate(seen) if seen else np.zeros(0, np.int64)
    probs = np.concatenate(probs) if probs else np.zeros((0, clf.num_classes), np.float32)
    n = len(seen)
    top1 = float(topk_correct(probs, targets[seen], 1).mean()) if n else 0.0
    top5 = float(topk_correct(probs, targets[seen], 5).mean()) if n else 0.0
    skipped = sorted(set(range(len(items))) - set(seen.tolist()))
    return {
        "model": clf.name,
        "n": n,
        "top1": top1,
        "top5": top5,
        "top1_error": 1.0 - top1,
        "top5_error": 1.0 - top5,
        "skipped": [items.paths[i] for i in skipped],
        "seconds": round(seconds, 3),
        "images_per_sec": round(n / seconds, 1) if seconds > 0 else None,
    }
