"""Weight resolution (env dir -> keras cache -> download, offline errors) and keras compatibility:
keras.applications' published files load into the zoo's networks by layer name."""

import re

import h5py
import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras.weights import find_local_weights, resolve_imagenet_weights


def _save_legacy_h5(model, path):
    """Write weights the way keras.applications' published files are laid out (legacy HDF5)."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def _same_outputs(a, b, size):
    x = np.random.default_rng(1).uniform(-1, 1, size=(2, size, size, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(a(x, training=False)), np.asarray(b(x, training=False)),
                               rtol=1e-4, atol=1e-5)


def _randomize_bn(model):
    # Fresh BatchNorm statistics are 0/1 and would hide a wrong mapping: make them distinct.
    rng = np.random.default_rng(2)
    for layer in model.layers:
        if layer.__class__.__name__ == "BatchNormalization":
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in layer.get_weights()])


@pytest.mark.parametrize("ours,keras_builder", [
    ("resnet50", "ResNet50"), ("vgg16", "VGG16"), ("resnet101", "ResNet101"),
])
def test_keras_application_weights_load_by_name(tmp_path, ours, keras_builder):
    import keras

    size = 64
    reference = getattr(keras.applications, keras_builder)(weights=None, input_shape=(size, size, 3), classes=10)
    _randomize_bn(reference)
    path = tmp_path / "keras.h5"
    _save_legacy_h5(reference, path)
    model = ilsvrc_keras.create_model(ours, weights=path, num_classes=10, input_shape=(size, size, 3))
    _same_outputs(model, reference, size)


def _old_keras_resnext50(size, classes):
    """keras-applications 1.0.8's ResNeXt-50: the grouped 3x3 as DepthwiseConv2D + group sum."""
    import keras
    from keras import layers

    def block3(x, filters, stride=1, groups=32, conv_shortcut=True, name=None):
        if conv_shortcut:
            shortcut = layers.Conv2D(2 * filters, 1, strides=stride, use_bias=False, name=name + "_0_conv")(x)
            shortcut = layers.BatchNormalization(epsilon=1.001e-5, name=name + "_0_bn")(shortcut)
        else:
            shortcut = x
        x = layers.Conv2D(filters, 1, use_bias=False, name=name + "_1_conv")(x)
        x = layers.BatchNormalization(epsilon=1.001e-5, name=name + "_1_bn")(x)
        x = layers.Activation("relu")(x)
        c = filters // groups
        x = layers.ZeroPadding2D(1)(x)
        x = layers.DepthwiseConv2D(3, strides=stride, depth_multiplier=c, use_bias=False, name=name + "_2_conv")(x)
        hw = tuple(x.shape[1:3])
        x = layers.Reshape(hw + (groups, c, c))(x)
        x = layers.Lambda(lambda t: sum(t[:, :, :, :, i] for i in range(c)))(x)
        x = layers.Reshape(hw + (filters,))(x)
        x = layers.BatchNormalization(epsilon=1.001e-5, name=name + "_2_bn")(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2D(2 * filters, 1, use_bias=False, name=name + "_3_conv")(x)
        x = layers.BatchNormalization(epsilon=1.001e-5, name=name + "_3_bn")(x)
        return layers.Activation("relu")(layers.Add()([shortcut, x]))

    inputs = keras.Input((size, size, 3))
    x = layers.ZeroPadding2D(3)(inputs)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.MaxPooling2D(3, 2)(layers.ZeroPadding2D(1)(layers.Activation("relu")(x)))
    for stage, (filters, blocks) in enumerate([(128, 3), (256, 4), (512, 6), (1024, 3)]):
        name = f"conv{stage + 2}"
        x = block3(x, filters, stride=1 if stage == 0 else 2, name=name + "_block1")
        for i in range(2, blocks + 1):
            x = block3(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(classes, activation="softmax", name="predictions")(x))


def test_resnext50_loads_keras_depthwise_layout(tmp_path):
    size = 64
    reference = _old_keras_resnext50(size, 10)
    _randomize_bn(reference)
    path = tmp_path / "resnext50_weights_tf_dim_ordering_tf_kernels.h5"
    _save_legacy_h5(reference, path)
    model = ilsvrc_keras.create_model("resnext50", weights=path, num_classes=10, input_shape=(size, size, 3))
    _same_outputs(model, reference, size)


def test_env_dir_then_keras_cache(tmp_path, monkeypatch):
    from ilsvrc_keras.presets import get_preset

    spec = get_preset("resnet50")
    env_dir, home = tmp_path / "env", tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    env_dir.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(env_dir))
    assert find_local_weights(spec) is None
    cached = home / "models" / spec.weights.file_name
    cached.write_bytes(b"x")
    assert resolve_imagenet_weights(spec) == cached
    preferred = env_dir / spec.weights.file_name
    preferred.write_bytes(b"x")
    assert resolve_imagenet_weights(spec) == preferred
    notop = env_dir / spec.weights.notop_file_name
    notop.write_bytes(b"x")
    assert resolve_imagenet_weights(spec, include_top=False) == notop


def test_offline_missing_weights_name_the_file_and_place(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("ILSVRC_KERAS_WEIGHTS_DIR", raising=False)
    with pytest.raises(ilsvrc_keras.WeightsNotFoundError) as err:
        ilsvrc_keras.create_model("resnet50", weights="imagenet")
    msg = str(err.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in msg and "ILSVRC_KERAS_WEIGHTS_DIR" in msg
    with pytest.raises(ilsvrc_keras.WeightsNotFoundError, match="no ImageNet weights are published"):
        ilsvrc_keras.create_model("alexnet", weights="imagenet")


def test_shared_mobilenet_weights_found_through_env_dir(mobilenet_weights, monkeypatch):
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(mobilenet_weights.parent))
    model = ilsvrc_keras.create_model("mobilenet_0.25_128", weights="imagenet")
    import keras

    reference = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=str(mobilenet_weights))
    for a, b in zip(model.weights, reference.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_weights_that_do_not_fit_are_a_clear_error(mobilenet_weights, tmp_path):
    with pytest.raises(ilsvrc_keras.WeightsError, match="does not fit"):
        ilsvrc_keras.create_model("resnet18", weights=mobilenet_weights)
    with pytest.raises(ilsvrc_keras.WeightsNotFoundError, match="does not exist"):
        ilsvrc_keras.create_model("resnet18", weights=tmp_path / "nope.h5")


def test_a_keras_file_of_another_network_is_one_error_without_warnings(tmp_path):
    """A Keras 3 weights file saved from another architecture (or other options: squeeze-and-excitation) is one
    error naming how many layers found nothing and the first of them, not a warning per layer before it."""
    import warnings

    file = tmp_path / "r18.weights.h5"
    ilsvrc_keras.create_model("resnet18", input_shape=(64, 64, 3)).save_weights(file)
    for other, options, first in (("resnet34", {}, "conv2_block3_1_conv"),
                                  ("resnet18", {"se_ratio": 16}, "conv2_block1_se_reduce")):
        with warnings.catch_warnings(record=True) as heard:
            warnings.simplefilter("always")
            with pytest.raises(ilsvrc_keras.WeightsError) as err:
                ilsvrc_keras.create_model(other, weights=file, input_shape=(64, 64, 3), **options)
        message = str(err.value)
        assert message.startswith(f"r18.weights.h5 does not fit model {other}: ") and f"(the first: {first})" in message
        assert re.search(r": \d+ of the model's layers find no weights in the file", message)
        assert not [w for w in heard if "Skipping" in str(w.message)]


def test_a_keras_file_loads_under_a_new_head_even_from_a_fresh_network(tmp_path):
    """With another number of classes every layer but the classifier comes from the file, also when the file
    holds what a fresh network holds (BatchNorm's ones and zeros); a misfit is one error and leaves the network
    it was loading into as it was."""
    from ilsvrc_keras.weights import load_weights

    file = tmp_path / "fresh.weights.h5"
    source = ilsvrc_keras.create_model("resnet18", input_shape=(64, 64, 3))
    source.save_weights(file)
    five = ilsvrc_keras.create_model("resnet18", weights=file, input_shape=(64, 64, 3), num_classes=5)
    for layer in source.layers:
        if layer.weights and layer.name != "predictions":
            for a, b in zip(layer.get_weights(), five.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(a, b)
    assert five.get_layer("predictions").get_weights()[0].shape == (512, 5)
    other = ilsvrc_keras.create_model("resnet34", input_shape=(64, 64, 3), num_classes=5)
    kept = other.get_weights()
    with pytest.raises(ilsvrc_keras.WeightsError, match=r"resnet34: 58 of .*\(the first: conv2_block3_1_conv\)"):
        load_weights(other, file, new_head=True)
    for a, b in zip(kept, other.get_weights()):
        np.testing.assert_array_equal(a, b)
