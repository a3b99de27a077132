import pytest

import ilsvrc_keras
from ilsvrc_keras.registry import get_spec

EXPECTED = ["alexnet", "zfnet", "googlenet", "vgg11", "vgg13", "vgg16", "vgg19", "resnet18", "resnet34",
            "resnet50", "resnet101", "resnet152", "resnext50", "seresnet50", "mobilenet_0.25_128",
            "resnet18d", "resnet50d",
            # the published networks that differ from their papers: torchvision's AlexNet, GoogLeNet, ResNet-50
            "alexnet_owt", "googlenet_bn", "resnet50b"]
# Variants whose paper reports no ImageNet figure for them (Bag of Tricks reports ResNet-50-D only).
NOT_REPORTED = {"resnet18d"}


def test_every_milestone_is_registered_oldest_first():
    names = ilsvrc_keras.list_models()
    assert sorted(names) == sorted(EXPECTED)
    years = [get_spec(n).year for n in names]
    assert years == sorted(years)


def test_milestone_years_and_papers():
    assert get_spec("alexnet").year == 2012
    assert get_spec("zfnet").year == 2013
    assert get_spec("googlenet").year == get_spec("vgg16").year == 2014
    assert get_spec("resnet50").year == 2015
    assert get_spec("resnext50").year == 2016
    assert get_spec("seresnet50").year == 2017
    assert "Residual" in get_spec("resnet50").paper
    assert "Squeeze-and-Excitation" in get_spec("seresnet50").paper


@pytest.mark.parametrize("name", EXPECTED)
def test_metadata_is_complete(name):
    spec = get_spec(name)
    assert spec.paper and spec.authors and spec.params > 0
    assert spec.preprocessing in ("caffe", "tf", "torch")
    assert 0.5 < spec.crop_fraction <= 1.0
    assert spec.explain_layer
    reported = spec.reported_top1_error is not None or spec.reported_top5_error is not None
    assert reported != (name in NOT_REPORTED)
    card = spec.card()
    assert card["name"] == name and card["year"] == spec.year


def test_weights_sources():
    from ilsvrc_keras.presets import imagenet_preset

    with_weights = {n for n in EXPECTED if imagenet_preset(n) is not None}
    # every architecture but the papers' AlexNet, ZFNet and GoogLeNet (no one publishes weights for them)
    assert with_weights == set(EXPECTED) - {"alexnet", "zfnet", "googlenet"}
    from ilsvrc_keras.presets import get_preset

    assert get_preset("resnext50").weights.file_name == "resnext50_weights_tf_dim_ordering_tf_kernels.h5"
    assert get_preset("mobilenet_0.25_128").weights.file_name == "mobilenet_2_5_128_tf.h5"
    assert get_preset("resnet34").weights.file_name == "resnet34-b627a593.pth"


def test_unknown_model_suggests_close_names():
    with pytest.raises(ilsvrc_keras.UnknownModelError, match="Did you mean resnet50"):
        get_spec("resnet51")


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "vgg19", "resnet18", "resnet50"])
def test_depth_is_the_papers_count_of_weighted_layers(name):
    """Depth (shown in the app's milestones table) counts convolutions and dense layers on the main path:
    projection shortcuts (keras' `_0_conv`) are not counted, as the papers do not count them."""
    import keras

    from ilsvrc_keras import create_model

    model = create_model(name, num_classes=10)
    weighted = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
                and not layer.name.endswith("_0_conv")]
    assert len(weighted) == get_spec(name).depth


def test_the_zoo_and_its_presets_load_without_tensorflow():
    """The builders are plain Keras 3: importing the zoo, its presets and every family loads neither
    TensorFlow nor Keras (so `ilsvrc-keras models` answers at once, and under another Keras backend the
    same networks build: benchmarks/zoo_backend.py ran them on JAX)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['tensorflow'] = None\n"  # any import of it would fail loudly
            "import ilsvrc_keras.zoo, ilsvrc_keras.presets, ilsvrc_keras.models, ilsvrc_keras.transforms\n"
            "p = ilsvrc_keras.presets.get_preset('resnet50')\n"
            "print(p.size, p.normalization.name, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["224", "caffe", "False"]
