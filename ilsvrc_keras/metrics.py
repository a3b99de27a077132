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
