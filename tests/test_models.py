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
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="num_classes=1000"):
        ilsvrc_keras.create_model("resnet50", weights="imagenet", num_classes=10)
