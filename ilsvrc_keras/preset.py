"""A preset: one set of weights for an architecture, with everything needed to use them.

An architecture (:mod:`ilsvrc_keras.registry`) holds the paper's facts. A :class:`Preset` holds one
set of its weights: where they come from (:class:`WeightsSource`: URL, hash, file name), the class labels,
the preprocessing as numbers (size, crop fraction, :class:`~ilsvrc_keras.transforms.Normalization`,
interpolation), whether the network ends in probabilities or logits, and figures measured with it -- as
timm's ``arch.tag`` configs, torchvision's ``Weights`` and keras-hub's preset folders do. The zoo's presets
are listed in :mod:`ilsvrc_keras.preset_table` and looked up through :mod:`ilsvrc_keras.presets`; a model
folder (:mod:`ilsvrc_keras.model_folder`) is read into a preset too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

from .errors import IlsvrcKerasError, UnknownModelError
from .registry import get_spec

OUTPUTS = ("probabilities", "logits")  # what a network ends in


@dataclasses.dataclass(frozen=True)
class WeightsSource:
    """Where a preset's weights come from (keras.applications' files, torchvision's, timm's, or any URL),
    as torchvision's ``Weights(url, ...)``: the file's name on disk is its publisher's."""

    url: str
    file_name: str
    # keras' md5 or sha256 (checked by keras.utils.get_file), or torchvision's sha256 prefix (the hex digits in
    # its file names, checked after the download); None where the publisher states none (Hugging Face's hub).
    file_hash: Optional[str] = None
    notop_url: Optional[str] = None
    notop_file_name: Optional[str] = None
    notop_file_hash: Optional[str] = None
    # Name of a weight-conversion hook in ilsvrc_keras.weights (e.g. keras' old ResNeXt layout).
    converter: Optional[str] = None
    publisher: str = "keras"  # keras | torchvision | timm
    license: str = ""


@dataclasses.dataclass(frozen=True)
class Preset:
    """One set of weights of architecture ``arch`` and how to use them.

    >>> from ilsvrc_keras.presets import get_preset
    >>> p = get_preset("resnet50")
    >>> p.name, p.size, p.normalization.name
    ('resnet50.keras_in1k', 224, 'caffe')
    """

    arch: str
    tag: str
    size: int
    crop_fraction: float
    normalization: object  # a transforms.Normalization, or its name
    interpolation: str = "bilinear"
    weights: Optional[WeightsSource] = None
    labels: Optional[tuple] = None  # the class names; None: ImageNet-1k's 1000 wnids
    outputs: str = "probabilities"  # what the network ends in: "probabilities" or "logits"
    # A model folder whose model.keras takes pixels and gives probabilities: the name of the network inside it
    # (what the library runs, with this preset's normalization and outputs). None: model.keras is the network.
    network: Optional[str] = None
    figures: dict = dataclasses.field(default_factory=dict)  # measured with these weights (and how)
    folder: Optional[str] = None  # a model folder's path
    card_extra: dict = dataclasses.field(default_factory=dict)
    # The name its publisher gives the checkpoint where it differs from arch.tag: torchvision's and timm's
    # ResNet-50 is the zoo's resnet50b (stride on the 3x3), published as "resnet50.tv_in1k".
    published_name: Optional[str] = None

    def __post_init__(self):
        from .transforms import Normalization

        object.__setattr__(self, "normalization", Normalization.named(self.normalization))
        if self.outputs not in OUTPUTS:
            raise IlsvrcKerasError(f"outputs must be one of {OUTPUTS}, not {self.outputs!r}")

    @property
    def name(self) -> str:
        return self.folder if self.folder else (self.published_name or f"{self.arch}.{self.tag}")

    @property
    def published_top1(self) -> Optional[float]:
        """The top-1 accuracy its publisher reports for these weights (a fraction), if any."""
        return self.figures.get("published_top1")

    def transform(self, size: Optional[int] = None):
        """The evaluation transform (resize, center crop, interpolation, normalization) of these weights."""
        from .transforms import EvalTransform

        return EvalTransform(int(size or self.size), self.crop_fraction, self.normalization, self.interpolation)

    def class_labels(self) -> list:
        """``(label, readable name)`` per output."""
        from .labels import imagenet_classes

        if self.labels is None:
            return list(imagenet_classes())
        return [(str(c), str(c)) for c in self.labels]

    def card(self) -> dict:
        """The model card: the architecture's facts, then this preset's."""
        try:
            card = get_spec(self.arch).card()
        except UnknownModelError:
            card = {"name": self.arch}
        card.update({"preset": self.name, "arch": self.arch, "input_size": self.size,
                     "crop_fraction": self.crop_fraction, "interpolation": self.interpolation,
                     "preprocessing": self.normalization.name, "normalization": self.normalization.to_dict(),
                     "outputs": self.outputs, "figures": dict(self.figures),
                     "imagenet_weights": self.weights.file_name if self.weights else None})
        if self.weights and not self.folder:
            card["source"] = {"publisher": self.weights.publisher, "url": self.weights.url,
                              "file_name": self.weights.file_name, "hash": self.weights.file_hash,
                              "license": self.weights.license}
        card.update(self.card_extra)
        if self.folder:
            card.update({"name": Path(self.folder).name, "path": self.folder, "classes": len(self.labels or ())})
        return card
