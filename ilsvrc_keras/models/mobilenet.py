"""MobileNet v1 (Howard et al. 2017) at width 0.25 and 128 px: not an ILSVRC milestone, but the
small network whose real ImageNet weights every offline test uses. Built by keras itself."""

from .._lazy import keras
from ..registry import WeightsSource, register

_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"


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
    weights=WeightsSource(
        url=_URL + "mobilenet_2_5_128_tf.h5", file_name="mobilenet_2_5_128_tf.h5",
        notop_url=_URL + "mobilenet_2_5_128_tf_no_top.h5", notop_file_name="mobilenet_2_5_128_tf_no_top.h5",
    ),
    explain_layer="conv_pw_13_relu",
)
def mobilenet(input_shape, num_classes, include_top, alpha=0.25, dropout=1e-3):
    return keras.applications.MobileNet(
        input_shape=tuple(input_shape), alpha=alpha, include_top=include_top, weights=None,
        classes=num_classes, dropout=dropout,
    )
