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


@register(
    name="alexnet_owt",
    depth=8,
    family="alexnet",
    year=2014,
    paper="One weird trick for parallelizing convolutional neural networks",
    authors="Krizhevsky",
    input_size=224,
    params=61_100_840,
    crop_fraction=0.875,
    preprocessing="torch",
    reported_top1_error=42.33,
    reported_note="one GPU, batch 128, 90 epochs, validation (the paper's table 1); top-5 not reported",
    explain_layer="conv5",
    min_input_size=63,
)
def alexnet_owt(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
                classifier_activation="softmax", dropout=0.5):
    """AlexNet as torchvision builds it: the one-tower network of "One weird trick" (64-192-384-256-256
    filters, no local response normalization), adaptive average pooling to 6x6 before the fully
    connected layers so that any size of at least 63 px works, and dropout before each of them."""
    x, inputs = model_input(input_shape, input_tensor)
    # PyTorch's padding=2 on both sides (Keras' "same" would pad by a different amount at stride 4).
    x = layers.ZeroPadding2D(2, name="conv1_pad")(x)
    x = _conv(x, 64, 11, 4, "valid", "conv1")
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    x = _conv(x, 192, 5, 1, "same", "conv2")
    x = layers.MaxPooling2D(3, 2, name="pool2")(x)
    x = _conv(x, 384, 3, 1, "same", "conv3")
    x = _conv(x, 256, 3, 1, "same", "conv4")
    x = _conv(x, 256, 3, 1, "same", "conv5")
    x = layers.MaxPooling2D(3, 2, name="pool5")(x)

    def top(x):
        x = layers.AdaptiveAveragePooling2D((6, 6), name="avg_pool")(x)
        x = layers.Flatten(name="flatten")(x)
        for name in ("fc6", "fc7"):  # torchvision's order: dropout, then the layer
            x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
            x = layers.Dense(4096, activation="relu", name=name)(x)
        return x

    return finish(inputs, x, "alexnet_owt", top=top, include_top=include_top, pooling=pooling,
                  num_classes=num_classes, classifier_activation=classifier_activation)
