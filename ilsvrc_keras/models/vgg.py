"""VGG (Simonyan & Zisserman, ILSVRC 2014 runner-up): configurations A, B, D and E.

Layer names follow ``keras.applications.vgg16`` so that keras' published ImageNet weights load.
"""

from .._lazy import layers
from ..registry import register
from .common import finish, fully_connected, model_input

# Filters per block: each entry is one 3x3 convolution; a max pool closes every block.
CONFIGS = {
    "vgg11": [[64], [128], [256, 256], [512, 512], [512, 512]],
    "vgg13": [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    "vgg16": [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    "vgg19": [[64, 64], [128, 128], [256] * 4, [512] * 4, [512] * 4],
}



def vgg(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
        classifier_activation="softmax", config, name, dropout=0.5):
    """One VGG builder for every configuration; ``config`` lists the filters of each block."""
    x, inputs = model_input(input_shape, input_tensor)
    for b, block in enumerate(config, start=1):
        for c, filters in enumerate(block, start=1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D(2, 2, name=f"block{b}_pool")(x)

    return finish(inputs, x, name, top=fully_connected(dropout, ("fc1", "fc2")), include_top=include_top,
                  pooling=pooling, num_classes=num_classes, classifier_activation=classifier_activation)


_COMMON = dict(
    family="vgg",
    year=2014,
    paper="Very Deep Convolutional Networks for Large-Scale Image Recognition",
    authors="Simonyan, Zisserman",
    input_size=224,
    preprocessing="caffe",
)

for _name, _params, _top1, _top5, _note in [
    ("vgg11", 132_863_336, 29.6, 10.4, "config A, one net, single scale, validation"),
    ("vgg13", 133_047_848, 28.7, 9.9, "config B, one net, single scale, validation"),
    ("vgg16", 138_357_544, 24.4, 7.2, "config D, one net, multi-crop & dense, validation; "
     "the 2-net ensemble scored 6.8% top-5 on test"),
    ("vgg19", 143_667_240, 24.4, 7.1, "config E, one net, multi-crop & dense, validation"),
]:
    _config = CONFIGS[_name]
    register(
        name=_name,
        depth=int(_name[3:]),
        params=_params,
        reported_top1_error=_top1,
        reported_top5_error=_top5,
        reported_note=_note,
        builder_kwargs={"config": _config, "name": _name},
        explain_layer=f"block5_conv{len(_config[-1])}",
        **_COMMON,
    )(vgg)
