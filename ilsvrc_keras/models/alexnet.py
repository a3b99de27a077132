"""AlexNet (ILSVRC 2012 winner), single-tower form with local response normalization."""

from .._lazy import layers
from ..registry import register
from .common import finish, fully_connected, model_input


def _conv(x, filters, kernel, stride, padding, name):
    return layers.Conv2D(filters, kernel, strides=stride, padding=padding, activation="relu", name=name)(x)


@register(
    name="alexnet",
    depth=8,
    family="alexnet",
    year=2012,
    paper="ImageNet Classification with Deep Convolutional Neural Networks",
    authors="Krizhevsky, Sutskever, Hinton",
    input_size=227,
    params=62_378_344,
    crop_fraction=227 / 256,
    preprocessing="caffe",
    reported_top1_error=40.7,
    reported_top5_error=18.2,
    reported_note="one CNN, ILSVRC-2012 validation; the winning 7-CNN entry scored 15.3% top-5 on test",
    explain_layer="conv5",
    min_input_size=67,
)
def alexnet(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
        classifier_activation="softmax", dropout=0.5):
    """AlexNet as one tower: the paper's two GPU halves joined, so conv2/4/5 see all channels."""
    from .layers import LocalResponseNormalization

    x, inputs = model_input(input_shape, input_tensor)
    x = _conv(x, 96, 11, 4, "valid", "conv1")
    x = LocalResponseNormalization(name="norm1")(x)
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = _conv(x, 256, 5, 1, "same", "conv2")
    x = LocalResponseNormalization(name="norm2")(x)
    x = layers.MaxPooling2D(3, 2, name="pool2")(x)
    x = _conv(x, 384, 3, 1, "same", "conv3")
    x = _conv(x, 384, 3, 1, "same", "conv4")
    x = _conv(x, 256, 3, 1, "same", "conv5")
    x = layers.MaxPooling2D(3, 2, name="pool5")(x)
    return finish(inputs, x, "alexnet", top=fully_connected(dropout), **dict(include_top=include_top, pooling=pooling, num_classes=num_classes,
                  classifier_activation=classifier_activation))
