"""The 1000 ILSVRC classes (shipped with the package) and decoding of predictions."""

from __future__ import annotations

import functools
from importlib import resources
from typing import NamedTuple, Sequence

import numpy as np


class Prediction(NamedTuple):
    """One of the top-k answers for an image: ``(label, name, probability)``.

    ``label`` is the WordNet id (``n01440764``) for ImageNet models and the class name for
    fine-tuned ones; the tuple has the same shape as keras' ``decode_predictions``.
    """

    label: str
    name: str
    probability: float

    def to_dict(self) -> dict:
        return {"label": self.label, "name": self.name, "probability": self.probability}


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """``(wnid, readable name)`` of the 1000 classes in the standard order (sorted wnids).

    >>> from ilsvrc_keras.labels import imagenet_classes
    >>> imagenet_classes()[0]
    ('n01440764', 'tench')
    """
    text = resources.files("ilsvrc_keras").joinpath("resources/imagenet_classes.tsv").read_text("utf8")
    rows = []
    for line in text.splitlines():
        wnid, synonyms = line.split("\t")
        rows.append((wnid, synonyms.split(",")[0].strip()))
    return tuple(rows)


@functools.lru_cache(maxsize=1)
def wnid_to_index() -> dict[str, int]:
    return {wnid: i for i, (wnid, _) in enumerate(imagenet_classes())}


def decode(probabilities, class_labels: Sequence[tuple[str, str]], top: int = 5) -> list[list[Prediction]]:
    """Top-``top`` predictions of each row of ``probabilities`` (shape ``[batch, classes]``)."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 2 or probabilities.shape[1] != len(class_labels):
        raise ValueError(
            f"expected predictions of shape (batch, {len(class_labels)}), got {probabilities.shape}"
        )
    top = max(1, min(int(top), probabilities.shape[1]))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :top]
    return [
        [Prediction(class_labels[i][0], class_labels[i][1], float(row[i])) for i in idx]
        for row, idx in zip(probabilities, order)
    ]
