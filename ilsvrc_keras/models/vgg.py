"""VGG (Simonyan & Zisserman, ILSVRC 2014 runner-up): configurations A, B, D and E.

Layer names follow ``keras.applications.vgg16`` so that keras' published ImageNet weights load.
"""

from .._lazy import keras, layers
from ..registry import WeightsSource, register
from .common import classifier, model_input

# Filters per block: each entry is one 3x3 convolution; a max pool closes every block.
CONFIGS = {
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "vgg16": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "vgg19": [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
}

_KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/"


def _keras_weights(name):
    file_name = f"{name}_weights_tf_dim_ordering_tf_kernels.h5"
    notop = f"{name}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    return WeightsSource(
        url=f"{_KERAS}{name}/{file_name}", file_name=file_name,
        notop_url=f"{_KERAS}{name}/{notop}", notop_file_name=notop,
    )


def vgg(input_shape, num_classes, include_top, *, config, name, dropout=0.5):
    """One VGG builder for every configuration; ``config`` lists the filters of each block."""
    inputs = model_input(input_shape)
    x = inputs
    for b, block in enumerate(config, start=1):
        for c, filters in enumerate(block, start=1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D(2, 2, name=f"block{b}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        for fc in ("fc1", "fc2"):
            x = layers.Dense(4096, activation="relu", name=fc)(x)
            # The paper trains with dropout here; keras' inference-only builder omits it (no weights).
            x = layers.Dropout(dropout, name=f"{fc}_dropout")(x)
        x = classifier(x, num_classes)
    return keras.Model(inputs, x, name=name)


_COMMON = dict(
    family="vgg",
    year=2014,
    paper="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Simonyan, Zisserman",
    input_size=224,
    preprocessing="caffe",
)

for _name, _params, _top1, _top5, _note, _weights in [
    ("vgg11", 132_863_336, 29.6, 10.4, "config A, one net, single scale, validation", None),
    ("vgg13", 133_047_848, 28.7, 9.9, "config B, one net, single scale, validation", None),
    ("vgg16", 138_357_544, 24.4, 7.2, "config D, one net, multi-crop & dense, validation; "
     "the 2-net ensemble scored 6.8% top-5 on test", _keras_weights("vgg16")),
    ("vgg19", 143_667_240, 24.4, 7.1, "config E, one net, multi-crop & dense, validation",
     _keras_weights("vgg19")),
]:
    _config = CONFIGS[_name]
    register(
        name=_name,
        depth=int(_name[3:]),
        params=_params,
        reported_top1_error=_top1,
        reported_top5_error=_top5,
        reported_note=_note,
        weights=_weights,
        builder_kwargs={"config": _config, "name": _name},
        explain_layer=f"block5_conv{len(_config[-1])}",
        **_COMMON,
    )(vgg)
