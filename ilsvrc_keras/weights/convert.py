"""PyTorch state dicts (torchvision's, timm's) -> the zoo's Keras layers, by name and shape.

Each family has one name map: a PyTorch module path (``layer2.0.conv1``) -> the Keras layer that
plays its part (``conv3_block1_1_conv``). The arrays are then converted by the Keras layer's kind,
never guessed from shapes:

- ``Conv2D``: ``(out, in/groups, kh, kw)`` (OIHW) -> ``(kh, kw, in/groups, out)`` (HWIO), bias as is;
- ``BatchNormalization``: ``weight, bias, running_mean, running_var`` -> ``gamma, beta, moving_mean,
  moving_variance`` (``num_batches_tracked`` is a counter, not a weight);
- ``Dense``: ``(out, in)`` -> ``(in, out)``; after a ``Flatten`` of a ``(H, W, C)`` map the input axis is
  also reordered from PyTorch's channel-major ``C*H*W`` to Keras' ``H*W*C``.

Every tensor of the file must find its layer and every layer of the model its tensors (the
classifier excepted where a new head is asked for), else one :class:`~ilsvrc_keras.errors.WeightsError`
names what does not fit.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

import numpy as np

from ..errors import WeightsError

# The layers above the feature map (keras.applications' include_top): a file's tensors for them are not used
# by a network built without its top.
_TOP_LAYERS = frozenset({"predictions", "fc1", "fc2", "fc6", "fc7"})
_PARAM = re.compile(r"^(.*)\.(weight|bias|running_mean|running_var|num_batches_tracked)$")


def _resnet(path: str, keys) -> Optional[str]:
    """torchvision's and timm's ResNet, ResNet-D, SE-ResNet and ResNeXt module paths."""
    fixed = {"conv1": "conv1_conv", "bn1": "conv1_bn", "fc": "predictions",
             # timm's deep stem (ResNet-C/D): conv, bn, relu, conv, bn, relu, conv; then bn1.
             "conv1.0": "conv1a_conv", "conv1.1": "conv1a_bn", "conv1.3": "conv1b_conv", "conv1.4": "conv1b_bn",
             "conv1.6": "conv1c_conv"}
    if path == "bn1" and "conv1.0.weight" in keys:
        return "conv1c_bn"  # the deep stem's last bn
    if path in fixed:
        return fixed[path]
    m = re.match(r"^layer(\d)\.(\d+)\.(.+)$", path)
    if not m:
        return None
    block = f"conv{int(m.group(1)) + 1}_block{int(m.group(2)) + 1}"
    part = m.group(3)
    m2 = re.match(r"^(conv|bn)(\d)$", part)
    if m2:
        return f"{block}_{m2.group(2)}_{'conv' if m2.group(1) == 'conv' else 'bn'}"
    # The projection shortcut: (conv, bn), or ResNet-D's (avg pool, conv, bn), told apart by whether the
    # file has a third module in it.
    m2 = re.match(r"^downsample\.(\d)$", part)
    if m2:
        deep = f"{path.rsplit('.', 1)[0]}.2.weight" in keys
        return {(0, False): f"{block}_0_conv", (1, False): f"{block}_0_bn",
                (1, True): f"{block}_0_conv", (2, True): f"{block}_0_bn"}.get((int(m2.group(1)), deep))
    return {"se.fc1": f"{block}_se_reduce", "se.fc2": f"{block}_se_expand"}.get(part)


def _vgg_features(config) -> dict:
    """torchvision's ``features.N`` indices of each VGG convolution (conv, ReLU ... then a max pool)."""
    names, index = {}, 0
    for b, block in enumerate(config, start=1):
        for c in range(1, len(block) + 1):
            names[f"features.{index}"] = f"block{b}_conv{c}"
            index += 2
        index += 1
    return names


def _googlenet_bn(path: str) -> Optional[str]:
    # The builder names each Keras layer after torchvision's module path ('.' -> '_').
    return "predictions" if path == "fc" else path.replace(".", "_")


_ALEXNET_OWT = {"features.0": "conv1", "features.3": "conv2", "features.6": "conv3", "features.8": "conv4",
                "features.10": "conv5", "classifier.1": "fc6", "classifier.4": "fc7", "classifier.6": "predictions"}


def name_map(arch: str, keys=()) -> Callable[[str], Optional[str]]:
    """The PyTorch module path -> Keras layer name function of a zoo architecture (``keys``: the file's
    tensor names, where a family's layout depends on them)."""
    from ..registry import get_spec

    spec = get_spec(arch)
    if spec.family in ("resnet", "resnext", "senet"):
        keys = frozenset(keys)
        return lambda p: _resnet(p, keys)
    if spec.family == "vgg":
        table = {**_vgg_features(spec.builder_kwargs["config"]), "classifier.0": "fc1", "classifier.3": "fc2",
                 "classifier.6": "predictions"}
        return table.get
    if arch == "alexnet_owt":
        return _ALEXNET_OWT.get
    if arch == "googlenet_bn":
        return _googlenet_bn
    raise WeightsError(f"{arch}: no PyTorch checkpoint is published for this architecture, so no PyTorch "
                       "file can be converted to it; give a Keras weights file")


def convert(model, state: dict, arch: str, source: str, keep=frozenset()) -> dict[str, list]:
    """``{keras layer name: [arrays in the layer's weight order]}`` for ``model`` from a PyTorch state
    dict. ``keep``: layer names that may stay as built (a new classifier)."""
    from . import all_layers

    layers = {layer.name: layer for layer in all_layers(model) if layer.weights}
    to_keras = name_map(arch, state)
    grouped: dict[str, dict[str, np.ndarray]] = {}
    unused = []
    for key, array in state.items():
        m = _PARAM.match(key)
        if not m:
            unused.append(key)
            continue
        path, param = m.groups()
        if param == "num_batches_tracked":
            continue
        name = to_keras(path)
        if name is None or name not in layers:
            if path.startswith("aux") or name in keep or name in _TOP_LAYERS:
                continue  # GoogLeNet's training-only side heads; a classifier being replaced; no top built
            unused.append(key)
            continue
        grouped.setdefault(name, {})[param] = np.asarray(array)
    if unused:
        raise WeightsError(f"{source} does not fit model {model.name}: tensors {unused[:4]}"
                           + (" ..." if len(unused) > 4 else "") + " have no layer in it (a checkpoint of another "
                           "network?)")
    missing = sorted(set(layers) - set(grouped) - set(keep))
    if missing:
        raise WeightsError(f"{source} does not fit model {model.name}: no tensors for layers {missing[:5]}"
                           + (" ..." if len(missing) > 5 else "") + " (a checkpoint of another network?)")
    return {name: _arrays(layers[name], params, model, source) for name, params in grouped.items()}


def _arrays(layer, params: dict, model, source: str) -> list:
    kind = type(layer).__name__
    try:
        if kind == "Conv2D":
            out = [params["weight"].transpose(2, 3, 1, 0)]
            return out + ([params["bias"]] if layer.use_bias else [])
        if kind == "BatchNormalization":
            return [params["weight"], params["bias"], params["running_mean"], params["running_var"]]
        if kind == "Dense":
            kernel = params["weight"]
            flat = _flatten_source(layer, model)
            if flat is not None and kernel.shape[1] == int(np.prod(flat)):
                h, w, c = flat  # PyTorch flattens (C, H, W); Keras (H, W, C)
                kernel = kernel.reshape(kernel.shape[0], c, h, w).transpose(0, 2, 3, 1).reshape(kernel.shape[0], -1)
            return [kernel.T] + ([params["bias"]] if layer.use_bias else [])
    except KeyError as exc:
        raise WeightsError(f"{source} does not fit model {model.name}: layer {layer.name} lacks {exc}") from None
    raise WeightsError(f"{source}: no conversion for a {kind} layer ({layer.name})")


def _flatten_source(dense, model):
    """The ``(H, W, C)`` shape a Flatten turns into ``dense``'s input, if one does: in the zoo's builders the
    classifier's first Dense follows its Flatten with only weightless layers (dropout) between."""
    layers = model.layers
    if dense not in layers:
        return None
    for layer in reversed(layers[: layers.index(dense)]):
        if type(layer).__name__ == "Flatten":
            shape = tuple(layer.input.shape[1:])
            return shape if len(shape) == 3 else None
        if layer.weights:
            return None
    return None
