"""ZFNet (Zeiler & Fergus, ILSVRC 2013): AlexNet with a 7x7 stride-2 first layer and stride-2 conv2."""

from .._lazy import layers
from ..registry import register
from .common import finish, fully_connected, model_input


@register(
    name="zfnet",
    depth=8,
    family="zfnet",
    year=2013,
    paper="Visualizing and Understanding Convolutional Networks",
    authors="Zeiler, Fergus",
    input_size=224,
    params=62_357_608,
    preprocessing="caffe",
    reported_top1_error=38.4,
    reported_top5_error=16.5,
    reported_note="one model, ILSVRC-2012 validation; an ensemble of 6 scored 14.8% top-5 on test",
    explain_layer="conv5",
    min_input_size=64,
)
def zfnet(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
        classifier_activation="softmax", dropout=0.5):
    """ZFNet: feature maps 110 -> 55 -> 26 -> 13 -> 6 at 224 px, as in the paper's figure 3."""
    from .layers import LocalResponseNormalization

    x, inputs = model_input(input_shape, input_tensor)
    x = layers.ZeroPadding2D(1, name="conv1_pad")(x)
    x = layers.Conv2D(96, 7, strides=2, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
    x = LocalResponseNormalization(name="norm1")(x)
    x = layers.Conv2D(256, 5, strides=2, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool2")(x)
    x = LocalResponseNormalization(name="norm2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, 2, name="pool5")(x)
    return finish(inputs, x, "zfnet", top=fully_connected(dropout), **dict(include_top=include_top, pooling=pooling, num_classes=num_classes,
                  classifier_activation=classifier_activation))
