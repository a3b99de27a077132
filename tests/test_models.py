"""Every architecture builds, runs forward and has the parameter count of its paper / reference."""

import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras.registry import get_spec

from test_registry import EXPECTED

# Reference counts, from outside this project: keras.applications' documented totals (which
# include BatchNorm moving statistics) and torchvision/timm's trainable counts.
KERAS_TOTAL = {"vgg16": 138_357_544, "vgg19": 143_667_240, "resnet50": 25_636_712,
               "resnet101": 44_707_176, "resnet152": 60_419_944}
TRAINABLE = {"vgg11": 132_863_336, "vgg13": 133_047_848, "resnet18": 11_689_512, "resnet34": 21_797_672,
             "resnext50": 25_028_904, "seresnet50": 28_088_024}


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", EXPECTED)
def test_builds_and_runs_forward_at_a_small_size(name):
    spec = get_spec(name)
    size = max(64, spec.min_input_size)
    model = ilsvrc_keras.create_model(name, num_classes=7, input_shape=(size, size, 3))
    x = np.random.default_rng(0).normal(size=(2, size, size, 3)).astype("float32")
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, 7)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    model.get_layer(spec.explain_layer)  # the layer localization explains exists
    features = ilsvrc_keras.create_model(name, include_top=False, input_shape=(size, size, 3))
    assert len(features.output_shape) == 4


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPECTED)
def test_parameter_count_at_1000_classes(name):
    model = ilsvrc_keras.create_model(name)
    total = model.count_params()
    assert total == get_spec(name).params  # the registry states the truth
    if name in KERAS_TOTAL:
        assert total == KERAS_TOTAL[name]
    if name in TRAINABLE:
        assert _trainable(model) == TRAINABLE[name]
    if name == "googlenet":
        assert 6.6e6 <= total <= 7.0e6
    if name in ("alexnet", "zfnet"):  # single-tower AlexNet: 62.4M in the literature
        assert 62.3e6 <= total <= 62.4e6


def test_googlenet_auxiliary_classifiers_for_training():
    model = ilsvrc_keras.create_model("googlenet", num_classes=5, aux_logits=True)
    assert [tuple(o.shape) for o in model.outputs] == [(None, 5)] * 3
    inference = ilsvrc_keras.create_model("googlenet", num_classes=5)
    assert len(inference.outputs) == 1
    aux_params = model.count_params() - inference.count_params()
    assert aux_params > 4e6  # two fc-1024 heads


def test_resnext_uses_32_groups_and_seresnet_squeeze_excitation():
    m = ilsvrc_keras.create_model("resnext50", num_classes=3, input_shape=(64, 64, 3))
    conv = m.get_layer("conv2_block1_2_conv")
    assert conv.groups == 32 and conv.filters == 128
    se = ilsvrc_keras.create_model("seresnet50", num_classes=3, input_shape=(64, 64, 3))
    assert se.get_layer("conv2_block1_se_reduce").filters == 256 // 16


def test_too_small_or_malformed_input_is_a_clear_error():
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="too small"):
        ilsvrc_keras.create_model("alexnet", input_shape=(32, 32, 3))
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="height, width, 3"):
        ilsvrc_keras.create_model("resnet18", input_shape=(64, 64))


# --- keras.applications' arguments, for every family -----------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_keras_applications_arguments(name):
    """include_top=False with pooling gives a 2-D output and classifier_activation=None gives logits, for
    every family: what a keras.applications user types first."""
    spec = get_spec(name)
    size = max(64, spec.min_input_size)
    shape = (size, size, 3)
    pooled = ilsvrc_keras.create_model(name, include_top=False, pooling="avg", input_shape=shape)
    assert len(pooled.output_shape) == 2 and pooled.output_shape[-1] >= 256
    logits = ilsvrc_keras.create_model(name, num_classes=7, classifier_activation=None, input_shape=shape)
    x = np.random.default_rng(1).uniform(0, 1, size=(2, *shape)).astype("float32")
    z = np.asarray(logits(x, training=False))
    assert z.shape == (2, 7) and not np.allclose(z.sum(axis=1), 1.0)


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "mobilenet_0.25_128"])
def test_max_pooling_and_the_softmax_are_what_they_say(name):
    """pooling="max" is the feature map's maximum; the default head is the softmax of the logits head
    (same weights); keras' `classes` is an alias of num_classes."""
    shape = (64, 64, 3)
    features = ilsvrc_keras.create_model(name, include_top=False, input_shape=shape)
    maxed = ilsvrc_keras.create_model(name, include_top=False, pooling="max", input_shape=shape)
    maxed.set_weights(features.get_weights())
    x = np.random.default_rng(1).uniform(0, 1, size=(2, *shape)).astype("float32")
    np.testing.assert_allclose(np.asarray(maxed(x, training=False)),
                               np.asarray(features(x, training=False)).max(axis=(1, 2)), rtol=1e-4, atol=1e-5)
    logits = ilsvrc_keras.create_model(name, num_classes=7, classifier_activation=None, input_shape=shape)
    probs = ilsvrc_keras.create_model(name, classes=7, input_shape=shape)
    probs.set_weights(logits.get_weights())
    np.testing.assert_allclose(np.asarray(probs(x, training=False)), _softmax(np.asarray(logits(x, training=False))),
                               rtol=1e-4, atol=1e-6)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_input_tensor_builds_on_another_models_tensor():
    import keras

    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    model = ilsvrc_keras.create_model("resnet18", input_tensor=x, include_top=False, pooling="avg")
    assert model.inputs[0] is inputs and model.output_shape == (None, 512)


def test_unknown_or_contradictory_arguments_are_named():
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="foo") as info:
        ilsvrc_keras.create_model("vgg11", foo=1)
    assert "dropout" in str(info.value)  # and what it does take
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="depths"):
        ilsvrc_keras.create_model("resnet18", depths=(1, 1, 1, 1))  # fixed by the registry entry
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="pooling"):
        ilsvrc_keras.create_model("resnet18", include_top=False, pooling="mean")
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="disagree"):
        ilsvrc_keras.create_model("resnet18", num_classes=5, classes=6)
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="num_classes"):
        ilsvrc_keras.create_model("resnet18", num_classes=0)


def test_pretrained_backbone_with_a_new_head(mobilenet_weights):
    """weights + another num_classes: every backbone layer keeps its ImageNet weights, the classifier
    is new (as timm's and keras-hub's num_classes do)."""
    imagenet = ilsvrc_keras.create_model("mobilenet_0.25_128", weights=mobilenet_weights)
    five = ilsvrc_keras.create_model("mobilenet_0.25_128", weights=mobilenet_weights, num_classes=5,
                                     classifier_activation=None)
    assert five.output_shape == (None, 5)
    compared = 0
    for layer in five.layers:
        if not layer.weights:
            continue
        ours, theirs = layer.get_weights(), imagenet.get_layer(layer.name).get_weights()
        if layer.name == "conv_preds":
            assert ours[0].shape[-1] == 5 and theirs[0].shape[-1] == 1000
            continue
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
        compared += 1
    assert compared == len([layer for layer in imagenet.layers if layer.weights]) - 1


def test_resnet_d_stem_and_average_pooled_shortcuts():
    m = ilsvrc_keras.create_model("resnet18d", num_classes=3, input_shape=(64, 64, 3))
    assert [m.get_layer(f"conv1{c}_conv").kernel_size for c in "abc"] == [(3, 3)] * 3
    assert m.get_layer("conv3_block1_0_pool").pool_size == (2, 2)
    assert m.get_layer("conv3_block1_0_conv").strides == (1, 1)  # the projection no longer skips pixels
    assert m.get_layer("conv3_block1_1_conv").strides == (2, 2)  # ResNet-B: the stride in the 3x3


def test_local_response_normalization_is_the_papers_in_keras_ops():
    """AlexNet's LRN, written in keras.ops (so the zoo builds on any Keras backend), equals TensorFlow's
    kernel; under mixed precision it computes in float32 and hands back the layer's dtype."""
    import keras
    import tensorflow as tf

    from ilsvrc_keras.models.layers import LocalResponseNormalization

    x = np.random.default_rng(0).normal(size=(2, 7, 5, 96)).astype("float32") * 3
    ours = np.asarray(LocalResponseNormalization()(x))
    ref = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    half = LocalResponseNormalization(dtype="mixed_float16")(keras.ops.convert_to_tensor(x, "float16"))
    assert half.dtype == "float16"
    np.testing.assert_allclose(np.asarray(half, np.float32), ref, rtol=2e-3, atol=2e-3)


@pytest.mark.slow
def test_xresnet_pieces_mish_and_max_blur_pool():
    """create_model's activation= and stem_pool= (XResNet's Mish and MaxBlurPool) change the computation and
    not the weights: the same weights give other outputs, and BlurPool2D is the binomial filter, subsampled."""
    import keras

    from ilsvrc_keras.models.layers import BlurPool2D

    plain = ilsvrc_keras.create_model("resnet18d", num_classes=4, input_shape=(64, 64, 3))
    x = ilsvrc_keras.create_model("resnet18d", num_classes=4, input_shape=(64, 64, 3), activation="mish",
                                  stem_pool="maxblur")
    assert [w.shape for w in x.weights] == [w.shape for w in plain.weights]
    x.set_weights(plain.get_weights())
    image = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype("float32")
    assert not np.allclose(x(image), plain(image), atol=1e-4)
    assert x.get_layer("conv1a_relu").activation is keras.activations.mish
    assert x.get_layer("pool1_blur").output.shape == plain.get_layer("pool1_pool").output.shape
    # An impulse comes out as the filter (subsampled: its even rows and columns); a constant stays constant.
    impulse = np.zeros((1, 7, 7, 2), "float32")
    impulse[0, 2, 2, :] = 16.0
    out = np.asarray(BlurPool2D(2)(impulse))[0, :, :, 0]
    np.testing.assert_allclose(out[:3, :3], [[0, 0, 0], [0, 4, 0], [0, 0, 0]], atol=1e-6)
    np.testing.assert_allclose(np.asarray(BlurPool2D(2)(np.full((1, 8, 8, 3), 5.0, "float32"))), 5.0, atol=1e-5)
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="stem_pool must be one of max, maxblur"):
        ilsvrc_keras.create_model("resnet18d", stem_pool="avg")


@pytest.mark.slow
def test_squeeze_excitation_option_gates_each_residual_branch():
    """create_model(se_ratio=R) puts SENet's channel gate on every block's residual branch: with the gate held
    open (sigmoid near 1) the network computes what the same weights compute without it, and closed it does
    not; SE-ResNet-50's own ratio is overridden the same way, and a network without residual blocks refuses it."""
    plain = ilsvrc_keras.create_model("resnet18d", num_classes=4, input_shape=(64, 64, 3))
    se = ilsvrc_keras.create_model("resnet18d", num_classes=4, input_shape=(64, 64, 3), se_ratio=16)
    reduces = [layer for layer in se.layers if layer.name.endswith("_se_reduce")]
    assert len(reduces) == 8 and [r.filters for r in reduces[::2]] == [4, 8, 16, 32]  # 64..512 channels / 16
    for layer in plain.layers:
        weights = layer.get_weights()
        if layer.name.endswith("_2_bn"):
            weights[0][:] = 1.0  # zero-init gammas would leave every branch, gated or not, at zero
        layer.set_weights(weights)
        se.get_layer(layer.name).set_weights(weights)
    image = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype("float32")
    for bias, same in ((30.0, True), (-30.0, False)):
        for layer in se.layers:
            if layer.name.endswith("_se_expand"):
                kernel, b = layer.get_weights()
                layer.set_weights([np.zeros_like(kernel), np.full_like(b, bias)])
        assert np.allclose(se(image), plain(image), atol=1e-4) == same
    seresnet = ilsvrc_keras.create_model("seresnet50", weights=None, se_ratio=8, input_shape=(64, 64, 3))
    assert seresnet.get_layer("conv2_block1_se_reduce").filters == 256 // 8
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="unknown argument.*se_ratio"):
        ilsvrc_keras.create_model("vgg11", se_ratio=16)
