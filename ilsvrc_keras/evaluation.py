"""``evaluate``: ILSVRC top-1/top-5 classification, and single-object localization, over a
labeled image folder."""

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
             progress: bool = True, localization: bool = False, **localize_options) -> dict:
    """Top-1 / top-5 accuracy (and ILSVRC error) of ``model`` on a labeled image folder.

    With ``localization=True`` (ground truth with boxes needed: ``LOC_val_solution.csv`` or the
    Pascal-VOC folder) it also reports the ILSVRC localization accuracies ``top1_loc`` (top-1
    class right and its box at IoU >= 0.5 with a true box), ``top5_loc`` (any of the top 5) and
    ``gt_known_loc`` (the box of the true class), using :mod:`ilsvrc_keras.localization`;
    ``localize_options`` (``method``, ``threshold``, ``region``, ``scale``, ``component``) go to it.

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
    if localization:
        return _evaluate_localization(clf, items, targets, progress, **localize_options)
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


def _evaluate_localization(clf, items, targets, progress, **options) -> dict:
    from tqdm import tqdm

    from .errors import ImageError
    from .images import load_image
    from .localization import (DEFAULT_COMPONENT, DEFAULT_METHOD, DEFAULT_REGION, DEFAULT_SCALE,
                               DEFAULT_THRESHOLD, localizer_for)
    from .metrics import localization_hits

    if not any(t.boxes for t in items.truths):
        raise DataError("localization needs ground truth with boxes (LOC_val_solution.csv or Pascal-VOC XML)")
    options = {"method": DEFAULT_METHOD, "threshold": DEFAULT_THRESHOLD, "region": DEFAULT_REGION,
               "scale": DEFAULT_SCALE, "component": DEFAULT_COMPONENT, **options}
    loc = localizer_for(clf)
    options["scale"] = loc.resolve_scale(options["scale"])
    hits = np.zeros((len(items), 5), bool)  # top1, top5, top1_loc, top5_loc, gt_known_loc
    skipped, done = [], []
    start = time.perf_counter()
    for i in tqdm(range(len(items)), unit="img", desc=f"localize {clf.name}", file=sys.stderr,
                  disable=not progress):
        try:
            array = load_image(items.paths[i])
        except ImageError:
            skipped.append(items.paths[i])
            continue
        probs = clf.predict([array])[0]
        top5 = [int(c) for c in np.argsort(-probs, kind="stable")[:5]]
        true = int(targets[i])
        classes = top5 + ([true] if true not in top5 else [])
        _, boxes = loc.maps_and_boxes(array, classes, **options)
        truth = items.truths[i]
        true_boxes = [b for label, b in truth.boxes if label == truth.label]
        hits[i, :2] = top5[0] == true, true in top5
        hits[i, 2:] = localization_hits(top5, dict(zip(classes, boxes)), true, true_boxes)
        done.append(i)
    seconds = time.perf_counter() - start
    h = hits[done]
    rates = h.mean(axis=0) if len(done) else np.zeros(5)
    names = ("top1", "top5", "top1_loc", "top5_loc", "gt_known_loc")
    result = {"model": clf.name, "n": len(done), **{k: float(v) for k, v in zip(names, rates)}}
    result.update({f"{k}_error": 1.0 - result[k] for k in names})
    result.update({"localization": options, "skipped": skipped, "seconds": round(seconds, 3),
                   "images_per_sec": round(len(done) / seconds, 2) if seconds > 0 else None})
    return result
