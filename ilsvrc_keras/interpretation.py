"""What a trained classifier gets wrong, as fastai's ``ClassificationInterpretation`` shows it: the class pairs
it confuses most, and the images it got most confidently wrong (the top losses), drawn as a gallery with the
Grad-CAM of the class it chose. ``fine_tune`` writes both into its report; ``ilsvrc-keras evaluate
--top-losses PNG`` does so for any labelled folder.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

# The gallery's size: 9 images (3 x 3) unless asked otherwise; the pairs listed in a report.
TOP_LOSSES = 9
MOST_CONFUSED = 10


def most_confused(matrix, class_names: Sequence[str], top: int = MOST_CONFUSED, min_count: int = 1) -> list:
    """The off-diagonal cells of a confusion matrix, largest first: ``{"true", "predicted", "count"}``.

    >>> most_confused([[5, 2, 0], [0, 4, 1], [3, 0, 6]], ["a", "b", "c"], top=2)
    [{'true': 'c', 'predicted': 'a', 'count': 3}, {'true': 'a', 'predicted': 'b', 'count': 2}]
    """
    m = np.array(matrix, np.int64)
    np.fill_diagonal(m, 0)
    order = np.argsort(-m, axis=None, kind="stable")[:top]
    pairs = [np.unravel_index(i, m.shape) for i in order]
    return [{"true": str(class_names[t]), "predicted": str(class_names[p]), "count": int(m[t, p])}
            for t, p in pairs if m[t, p] >= min_count]


class LossTracker:
    """Each example's loss, true and predicted class, kept while an evaluation runs (an
    :class:`~ilsvrc_keras.evaluation.Evaluator` feeds it); :meth:`top` names the worst."""

    def __init__(self):
        self.positions, self.losses, self.true, self.predicted, self.confidence = [], [], [], [], []

    def update(self, probs, labels, positions, losses) -> None:
        """One batch: its probabilities, true classes, positions in the split and per-example losses."""
        self.positions.extend(int(p) for p in positions)
        self.losses.extend(float(v) for v in losses)
        self.true.extend(int(v) for v in labels)
        self.predicted.extend(int(v) for v in probs.argmax(1))
        self.confidence.extend(float(v) for v in probs.max(1))

    def top(self, k: int = TOP_LOSSES, wrong_only: bool = True) -> list:
        """The ``k`` largest losses: ``{"position", "loss", "true", "predicted", "probability"}`` (class
        indices; ``probability`` is the chosen class's), the wrongly classified only unless asked."""
        order = np.argsort(-np.asarray(self.losses), kind="stable")
        out = []
        for i in order:
            if wrong_only and self.true[i] == self.predicted[i]:
                continue
            out.append({"position": self.positions[i], "loss": round(self.losses[i], 4), "true": self.true[i],
                        "predicted": self.predicted[i], "probability": round(self.confidence[i], 4)})
            if len(out) == k:
                break
        return out


def named(items: list, class_names: Sequence[str], sources: Optional[Sequence] = None) -> list:
    """:meth:`LossTracker.top`'s items with class names, and each image's file where ``sources`` (the split's
    paths, by position) has one."""
    return [{**item, "true": str(class_names[item["true"]]), "predicted": str(class_names[item["predicted"]]),
             "predicted_index": item["predicted"],  # names may repeat (ImageNet has two "crane"s): the index does not
             **({"image": str(sources[item["position"]])} if sources is not None else {})} for item in items]


def images_of(items: list, split) -> list:
    """The pixels of :func:`named` items: read from the file an item names, else the split's own array."""
    from pathlib import Path

    from .images import load_image

    return [load_image(i["image"]) if Path(i.get("image", "")).is_file() else
            np.asarray(split.items[i["position"]], np.uint8) for i in items]


def top_losses_png(items: list, images: Sequence[np.ndarray], classifier, path, overwrite=None):
    """The gallery: each image with the Grad-CAM heat map and box of the class the network chose, titled
    ``true / predicted (probability), loss``. ``images``: the pixels of ``items``' images, in order."""
    from .localization import Localizer
    from .plots import _pyplot, _save_figure, overlay, thumbnail

    plt = _pyplot()
    n = max(1, len(items))
    cols = min(3, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 3.6 * rows), squeeze=False)
    localizer = Localizer(classifier)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, item, image in zip(axes.ravel(), items, images):
        image = thumbnail(image, 320)
        found = localizer.localize(image, classes=[item["predicted_index"]], top=1)[0]
        ax.imshow(overlay(image, found.heatmap, [found.box]))
        ax.set_title(f"{item['true']} / {item['predicted']} ({item['probability']:.0%})\nloss {item['loss']:.2f}",
                     fontsize=9)
    fig.suptitle("Top losses: true / predicted (probability)", fontsize=11)
    return _save_figure(fig, path, overwrite=overwrite)
