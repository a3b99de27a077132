"""ResNet (ILSVRC 2015), ResNeXt (2016) and SE-ResNet (SENet, ILSVRC 2017): one residual builder.

The three families differ only in their block: basic or bottleneck, grouped 3x3 convolution
(ResNeXt's cardinality), squeeze-and-excitation, and where the stride sits. Layer names follow
``keras.applications.resnet`` (``conv2_block1_1_conv`` ...) so that keras' published ImageNet
weights (ResNet-50/101/152 and the ResNeXt-50 file keras stores) load by name.
"""

import functools

from .._lazy import keras, layers
from ..registry import register
from .common import finish, model_input

BN_EPSILON = 1.001e-5  # keras.applications' value; the published weights were trained with it
# Moving-average momentum of the BatchNorm statistics: PyTorch's 0.1 in Keras' convention. Keras'
# default 0.99 needs thousands of steps before the inference statistics are usable, which makes
# short runs (fine-tuning, CPU training) look broken for epochs. It is not a weight: keras' files load.
BN_MOMENTUM = 0.9


def conv_bn(x, filters, kernel, stride, name, *, use_bias=False, groups=1, relu=True, zero_gamma=False,
            bn_epsilon=BN_EPSILON, activation="relu"):
    if kernel > 1:
        # Explicit symmetric padding: "same" pads bottom/right only at stride 2, unlike the papers.
        x = layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    # He initialization (fan-out), as the ResNet paper; keras' default (Glorot) starts deep
    # residual stacks with outputs so large that the first epochs are lost to loss spikes.
    x = layers.Conv2D(filters, kernel, strides=stride, groups=groups, use_bias=use_bias, name=f"{name}_conv",
                      kernel_initializer=keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal"))(x)
    # zero_gamma: the last BatchNorm of a residual branch starts at 0, so that every block starts
    # as the identity (Goyal et al. 2017); a weights file overrides it like any other weight.
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=bn_epsilon, name=f"{name}_bn",
                                  gamma_initializer="zeros" if zero_gamma else "ones")(x)
    # The layer keeps keras.applications' name whatever the activation: it has no weights to load.
    return layers.Activation(activation, name=f"{name}_relu")(x) if relu else x


def squeeze_excite(x, ratio, name):
    """SENet's channel attention: global pool, bottleneck of C/ratio, sigmoid gate per channel."""
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_squeeze")(x)
    s = layers.Conv2D(max(1, channels // ratio), 1, activation="relu", name=f"{name}_se_reduce")(s)
    s = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_se_expand")(s)
    return layers.Multiply(name=f"{name}_se_scale")([x, s])


def _residual(x, shortcut, out_channels, stride, name, use_bias, avg_down=False, bn_epsilon=BN_EPSILON,
              activation="relu"):
    if stride != 1 or shortcut.shape[-1] != out_channels:
        if avg_down and stride != 1:
            # ResNet-D (He et al. 2019, "Bag of Tricks"): average-pool, then a stride-1 projection, so the
            # shortcut sees every input pixel instead of one in four.
            shortcut = layers.AveragePooling2D(stride, stride, padding="same", name=f"{name}_0_pool")(shortcut)
            stride = 1
        shortcut = conv_bn(shortcut, out_channels, 1, stride, f"{name}_0", use_bias=use_bias, relu=False,
                           bn_epsilon=bn_epsilon)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation(activation, name=f"{name}_out")(x)


def basic_block(x, width, stride, name, *, use_bias=False, avg_down=False, bn_epsilon=BN_EPSILON,
                activation="relu", se_ratio=None):
    """Two 3x3 convolutions (ResNet-18/34), optional squeeze-and-excitation."""
    y = conv_bn(x, width, 3, stride, f"{name}_1", use_bias=use_bias, bn_epsilon=bn_epsilon, activation=activation)
    y = conv_bn(y, width, 3, 1, f"{name}_2", use_bias=use_bias, relu=False, zero_gamma=True, bn_epsilon=bn_epsilon)
    if se_ratio:
        y = squeeze_excite(y, se_ratio, name)
    return _residual(y, x, width, stride, name, use_bias, avg_down, bn_epsilon, activation)


def bottleneck_block(x, width, stride, name, *, expansion=4, groups=1, se_ratio=None,
                     stride_in_1x1=False, use_bias=False, avg_down=False, bn_epsilon=BN_EPSILON, activation="relu"):
    """1x1 reduce, 3x3 (grouped for ResNeXt), 1x1 expand, optional squeeze-and-excitation."""
    s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
    eps = dict(use_bias=use_bias, bn_epsilon=bn_epsilon)
    y = conv_bn(x, width, 1, s1, f"{name}_1", activation=activation, **eps)
    y = conv_bn(y, width, 3, s3, f"{name}_2", groups=groups, activation=activation, **eps)
    y = conv_bn(y, width * expansion, 1, 1, f"{name}_3", relu=False, zero_gamma=True, **eps)
    if se_ratio:
        y = squeeze_excite(y, se_ratio, name)
    return _residual(y, x, width * expansion, stride, name, use_bias, avg_down, bn_epsilon, activation)


STEM_POOLS = ("max", "maxblur")


def resnet(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
           classifier_activation="softmax", name, block, depths, widths=(64, 128, 256, 512), use_bias=False,
           stem="7x7", dropout=0.0, bn_epsilon=BN_EPSILON, activation="relu", stem_pool="max", se_ratio=0,
           **block_kwargs):
    """The residual network skeleton: a stem (the paper's 7x7, or ResNet-C's three 3x3 convolutions,
    ``stem="deep"``), four stages of ``depths`` blocks, global pooling. ``activation``: any Keras activation
    (``"mish"``: XResNet's); ``stem_pool="maxblur"``: the stem's max pool at stride 1 then an anti-aliased
    subsampling (:class:`~ilsvrc_keras.models.layers.BlurPool2D`), as XResNet. Neither changes the weights, so
    published files still load. ``se_ratio``: squeeze-and-excitation (SENet) in every block, its bottleneck
    ``channels / se_ratio`` wide (XSE-ResNeXt's 16; 0: the architecture's own, none for ResNet); it adds
    weights, so it is for training from scratch."""
    from ..checks import check
    from ..errors import ArgumentError
    from .layers import BlurPool2D

    check("se_ratio", se_ratio)
    if se_ratio:
        block_kwargs["se_ratio"] = se_ratio  # over a block's own (SE-ResNet's 16), as functools.partial allows

    if stem_pool not in STEM_POOLS:
        raise ArgumentError(f"stem_pool must be one of {', '.join(STEM_POOLS)}, not {stem_pool!r}")
    keras.activations.get(activation)  # an unknown name fails here, by Keras' own message
    x, inputs = model_input(input_shape, input_tensor)
    if stem == "deep":
        for i, filters in enumerate((32, 32, 64)):
            x = conv_bn(x, filters, 3, 2 if i == 0 else 1, f"conv1{'abc'[i]}", use_bias=use_bias,
                        bn_epsilon=bn_epsilon, activation=activation)
    else:
        x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
        x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv",
                          kernel_initializer=keras.initializers.VarianceScaling(2.0, "fan_out", "truncated_normal"))(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=bn_epsilon, name="conv1_bn")(x)
        x = layers.Activation(activation, name="conv1_relu")(x)
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    if stem_pool == "maxblur":
        x = layers.MaxPooling2D(3, 1, name="pool1_pool")(x)
        x = BlurPool2D(2, name="pool1_blur")(x)
    else:
        x = layers.MaxPooling2D(3, 2, name="pool1_pool")(x)
    for stage, (depth, width) in enumerate(zip(depths, widths)):
        for i in range(depth):
            stride = 2 if (i == 0 and stage > 0) else 1
            x = block(x, width, stride, f"conv{stage + 2}_block{i + 1}", use_bias=use_bias, bn_epsilon=bn_epsilon,
                      activation=activation, **block_kwargs)

    def top(x):
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        return layers.Dropout(dropout, name="dropout")(x) if dropout else x

    return finish(inputs, x, name, top=top, include_top=include_top, pooling=pooling, num_classes=num_classes,
                  classifier_activation=classifier_activation)


_RESNET = dict(family="resnet", year=2015, paper="Deep Residual Learning for Image Recognition",
               authors="He, Zhang, Ren, Sun", input_size=224)
# PyTorch's BatchNorm epsilon: the networks whose published weights were trained in PyTorch (torchvision,
# timm) use it, so that their converted weights give PyTorch's outputs exactly.
TORCH_BN_EPSILON = 1e-5
_TABLE3 = "10-crop, ILSVRC-2012 validation (paper's table 3); the 2015 ensemble scored 3.57% top-5 on test"

register(name="resnet18", depth=18, params=11_699_112, reported_top1_error=27.88,
         reported_note="10-crop, validation (paper's table 2); top-5 not reported",
         preprocessing="torch", explain_layer="conv5_block2_out",
         builder_kwargs=dict(name="resnet18", block=basic_block, depths=(2, 2, 2, 2),
                             bn_epsilon=TORCH_BN_EPSILON), **_RESNET)(resnet)
register(name="resnet34", depth=34, params=21_814_696, reported_top1_error=24.52, reported_top5_error=7.46,
         reported_note="option B shortcuts, " + _TABLE3, preprocessing="torch",
         explain_layer="conv5_block3_out",
         builder_kwargs=dict(name="resnet34", block=basic_block, depths=(3, 4, 6, 3),
                             bn_epsilon=TORCH_BN_EPSILON), **_RESNET)(resnet)

# keras' ResNet-50/101/152: biases on every convolution and the stride in the first 1x1 (Caffe style).
_keras_resnet = functools.partial(bottleneck_block, stride_in_1x1=True)
for _name, _depths, _params, _top1, _top5 in [
    ("resnet50", (3, 4, 6, 3), 25_636_712, 22.85, 6.71),
    ("resnet101", (3, 4, 23, 3), 44_707_176, 21.75, 6.05),
    ("resnet152", (3, 8, 36, 3), 60_419_944, 21.43, 5.71),
]:
    register(name=_name, depth=int(_name[6:]), params=_params, reported_top1_error=_top1, reported_top5_error=_top5,
             reported_note=_TABLE3, preprocessing="caffe", explain_layer="conv5_block3_out",
             builder_kwargs=dict(name=_name, block=_keras_resnet, depths=_depths, use_bias=True, bn_epsilon=BN_EPSILON),
             **_RESNET)(resnet)

# ResNet-50 as torchvision and timm build it ("v1.5", the "Bag of Tricks" paper's ResNet-B): the stride on
# the 3x3 convolution instead of the first 1x1, no convolution biases. fb.resnet.torch introduced it; its
# published weights (torchvision's two, timm's many) are this network, not the paper's.
register(name="resnet50b", depth=50, family="resnet", year=2016, paper="Training and investigating Residual Nets "
         "(fb.resnet.torch; named ResNet-B in 'Bag of Tricks', 2019)", authors="Gross, Wilber",
         input_size=224, params=25_610_152, reported_top1_error=24.01, reported_top5_error=7.02,
         reported_note="224 px single crop, validation (fb.resnet.torch's table)", preprocessing="torch",
         explain_layer="conv5_block3_out",
         builder_kwargs=dict(name="resnet50b", block=bottleneck_block, depths=(3, 4, 6, 3),
                             bn_epsilon=TORCH_BN_EPSILON))(resnet)

register(
    name="resnext50", depth=50, family="resnext", year=2016,
    paper="Aggregated Residual Transformations for Deep Neural Networks",
    authors="Xie, Girshick, Dollar, Tu, He", input_size=224, params=25_097_128,
    reported_top1_error=22.2, reported_note="32x4d, 224 px single crop, validation; top-5 not reported",
    preprocessing="torch", explain_layer="conv5_block3_out",
    builder_kwargs=dict(name="resnext50", block=functools.partial(bottleneck_block, groups=32, expansion=2),
                        depths=(3, 4, 6, 3), widths=(128, 256, 512, 1024), bn_epsilon=BN_EPSILON),
)(resnet)

register(
    name="seresnet50", depth=50, family="senet", year=2017, paper="Squeeze-and-Excitation Networks",
    authors="Hu, Shen, Sun", input_size=224, params=28_141_144,
    reported_top1_error=23.29, reported_top5_error=6.62,
    reported_note="224 px single crop, validation; the SENet ensemble won 2017 with 2.251% top-5 on test",
    preprocessing="torch", explain_layer="conv5_block3_out",
    builder_kwargs=dict(name="seresnet50", block=functools.partial(bottleneck_block, se_ratio=16),
                        depths=(3, 4, 6, 3), bn_epsilon=TORCH_BN_EPSILON),
)(resnet)

# ResNet-D (He, Zhang, Zhang, Xie, Xie, Li 2019): the "Bag of Tricks" tweaks on ResNet-B -- a deep 3x3
# stem (ResNet-C) and average-pooled downsampling shortcuts (ResNet-D). Not an ILSVRC entry: the
# stronger trunk the Imagenette recipe trains from scratch; timm publishes ImageNet weights for both.
_RESNET_D = dict(family="resnet", year=2019, paper="Bag of Tricks for Image Classification with Convolutional "
                 "Neural Networks", authors="He, Zhang, Zhang, Xie, Xie, Li", input_size=224, preprocessing="torch",
                 explain_layer="conv5_block2_out")
register(name="resnet18d", depth=18, params=11_718_472,
         reported_note="the paper reports ResNet-50-D only", **_RESNET_D,
         builder_kwargs=dict(name="resnet18d", block=basic_block, depths=(2, 2, 2, 2), stem="deep", avg_down=True,
                             bn_epsilon=TORCH_BN_EPSILON))(resnet)
register(name="resnet50d", depth=50, params=25_629_512, reported_top1_error=22.84, reported_top5_error=6.48,
         reported_note="224 px single crop, validation (paper's table 5, model tweaks alone)",
         **{**_RESNET_D, "explain_layer": "conv5_block3_out"},
         builder_kwargs=dict(name="resnet50d", block=bottleneck_block, depths=(3, 4, 6, 3), stem="deep",
                             avg_down=True, bn_epsilon=TORCH_BN_EPSILON))(resnet)
