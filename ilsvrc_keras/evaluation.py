"""ILSVRC evaluation: one :class:`Evaluator` for every figure the package reports (the training
loop's validation, :func:`evaluate`, the fine-tuning report), and ``evaluate`` over a labeled
image folder, with single-object localization on request."""

from __future__ import annotations

import os
import sys
import time
from typing import Optional, Sequence, Union

import numpy as np

from .checks import check
from .errors import DataError, ImageError
from .inference import Classifier, load
from .interpretation import LossTracker, most_confused
from .metrics import confusion_matrix, per_class_report, topk_correct


class Evaluator:
    """Accumulates the predictions of labeled batches: loss, top-1, top-k, confusion matrix.

    :meth:`update` takes probabilities ``(n, classes)``, true classes, weights (0 marks padding;
    those rows are ignored) and, optionally, each example's position in its split (to tell which
    were never seen). Nothing per example is kept but the positions, so an ImageNet-sized pass
    costs a ``classes x classes`` matrix.

    >>> import numpy as np
    >>> from ilsvrc_keras.evaluation import Evaluator
    >>> ev = Evaluator(3)
    >>> ev.update(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]), [0, 1])
    >>> ev.result()["accuracy"], ev.result()["n"]
    (0.5, 2)
    """

    def __init__(self, num_classes: int, top: int = 5, track_losses: bool = False):
        self.num_classes = num_classes
        self.top = min(top, num_classes)
        self.matrix = np.zeros((num_classes, num_classes), np.int64)
        self.loss_sum = 0.0
        self.topk_hits = 0
        self.positions = []
        # Each example's loss and classes, for the top losses (interpretation.LossTracker); off by default.
        self.losses = LossTracker() if track_losses else None

    def update(self, probs, labels, weights=None, positions=None) -> None:
        probs, labels = np.asarray(probs, np.float32), np.asarray(labels, np.int64).reshape(-1)
        keep = np.ones(len(labels), bool) if weights is None else np.asarray(weights).reshape(-1) > 0
        probs, labels = probs[keep], labels[keep]
        # keras' categorical cross-entropy on probabilities clips them to [1e-7, 1 - 1e-7]
        losses = -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0))
        if positions is not None:
            kept = np.asarray(positions).reshape(-1)[keep]
            self.positions.extend(int(i) for i in kept)
            if self.losses is not None:
                self.losses.update(probs, labels, kept, losses)
        if not len(labels):
            return
        confusion_matrix(labels, probs.argmax(1), len(self.matrix), into=self.matrix)
        self.loss_sum += float(losses.sum())
        self.topk_hits += int(topk_correct(probs, labels, self.top).sum())

    @property
    def n(self) -> int:
        return int(self.matrix.sum())

    @property
    def top_k_name(self) -> Optional[str]:
        """The top-k figure's name as Keras' logs spell it (``top_5_accuracy``); None where k covers every
        class (each example would count)."""
        return f"top_{self.top}_accuracy" if 1 < self.top < self.num_classes else None

    def result(self) -> dict:
        """``n``, ``loss``, ``accuracy`` and, where it means something, the top-k accuracy under
        :attr:`top_k_name` (k = ``top``, 5 unless given): the names of Keras' logs."""
        n = max(self.n, 1)
        out = {"n": self.n, "loss": self.loss_sum / n, "accuracy": float(np.trace(self.matrix)) / n}
        if self.top_k_name:
            out[self.top_k_name] = self.topk_hits / n
        return out

    def report(self, class_names: Sequence[str]) -> dict:
        """The classification report: accuracy, top-k where 1 < k < classes (an evaluator made with
        ``top=min(5, classes - 1)`` reports one for any 3 classes or more), per-class
        precision/recall/F1/support and the confusion matrix."""
        r = self.result()
        out = {"n": r["n"], "accuracy": round(r["accuracy"], 4),
               "per_class": per_class_report(self.matrix, class_names), "confusion_matrix": self.matrix.tolist()}
        if self.top_k_name:
            out[self.top_k_name] = round(r[self.top_k_name], 4)
        unseen = [c for c, support in zip(class_names, self.matrix.sum(1)) if support == 0]
        if unseen:
            out["classes_without_validation"] = list(unseen)
        if r["n"] < SMALL_SAMPLE or unseen:
            out["warning"] = (f"measured on {r['n']} validation image{'s' if r['n'] != 1 else ''}"
                              + (f", none of {len(unseen)} of the {len(class_names)} classes" if unseen else "")
                              + ": the figures say little (give more validation images)")
        return out


# Below this many validation images an accuracy is reported with a warning (1 of 3 right is "33%").
SMALL_SAMPLE = 30


def run_evaluation(batches, predict, evaluator: Evaluator, progress=None) -> Evaluator:
    """The one evaluation loop: for each batch, ``predict(batch)`` gives ``(probabilities, true
    classes, weights, positions)`` and ``evaluator`` takes them; ``progress(n)`` (a tqdm bar's
    ``update``) hears how many real examples each batch held."""
    for batch in batches:
        probs, labels, weights, positions = (np.asarray(v) for v in predict(batch))
        before = evaluator.n
        evaluator.update(probs, labels, weights, positions)
        if progress is not None:
            progress(evaluator.n - before)
    return evaluator


def skipped_items(split, evaluator: Evaluator, served=None) -> list:
    """Names of ``split``'s items the evaluator never saw (undecodable files). ``served``: the split
    the batches came from when it was a decoded copy of ``split`` (positions index into it)."""
    served = served or split

    def names(s):  # streams name their examples by position (evaluation reads them in order)
        return s.paths if s.paths is not None else [f"<example {i}>" for i in range(len(s))]

    seen = {names(served)[i] for i in evaluator.positions}
    return [p for p in names(split) if p not in seen]


def evaluate(data: Union[str, os.PathLike], model: Union[str, Classifier, None] = None,
             weights=None, labels=None, limit: Optional[int] = None, batch_size: int = 32,
             progress: bool = True, localization: bool = False, tta: bool = False, top_losses=None,
             overwrite: Optional[bool] = None, **localize_options) -> dict:
    """The accuracy of ``model`` on a labeled image folder, in the names of Keras' logs (``loss``,
    ``accuracy``, ``top_5_accuracy``) with the challenge's errors beside them (``top1_error``,
    ``top5_error``).

    With ``localization=True`` (ground truth with boxes needed: ``LOC_val_solution.csv`` or the
    Pascal-VOC folder) it also reports the ILSVRC localization accuracies ``top1_loc`` (top-1
    class right and its box at IoU >= 0.5 with a true box), ``top5_loc`` (any of the top 5) and
    ``gt_known_loc`` (the box of the true class), using :mod:`ilsvrc_keras.localization`;
    ``localize_options`` (``method``, ``threshold``, ``region``, ``scale``, ``component``) go to it.
    ``tta``: test-time augmentation, each image's probabilities averaged over six views (center, four
    corners, mirrored center; :class:`~ilsvrc_keras.Classifier`), the classification only.
    The result names the most confused class pairs (``most_confused``); ``top_losses``: a PNG path where the
    images it got most confidently wrong are drawn with the Grad-CAM of the class it chose, and listed
    (:mod:`ilsvrc_keras.interpretation`); an existing picture there is replaced only with ``overwrite``.

    ``model``: a zoo name, ``arch.tag``, a model folder or a :class:`Classifier`; None: the default
    network (:func:`ilsvrc_keras.load`).
    ``data``: flat validation images with ``labels`` (``LOC_val_solution.csv``, a label-per-line
    file or a Pascal-VOC folder), or a class-per-folder tree (read by
    :func:`ilsvrc_keras.datasets.open_dataset`, all of it as validation). Undecodable files are
    skipped and listed in ``skipped``.

    >>> import ilsvrc_keras
    >>> r = ilsvrc_keras.evaluate("val/images", labels="LOC_val_solution.csv",
    ...                           model="mobilenet_0.25_128")  # doctest: +SKIP
    >>> r["accuracy"], r["top_5_accuracy"], r["top5_error"]  # doctest: +SKIP
    (0.42, 0.66, 0.34)
    """

    from .datasets import Split, all_of, first, open_dataset, remap_labels
    from .localization import check_options

    check("limit", limit, optional=True)
    check("batch_size", batch_size)
    if localization:
        check_options(**localize_options)
    if top_losses is not None:
        from .files import image_output

        image_output(top_losses, overwrite=bool(overwrite))  # a bad place to draw fails now, not after the pass
    if not isinstance(data, (str, os.PathLike)) or not os.path.isdir(data):
        raise DataError(f"{data}: no such folder")
    ds = open_dataset(data, labels=labels, val_fraction=1.0)  # cheap checks before the model loads
    split = all_of(ds)  # all of it: prepared shards hold a training and a validation part
    if localization and not (isinstance(split, Split) and split.boxes is not None):
        raise DataError(f"{data}: localization needs ground truth with boxes (LOC_val_solution.csv or Pascal-VOC "
                        "XML) for image files, not prepared shards or a class-per-folder tree")
    split = first(split, limit) if limit is not None else split
    clf = load(model, weights)
    index = {label: i for i, (label, _) in enumerate(clf.class_labels)}
    unknown = sorted(set(ds.class_names) - set(index))
    if unknown:
        raise DataError(f"{data}: labels not among {clf.name}'s classes: {unknown[:5]}")
    split = remap_labels(split, [index[c] for c in ds.class_names])
    result = (_evaluate_localization(clf, split, progress, **localize_options) if localization
              else _evaluate_classification(clf, split, batch_size, progress, data, tta, top_losses, overwrite))
    # Files left out at the door (not images) beside those the evaluation could not decode.
    result["skipped"] = sorted([p for p, _ in ds.unreadable] + result["skipped"])
    result["unlabeled"] = len(ds.unlabeled)
    return result


def _evaluate_classification(clf, split, batch_size, progress, data, tta: bool = False, top_losses=None,
                             overwrite=None) -> dict:
    from tqdm.auto import tqdm  # a widget in notebooks, text in terminals

    from .datasets import make_dataset

    start = time.perf_counter()
    bar = tqdm(total=len(split), unit="img", desc=f"evaluate {clf.name}", file=sys.stderr, disable=not progress)
    # With TTA the pipeline hands over the squares the views are cut from (one batched pass per batch).
    batches = make_dataset(split, clf.tta_transform if tta else clf.transform, batch_size, clf.num_classes,
                           training=False)
    ev = run_evaluation(batches, lambda b: (clf.predict_batch(b[0], tta=tta), np.argmax(b[1], -1), b[2], b[3]),
                        Evaluator(clf.num_classes, track_losses=top_losses is not None), bar.update)
    bar.close()
    seconds = time.perf_counter() - start
    r = ev.result()
    if r["n"] == 0:
        raise DataError(f"{data}: none of its {len(split)} images could be decoded; nothing was scored")
    return {
        "model": clf.name,
        "tta": bool(tta),
        **r,
        **ilsvrc_errors(r),
        "skipped": skipped_items(split, ev),
        "seconds": round(seconds, 3),
        "images_per_sec": round(r["n"] / seconds, 1) if seconds > 0 else None,
        "most_confused": most_confused(ev.matrix, [name for _, name in clf.class_labels]),
        **(_top_losses(clf, split, ev, top_losses, overwrite) if top_losses is not None else {}),
    }


def ilsvrc_errors(result: dict) -> dict:
    """The challenge's figures beside Keras' names: ``top1_error``, ``top5_error`` (where a top-5 accuracy
    is in ``result``) and each localization accuracy's error (``top1_loc_error``, ...).

    >>> ilsvrc_errors({"accuracy": 0.75, "top_5_accuracy": 0.9})
    {'top1_error': 0.25, 'top5_error': 0.09999999999999998}
    """
    out = {"top1_error": 1.0 - result["accuracy"]}
    if "top_5_accuracy" in result:
        out["top5_error"] = 1.0 - result["top_5_accuracy"]
    out.update({f"{k}_error": 1.0 - result[k] for k in ("top1_loc", "top5_loc", "gt_known_loc") if k in result})
    return out


def _top_losses(clf, split, ev, path, overwrite) -> dict:
    from .interpretation import images_of, named, top_losses_png

    items = named(ev.losses.top(), [name for _, name in clf.class_labels], split.paths)
    drawn = top_losses_png(items, images_of(items, split), clf, path, overwrite=bool(overwrite)) if items else None
    return {"top_losses": items, "top_losses_png": str(drawn) if drawn else None}


def _evaluate_localization(clf, split, progress, **options) -> dict:
    from tqdm.auto import tqdm  # a widget in notebooks, text in terminals

    from .images import load_image
    from .localization import (
        DEFAULT_COMPONENT,
        DEFAULT_METHOD,
        DEFAULT_REGION,
        DEFAULT_SCALE,
        DEFAULT_THRESHOLD,
        localizer_for,
    )
    from .metrics import localization_hits

    if not any(split.boxes or ()):
        raise DataError("localization needs ground truth with boxes (LOC_val_solution.csv or Pascal-VOC XML)")
    options = {"method": DEFAULT_METHOD, "threshold": DEFAULT_THRESHOLD, "region": DEFAULT_REGION,
               "scale": DEFAULT_SCALE, "component": DEFAULT_COMPONENT, **options}
    loc = localizer_for(clf)
    options["scale"] = loc.resolve_scale(options["scale"])
    hits = np.zeros((len(split), 5), bool)  # accuracy, top-5, top1_loc, top5_loc, gt_known_loc
    skipped, done = [], []
    start = time.perf_counter()
    for i in tqdm(range(len(split)), unit="img", desc=f"localize {clf.name}", file=sys.stderr,
                  disable=not progress):
        try:
            array = load_image(split.paths[i])
        except ImageError:
            skipped.append(split.paths[i])
            continue
        probs = clf.predict([array])[0]
        top5 = [int(c) for c in np.argsort(-probs, kind="stable")[:5]]
        true = int(split.labels[i])
        classes = top5 + ([true] if true not in top5 else [])
        _, boxes = loc.maps_and_boxes(array, classes, **options)
        wnid = clf.class_labels[true][0]
        true_boxes = [b for label, b in split.boxes[i] if label == wnid]
        hits[i, :2] = top5[0] == true, true in top5
        hits[i, 2:] = localization_hits(top5, dict(zip(classes, boxes)), true, true_boxes)
        done.append(i)
    seconds = time.perf_counter() - start
    if not done:
        raise DataError(f"none of the {len(split)} images could be decoded; nothing was scored")
    h = hits[done]
    rates = h.mean(axis=0)
    names = ("accuracy", "top_5_accuracy", "top1_loc", "top5_loc", "gt_known_loc")
    result = {"model": clf.name, "n": len(done), **{k: float(v) for k, v in zip(names, rates)}}
    result.update(ilsvrc_errors(result))
    result.update({"localization": options, "skipped": skipped, "seconds": round(seconds, 3),
                   "images_per_sec": round(len(done) / seconds, 2) if seconds > 0 else None})
    return result
