"""The model zoo's registry: one :class:`ModelSpec` per architecture, declared beside its builder.

Each entry holds the architecture's facts: history (year, paper, the ILSVRC figure the paper
reported and how it was measured), its input size and the preprocessing of its paper (what a
training from scratch uses), and which layer to explain for localization. Sets of weights, with
their own preprocessing, are presets (:mod:`ilsvrc_keras.presets`).

This module imports nothing heavy so that ``ilsvrc-keras models`` answers fast.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Callable, Optional

from .checks import check
from .errors import ArgumentError, UnknownModelError


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Everything the package knows about one network of the zoo."""

    name: str
    builder: Callable
    family: str
    year: int
    paper: str
    authors: str
    input_size: int
    params: int  # at 1000 classes with the top, checked by the tests
    crop_fraction: float = 0.875
    preprocessing: str = "caffe"  # a keras.applications.imagenet_utils mode: caffe | tf | torch
    reported_top1_error: Optional[float] = None
    reported_top5_error: Optional[float] = None
    reported_note: str = ""
    explain_layer: Optional[str] = None  # last convolutional feature map, for CAM / Grad-CAM
    depth: Optional[int] = None  # weighted layers on the main path, as the paper counts them
    min_input_size: int = 32
    builder_kwargs: dict = dataclasses.field(default_factory=dict)

    def card(self) -> dict:
        """A JSON-friendly description (the model card shown by the CLI and the app)."""
        return {
            "name": self.name,
            "family": self.family,
            "year": self.year,
            "paper": self.paper,
            "authors": self.authors,
            "params": self.params,
            "depth": self.depth,
            "input_size": self.input_size,
            "crop_fraction": self.crop_fraction,
            "preprocessing": self.preprocessing,
            "reported_top1_error": self.reported_top1_error,
            "reported_top5_error": self.reported_top5_error,
            "reported_note": self.reported_note,
            "explain_layer": self.explain_layer,
        }


_REGISTRY: dict[str, ModelSpec] = {}


def register(**metadata) -> Callable:
    """Decorator that registers a builder under ``metadata['name']`` with its metadata.

    The builder takes keras.applications' arguments (``input_shape, num_classes, include_top, *,
    input_tensor, pooling, classifier_activation``) plus ``builder_kwargs`` and its own options, and returns
    an un-initialised ``keras.Model``; weights are the presets' business, not the builder's.
    """

    def decorate(builder):
        spec = ModelSpec(builder=builder, **metadata)
        if spec.name in _REGISTRY:
            raise ValueError(f"model {spec.name!r} registered twice")
        _REGISTRY[spec.name] = spec
        return builder

    return decorate


def _ensure_loaded() -> None:
    # The family modules register themselves on import; importing them pulls in keras,
    # so it happens on first use of the registry, not on `import ilsvrc_keras`.
    from . import models  # noqa: F401


def list_models() -> list[str]:
    """Names of the zoo's networks, oldest first.

    >>> import ilsvrc_keras
    >>> ilsvrc_keras.list_models()[:2]
    ['alexnet', 'zfnet']
    """
    _ensure_loaded()
    return [s.name for s in sorted(_REGISTRY.values(), key=lambda s: (s.year, s.family, s.params))]


def get_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of ``name``; an unknown name raises with the closest matches."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} Known models: {', '.join(list_models())}."
        ) from None


def check_image_size(spec: ModelSpec, image_size: Optional[int]) -> Optional[int]:
    """The one image-size rule: a whole number, at least the architecture's smallest input
    (``spec.min_input_size``: where its stride-2 stages leave nothing to pool). ``None``: its own size."""
    check("image_size", image_size, optional=True)
    if image_size is not None and image_size < spec.min_input_size:
        raise ArgumentError(f"image_size {image_size} is below {spec.name}'s smallest input, "
                            f"{spec.min_input_size} px")
    return image_size
