"""``create_model``: a registry network, built at any supported size, with or without weights."""

from __future__ import annotations

import os
from typing import Optional, Union

from .errors import IlsvrcKerasError, WeightsNotFoundError
from .registry import get_spec
from .weights import load_weights, resolve_imagenet_weights

WeightsArg = Optional[Union[str, os.PathLike]]


def create_model(name: str, weights: WeightsArg = None, num_classes: int = 1000,
                 include_top: bool = True, input_shape: Optional[tuple] = None, **kwargs):
    """Build the zoo network ``name``.

    Args:
        name: a registry name (see :func:`ilsvrc_keras.list_models`).
        weights: ``None`` (random initialisation), ``"imagenet"`` (keras' published weights,
            found on disk or downloaded; see :mod:`ilsvrc_keras.weights`) or a weights file.
        num_classes: size of the classifier (ImageNet weights with the top need 1000).
        include_top: ``False`` returns the convolutional feature map, for new heads.
        input_shape: ``(H, W, 3)``; defaults to the paper's input size. ``(None, None, 3)``
            builds a network that takes any size, where it ends in global pooling (ResNets,
            GoogLeNet without its auxiliary heads).
        **kwargs: builder options, e.g. ``dropout`` or GoogLeNet's ``aux_logits=True``.

    >>> import ilsvrc_keras
    >>> m = ilsvrc_keras.create_model("resnet18", num_classes=10, input_shape=(64, 64, 3))
    >>> m.output_shape
    (None, 10)
    """
    spec = get_spec(name)
    if input_shape is None:
        input_shape = (spec.input_size, spec.input_size, 3)
    # None for height and width: one network for every size (progressive resizing), where the
    # network ends in global pooling.
    input_shape = tuple(None if v is None else int(v) for v in input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3:
        raise IlsvrcKerasError(f"{name}: input_shape must be (height, width, 3), got {input_shape}")
    if any(v is not None and v < spec.min_input_size for v in input_shape[:2]):
        raise IlsvrcKerasError(
            f"{name}: input of {input_shape[0]}x{input_shape[1]} is too small; "
            f"the smallest this network takes is {spec.min_input_size} px"
        )
    if num_classes < 1:
        raise IlsvrcKerasError(f"num_classes must be at least 1, got {num_classes}")
    if weights == "imagenet" and include_top and num_classes != 1000:
        raise IlsvrcKerasError(
            f"{name}: ImageNet weights with the classifier need num_classes=1000; use include_top=False "
            f"for a new head (ilsvrc_keras.fine_tune does that)"
        )
    try:
        model = spec.builder(input_shape, num_classes, include_top, **{**spec.builder_kwargs, **kwargs})
    except ValueError as exc:
        if None not in input_shape:
            raise
        raise IlsvrcKerasError(
            f"{name}: its fully connected layers need one input size, so input_shape cannot leave "
            f"height or width open (None); give it as (H, W, 3) ({exc})") from None
    if weights is None:
        return model
    if weights == "imagenet":
        path = resolve_imagenet_weights(spec, include_top)
        converter = spec.weights.converter
    else:
        path, converter = weights, spec.weights.converter if spec.weights else None
        if not os.path.isfile(path):
            raise WeightsNotFoundError(f"{name}: weights file {path} does not exist")
    load_weights(model, path, converter)
    return model
