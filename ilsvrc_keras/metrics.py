"""ILSVRC metrics: top-k classification and single-object localization (IoU >= 0.5)."""

from __future__ import annotations

import numpy as np


def topk_correct(probabilities, labels, k: int) -> np.ndarray:
    """Boolean per row: is ``labels[i]`` among the ``k`` highest scores of row ``i``?

    >>> topk_correct([[0.1, 0.7, 0.2], [0.6, 0.3, 0.1]], [2, 2], k=2).tolist()
    [True, False]
    """
    p = np.asarray(probabilities)
    labels = np.asarray(labels)
    k = min(k, p.shape[1])
    top = np.argpartition(-p, k - 1, axis=1)[:, :k]
    return (top == labels[:, None]).any(axis=1)


def iou(box_a, box_b) -> np.ndarray:
    """Intersection over union of ``(xmin, ymin, xmax, ymax)`` boxes, broadcasting over leading axes.

    >>> float(iou([0, 0, 2, 2], [1, 1, 3, 3]))
    0.14285714285714285
    """
    a = np.asarray(box_a, dtype=np.float64)
    b = np.asarray(box_b, dtype=np.float64)
    ix = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    iy = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = ix * iy

    def area(c):
        return np.clip(c[..., 2] - c[..., 0], 0, None) * np.clip(c[..., 3] - c[..., 1], 0, None)
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def localization_hits(top_classes, boxes_by_class, true_class, true_boxes, iou_threshold: float = 0.5):
    """ILSVRC single-object localization for one image.

    ``top_classes``: predicted classes, best first (top-5); ``boxes_by_class``: the predicted box of
    each of them (and of ``true_class``, for ``gt_known``); ``true_boxes``: every ground-truth box
    of the true class (an image may have several). A prediction counts when its class is right
    and its box overlaps one of the true boxes with IoU >= 0.5.

    Returns ``(top1_loc, top5_loc, gt_known_loc)`` as booleans.
    """
    true_boxes = np.asarray(true_boxes, dtype=np.float64).reshape(-1, 4)

    def hit(c):
        return c == true_class and len(true_boxes) > 0 and bool(
            (iou(np.asarray(boxes_by_class[c])[None], true_boxes) >= iou_threshold).any())

    gt_known = len(true_boxes) > 0 and true_class in boxes_by_class and bool(
        (iou(np.asarray(boxes_by_class[true_class])[None], true_boxes) >= iou_threshold).any())
    return hit(top_classes[0]), any(hit(c) for c in top_classes[:5]), gt_known


def confusion_matrix(true, predicted, num_classes: int, into: np.ndarray = None) -> np.ndarray:
    """``m[i, j]``: how many examples of class ``i`` were predicted as ``j``, counted into ``into`` where
    given (a running matrix, as the evaluation loop keeps one).

    >>> confusion_matrix([0, 1, 1], [0, 0, 1], 2).tolist()
    [[1, 0], [1, 1]]
    """
    m = np.zeros((num_classes, num_classes), np.int64) if into is None else into
    np.add.at(m, (np.asarray(true, int), np.asarray(predicted, int)), 1)
    return m


def per_class_report(matrix: np.ndarray, class_names) -> dict:
    """Precision, recall, F1 and support per class from a confusion matrix, and their macro means.

    >>> per_class_report(np.array([[3, 1], [0, 4]]), ["a", "b"])["a"]["recall"]
    0.75
    """
    m = np.asarray(matrix, np.float64)
    tp = np.diag(m)
    precision = np.divide(tp, m.sum(0), out=np.zeros_like(tp), where=m.sum(0) > 0)
    recall = np.divide(tp, m.sum(1), out=np.zeros_like(tp), where=m.sum(1) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    report = {name: {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
                     "support": int(s)}
              for name, p, r, f, s in zip(class_names, precision, recall, f1, m.sum(1))}
    # Macro means over the classes validation has images of: a class it never saw has no recall to count,
    # and counting it as 0 would understate every class that was measured.
    seen = m.sum(1) > 0
    if seen.any():
        report["macro avg"] = {"precision": round(float(precision[seen].mean()), 4),
                               "recall": round(float(recall[seen].mean()), 4),
                               "f1": round(float(f1[seen].mean()), 4), "support": int(m.sum()),
                               "classes": int(seen.sum())}
    return report
