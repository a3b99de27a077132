"""GoogLeNet (Inception v1, ILSVRC 2014 winner), as in the paper: no batch normalization, LRN
in the stem, and the two auxiliary classifiers available for training."""

from .._lazy import layers
from ..registry import register
from .common import classifier, finish, model_input

# (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection) per module: the paper's table 1.
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(x, filters, kernel, name, stride=1):
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", activation="relu", name=name)(x)


def inception(x, name):
    b1, r3, b3, r5, b5, pp = INCEPTION[name]
    p = f"inception_{name}"
    branch1 = _conv(x, b1, 1, f"{p}_1x1")
    branch3 = _conv(_conv(x, r3, 1, f"{p}_3x3_reduce"), b3, 3, f"{p}_3x3")
    branch5 = _conv(_conv(x, r5, 1, f"{p}_5x5_reduce"), b5, 5, f"{p}_5x5")
    pool = layers.MaxPooling2D(3, 1, padding="same", name=f"{p}_pool")(x)
    branch_pool = _conv(pool, pp, 1, f"{p}_pool_proj")
    return layers.Concatenate(name=p)([branch1, branch3, branch5, branch_pool])


def auxiliary_classifier(x, num_classes, name, activation="softmax"):
    """The paper's side head: 5x5/3 average pool, 1x1x128, fc 1024, 70% dropout, softmax."""
    x = layers.AveragePooling2D(5, 3, name=f"{name}_pool")(x)
    x = _conv(x, 128, 1, f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return classifier(x, num_classes, activation, name=f"{name}_predictions")


@register(
    name="googlenet",
    depth=22,
    family="googlenet",
    year=2014,
    paper="Going Deeper with Convolutions",
    authors="Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke, Rabinovich",
    input_size=224,
    params=6_998_552,
    preprocessing="torch",
    reported_top5_error=10.07,
    reported_note="one model, one crop, validation (paper's table 3); the 7-model, 144-crop entry "
    "won 2014 with 6.67% top-5 on test",
    explain_layer="inception_5b",
    min_input_size=64,
)
def googlenet(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
        classifier_activation="softmax", dropout=0.4, aux_logits=False):
    """GoogLeNet. With ``aux_logits=True`` the model has three outputs ``[main, aux1, aux2]``
    (the paper weights the auxiliary losses by 0.3 during training); inference uses the first."""
    from .layers import LocalResponseNormalization

    x, inputs = model_input(input_shape, input_tensor)
    x = _conv(x, 64, 7, "conv1_7x7", stride=2)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
    x = LocalResponseNormalization(name="norm1")(x)
    x = _conv(x, 64, 1, "conv2_3x3_reduce")
    x = _conv(x, 192, 3, "conv2_3x3")
    x = LocalResponseNormalization(name="norm2")(x)
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool2")(x)
    x = inception(inception(x, "3a"), "3b")
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool3")(x)
    aux = []
    for name in ("4a", "4b", "4c", "4d", "4e"):
        x = inception(x, name)
        if aux_logits and include_top and name in ("4a", "4d"):
            aux.append(auxiliary_classifier(x, num_classes, f"aux{len(aux) + 1}", classifier_activation))
    x = layers.MaxPooling2D(3, 2, padding="same", name="pool4")(x)
    x = inception(inception(x, "5a"), "5b")

    def top(x):
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Dropout(dropout, name="dropout")(x)

    return finish(inputs, x, "googlenet", top=top, extra=aux, **dict(include_top=include_top, pooling=pooling, num_classes=num_classes,
                  classifier_activation=classifier_activation))


# --- GoogLeNet with batch normalization, as torchvision builds it --------------------------------------------

# BatchNorm's epsilon in torchvision's GoogLeNet (its weights were ported from TensorFlow-Slim's Inception v1).
_BN_EPSILON = 1e-3


def _conv_bn(x, filters, kernel, name, stride=1):
    """torchvision's ``BasicConv2d``: convolution without bias, batch norm, ReLU. Layers are named after
    torchvision's module paths (``inception3a.branch2.1.conv``), so its weights map one to one."""
    if kernel > 1:
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    x = layers.Conv2D(filters, kernel, strides=stride, use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=0.9, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def _ceil_max_pool(x, pool, stride, name):
    """PyTorch's ``MaxPool2d(ceil_mode=True)``: pad the bottom and right by ``stride - 1`` then pool
    without padding. The padding is zeros, which is exact here: the inputs follow a ReLU (>= 0)."""
    x = layers.ZeroPadding2D(((0, stride - 1), (0, stride - 1)), name=f"{name}_pad")(x)
    return layers.MaxPooling2D(pool, stride, name=name)(x)


def _inception_bn(x, name):
    b1, r3, b3, r5, b5, pp = INCEPTION[name[-2:]]
    branch1 = _conv_bn(x, b1, 1, f"{name}_branch1")
    branch2 = _conv_bn(_conv_bn(x, r3, 1, f"{name}_branch2_0"), b3, 3, f"{name}_branch2_1")
    # torchvision's "5x5" branch is a 3x3 convolution (a known slip kept for its published weights).
    branch3 = _conv_bn(_conv_bn(x, r5, 1, f"{name}_branch3_0"), b5, 3, f"{name}_branch3_1")
    pool = layers.MaxPooling2D(3, 1, padding="same", name=f"{name}_branch4_pool")(x)
    branch4 = _conv_bn(pool, pp, 1, f"{name}_branch4_1")
    return layers.Concatenate(name=name)([branch1, branch2, branch3, branch4])


@register(
    name="googlenet_bn",
    depth=22,
    family="googlenet",
    year=2015,
    paper="Going Deeper with Convolutions, with Batch Normalization (Ioffe & Szegedy 2015) as TensorFlow-Slim's "
    "Inception v1",
    authors="Szegedy et al.; Ioffe, Szegedy",
    input_size=224,
    params=6_639_464,
    preprocessing="tf",
    reported_top1_error=30.2,
    reported_top5_error=10.4,
    reported_note="TensorFlow-Slim's Inception v1 checkpoint, 224 px single crop, validation (its model table)",
    explain_layer="inception5b",
    min_input_size=32,
)
def googlenet_bn(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
                 classifier_activation="softmax", dropout=0.2):
    """GoogLeNet as torchvision builds it: every convolution followed by batch normalization, no local
    response normalization, 3x3 convolutions in the "5x5" branches, PyTorch's ceil-mode max pooling,
    dropout 0.2. torchvision's published weights expect inputs scaled to [-1, 1] (its
    ``transform_input`` undoes the ImageNet normalization inside the network): the preset says so.
    The auxiliary classifiers of the checkpoint are training-only and are not built."""
    x, inputs = model_input(input_shape, input_tensor)
    x = _conv_bn(x, 64, 7, "conv1", stride=2)
    x = _ceil_max_pool(x, 3, 2, "maxpool1")
    x = _conv_bn(x, 64, 1, "conv2")
    x = _conv_bn(x, 192, 3, "conv3")
    x = _ceil_max_pool(x, 3, 2, "maxpool2")
    x = _inception_bn(_inception_bn(x, "inception3a"), "inception3b")
    x = _ceil_max_pool(x, 3, 2, "maxpool3")
    for name in ("4a", "4b", "4c", "4d", "4e"):
        x = _inception_bn(x, f"inception{name}")
    x = _ceil_max_pool(x, 2, 2, "maxpool4")
    x = _inception_bn(_inception_bn(x, "inception5a"), "inception5b")

    def top(x):
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Dropout(dropout, name="dropout")(x)

    return finish(inputs, x, "googlenet_bn", top=top, include_top=include_top, pooling=pooling,
                  num_classes=num_classes, classifier_activation=classifier_activation)
