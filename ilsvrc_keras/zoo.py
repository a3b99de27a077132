"""``create_model``: a registry network with keras.applications' arguments, built at any supported
size, with or without ImageNet weights."""

from __future__ import annotations

import inspect
import os
from typing import Optional, Union

from .errors import IlsvrcKerasError, WeightsNotFoundError
from .presets import published_under, zoo_preset
from .registry import get_spec
from .weights import find_local_weights, load_weights, resolve_imagenet_weights

WeightsArg = Optional[Union[str, os.PathLike]]
# The arguments every builder takes (keras.applications'); anything else is a builder option.
_COMMON = ("input_shape", "num_classes", "include_top", "input_tensor", "pooling", "classifier_activation")


def builder_options(spec) -> dict:
    """The options a user may pass to ``spec``'s builder (``dropout``, GoogLeNet's ``aux_logits``,
    MobileNet's ``alpha`` ...) with their defaults: its keyword parameters, less keras.applications'
    common ones and those the registry entry fixes (a variant's depths, block, stem)."""
    params = inspect.signature(spec.builder).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty
            and p.name not in _COMMON and p.name not in spec.builder_kwargs and p.kind != p.VAR_KEYWORD}


def create_model(name: str, weights: WeightsArg = None, *, include_top: bool = True, input_tensor=None,
                 input_shape: Optional[tuple] = None, pooling: Optional[str] = None, num_classes: Optional[int] = None,
                 classes: Optional[int] = None, classifier_activation="softmax", **kwargs):
    """Build the zoo network ``name`` with keras.applications' arguments.

    Args:
        name: a registry name (see :func:`ilsvrc_keras.list_models`), or a preset ``arch.tag``
            (``"resnet34.tv_in1k"``: its architecture, and its weights with ``weights="imagenet"``), as
            ``timm.create_model`` takes them.
        weights: ``None`` (random initialisation), ``"imagenet"`` (the preset's published weights,
            found on disk or downloaded; see :mod:`ilsvrc_keras.weights`) or a weights file in any
            format the package reads (Keras ``.h5``, PyTorch ``.pth``, ``.safetensors``). With
            another ``num_classes`` than the file's 1000, the backbone (and any fully connected
            layers) load and the classifier is new, as in timm and keras-hub.
        include_top: ``False`` ends at the convolutional feature map (or its ``pooling``).
        input_tensor: a Keras tensor to build the network on (keras.applications' argument).
        input_shape: ``(H, W, 3)``; defaults to the paper's input size. ``(None, None, 3)``
            builds a network that takes any size, where it ends in global pooling (ResNets,
            GoogLeNet without its auxiliary heads).
        pooling: without the top, ``None`` (the 4-D feature map), ``"avg"`` or ``"max"`` (2-D).
        num_classes: size of the classifier (default 1000); ``classes`` is keras' name for it.
        classifier_activation: ``"softmax"`` (default), ``None`` for logits (what training,
            fine-tuning and Grad-CAM use), or any Keras activation.
        **kwargs: the builder's own options (:func:`builder_options`), e.g. ``dropout`` or
            GoogLeNet's ``aux_logits=True``; any other name is an error.

    >>> import ilsvrc_keras
    >>> m = ilsvrc_keras.create_model("resnet18", num_classes=10, input_shape=(64, 64, 3))
    >>> m.output_shape
    (None, 10)
    >>> ilsvrc_keras.create_model("vgg11", include_top=False, pooling="avg").output_shape
    (None, 512)
    """
    preset, arch = zoo_preset(name)
    spec = get_spec(arch)
    allowed = builder_options(spec)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise IlsvrcKerasError(f"{name}: unknown argument(s) {', '.join(unknown)}; besides keras.applications' "
                               f"arguments it takes {', '.join(sorted(allowed)) or 'none'}")
    num_classes = _num_classes(num_classes, classes)
    if pooling not in (None, "avg", "max"):
        raise IlsvrcKerasError(f"pooling must be None, 'avg' or 'max', not {pooling!r}")
    if input_shape is None:
        shape = getattr(input_tensor, "shape", None)
        input_shape = tuple(shape[1:]) if shape is not None else (spec.input_size, spec.input_size, 3)
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
    new_head = weights is not None and include_top and num_classes != 1000
    try:
        model = spec.builder(input_shape, num_classes, include_top, input_tensor=input_tensor, pooling=pooling,
                             classifier_activation=classifier_activation, **{**spec.builder_kwargs, **kwargs})
    except ValueError as exc:
        if None not in input_shape:
            raise IlsvrcKerasError(f"{name}: {exc}") from None
        raise IlsvrcKerasError(
            f"{name}: its fully connected layers need one input size, so input_shape cannot leave "
            f"height or width open (None); give it as (H, W, 3) ({exc})") from None
    if weights is not None:
        _load_into(model, name, arch, preset, weights, include_top, new_head)
    return model


def _load_into(model, name, arch, preset, weights, include_top: bool, new_head: bool) -> None:
    """``weights`` (``"imagenet"``: the preset's published file; else a file) into the built ``model``."""
    converter = preset.weights.converter if preset is not None and preset.weights else None
    if weights == "imagenet":
        if preset is None or preset.weights is None:
            relative = published_under(arch)
            hint = (f"; {relative.name} is the published network named after it ({relative.arch})"
                    if relative else "")
            raise WeightsNotFoundError(f"{name}: no ImageNet weights are published for this architecture{hint}; "
                                       "train it (ilsvrc-keras train) or pass a weights file you trained")
        path = _imagenet_file(preset, include_top)
    else:
        path = weights
        if not os.path.isfile(path):
            raise WeightsNotFoundError(f"{name}: weights file {path} does not exist")
    load_weights(model, path, converter, new_head=new_head, arch=arch)


def _imagenet_file(preset, include_top: bool):
    """keras' file with the top where the top is wanted; else its no-top file, or the full file when
    that one is already here (layers load by name, so the classifier's are simply not used)."""
    if include_top:
        return resolve_imagenet_weights(preset, True)
    return (find_local_weights(preset, include_top=False) or find_local_weights(preset, include_top=True)
            or resolve_imagenet_weights(preset, include_top=False))


def _num_classes(num_classes, classes) -> int:
    if num_classes is not None and classes is not None and num_classes != classes:
        raise IlsvrcKerasError(f"num_classes={num_classes} and classes={classes} disagree; give one")
    n = num_classes if num_classes is not None else classes if classes is not None else 1000
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise IlsvrcKerasError(f"num_classes must be a whole number >= 1, not {n!r}")
    return n
