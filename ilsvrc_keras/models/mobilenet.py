"""MobileNet v1 (Howard et al. 2017) at width 0.25 and 128 px: not an ILSVRC milestone, but the
small network whose real ImageNet weights every offline test uses. Built by keras itself."""

from .._lazy import keras
from ..registry import register


@register(
    name="mobilenet_0.25_128",
    depth=28,
    family="mobilenet",
    year=2017,
    paper="MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
    authors="Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam",
    input_size=128,
    params=475_544,
    crop_fraction=128 / 146,
    preprocessing="tf",
    reported_top1_error=58.5,
    reported_note="alpha 0.25 at 128 px, single crop, validation (41.5% top-1 accuracy)",
    explain_layer="conv_pw_13_relu",
)
def mobilenet(input_shape, num_classes=1000, include_top=True, *, input_tensor=None, pooling=None,
        classifier_activation="softmax", alpha=0.25, dropout=1e-3):
    # keras.applications' own builder takes the same arguments.
    return keras.applications.MobileNet(
        input_shape=tuple(input_shape), alpha=alpha, include_top=include_top, weights=None,
        input_tensor=input_tensor, pooling=pooling, classes=num_classes, dropout=dropout,
        classifier_activation=classifier_activation,
    )
