"""ILSVRC metrics: top-k classification and single-object localization (IoU >= 0.5)."""

from __future__ import annotations

import numpy as np


def topk_correct(probabilities, labels, k: int) -> np.ndarray:
    """Boolean per row: is ``labels[i]`` among the ``k`` highest scores of row ``i``?"""
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
    area = lambda c: np.clip(c[..., 2] - c[..., 0], 0, None) * np.clip(c[..., 3] - c[..., 1], 0, None)
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
