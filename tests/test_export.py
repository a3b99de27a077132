"""Presets, the load cache, the default network, and exports that take raw pixels: the exported
SavedModel and TFLite files, fed center crops as uint8, answer as classify() does."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras.discovery import default_model
from ilsvrc_keras.model_folder import save_folder
from ilsvrc_keras.presets import get_preset, list_presets
from ilsvrc_keras.transforms import NORMALIZATIONS, EvalTransform

from conftest import ROOT, flower_subset
from conftest import cli as _cli
from conftest import cli_env as _env

DEPLOY = ROOT / "docs" / "deploy_tflite.py"


def _val_photos(val_sample, n=20):
    return sorted((val_sample / "images").glob("*.JPEG"))[:n]


# --- presets and normalization ------------------------------------------------------------------------------


def test_presets_are_apart_from_architectures():
    assert get_preset("resnet50") is get_preset("resnet50.keras_in1k")
    assert list_presets("resnet50") == ["resnet50.keras_in1k", "resnet50.tv2_in1k", "resnet50.tv_in1k"]
    p = get_preset("resnext50")
    assert (p.arch, p.normalization.name, p.weights.converter) == ("resnext50", "torch", "keras_resnext")
    assert get_preset("zfnet").weights is None  # no published weights: the paper's preprocessing, untrained
    with pytest.raises(ilsvrc_keras.UnknownModelError, match="no preset 'timm_in1k'"):
        get_preset("resnet50.timm_in1k")
    with pytest.raises(ilsvrc_keras.UnknownModelError, match="Did you mean resnet50"):
        get_preset("resnet51")


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_normalization_numbers_layer_and_keras_agree(mode):
    """The numbers, the Keras layer that exports carry, and keras.applications' preprocess_input agree."""
    from keras.applications import imagenet_utils

    pixels = np.random.default_rng(0).integers(0, 256, size=(2, 8, 8, 3)).astype("uint8")
    norm = NORMALIZATIONS[mode]
    expected = imagenet_utils.preprocess_input(pixels.astype("float32"), mode=mode)
    np.testing.assert_allclose(np.asarray(norm(pixels)), expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(np.asarray(norm.layer()(pixels)), expected, rtol=1e-5, atol=1e-4)


def test_a_second_preset_loads_its_own_weights(mobilenet_weights, tmp_path, monkeypatch):
    """One register_preset entry adds a set of weights for an architecture; load("arch.tag") uses that
    preset's file and numbers, not the architecture's default preset's."""
    from ilsvrc_keras.presets import Preset, WeightsSource, register_preset

    (tmp_path / "other.h5").symlink_to(mobilenet_weights)
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(tmp_path))
    register_preset(Preset("mobilenet_0.25_128", "test_copy", 128, 0.75, "tf",
                           weights=WeightsSource("https://example.invalid/other.h5", "other.h5")))
    clf = ilsvrc_keras.load("mobilenet_0.25_128.test_copy")
    assert clf.transform.crop_fraction == 0.75 and get_preset("mobilenet_0.25_128").name.endswith("keras_in1k")
    reference = ilsvrc_keras.load("mobilenet_0.25_128", weights=mobilenet_weights)
    for a, b in zip(clf.model.get_weights(), reference.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# --- the load cache and model folders -------------------------------------------------------------------


def test_load_notices_a_rewritten_folder(mobilenet_weights, tmp_path):
    folder = tmp_path / "m"
    transform = get_preset("mobilenet_0.25_128").transform()
    first = ilsvrc_keras.create_model("mobilenet_0.25_128", weights=mobilenet_weights, num_classes=2,
                                      classifier_activation=None)
    save_folder(folder, first, ["cat", "dog"], transform, outputs="logits")
    a = ilsvrc_keras.load(folder)
    assert ilsvrc_keras.load(folder) is a  # cached while the folder is unchanged
    second = ilsvrc_keras.create_model("mobilenet_0.25_128", weights=mobilenet_weights, num_classes=3,
                                       classifier_activation=None)
    save_folder(folder, second, ["ant", "bee", "cow"], transform, outputs="logits")
    b = ilsvrc_keras.load(folder)
    assert b is not a and [lab for lab, _ in b.class_labels] == ["ant", "bee", "cow"]
    assert b.model.output_shape == (None, 3)
    probs = b.predict([np.full((50, 60, 3), 128, np.uint8)])
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-5)  # logits folder: the classifier applies softmax


def test_weights_for_a_folder_is_an_error_not_ignored(mobilenet_weights, tmp_path):
    net = ilsvrc_keras.create_model("mobilenet_0.25_128", num_classes=2)
    save_folder(tmp_path / "m", net, ["a", "b"], get_preset("mobilenet_0.25_128").transform())
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="model folder with its own weights"):
        ilsvrc_keras.load(tmp_path / "m", weights=mobilenet_weights)


# --- the default network -----------------------------------------------------------------------------------


def test_default_network_is_the_strongest_available(monkeypatch, tmp_path, mobilenet_weights):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(mobilenet_weights.parent))
    assert default_model()[0] == "mobilenet_0.25_128"  # the only one here
    (tmp_path / "home" / "models").mkdir(parents=True)
    for name in ("vgg16", "resnet50"):
        (tmp_path / "home" / "models" / get_preset(name).weights.file_name).write_bytes(b"")
    name, why = default_model()
    assert name == "resnet50" and "on this machine" in why  # 22.85% top-1 error beats VGG-16's 24.4%
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "nothing"))
    name, why = default_model(offline=False)
    assert name == "resnet50" and "downloads" in why  # never silently the 0.5M-parameter MobileNet
    name, why = default_model(offline=True)  # nothing here and no downloads: the network inside the package
    assert name == "mobilenet_0.25_128" and "inside the package" in why
    from matplotlib import cbook

    from ilsvrc_keras.weights import find_local_weights, hash_matches

    path = find_local_weights(get_preset(name))
    assert path.parent.name == "embedded" and hash_matches(path, get_preset(name).weights.file_hash)
    hopper = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)  # matplotlib's public-domain photo
    assert "military uniform" in [p.name for p in ilsvrc_keras.classify(hopper, model=name, top=5)]


@pytest.mark.slow
def test_cli_says_which_default_network_it_chose(val_sample, mobilenet_weights, tmp_path):
    photo = _val_photos(val_sample, 1)[0]
    p = subprocess.run(_cli("classify", photo, "--top", "1", "--json"), capture_output=True, text=True,
                       env=_env(ILSVRC_KERAS_WEIGHTS_DIR=str(mobilenet_weights.parent), KERAS_HOME=str(tmp_path)),
                       timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "model: mobilenet_0.25_128 (the strongest network whose ImageNet weights are on this machine" in p.stderr
    assert json.loads(p.stdout)["results"][0]["predictions"]


# --- exports -------------------------------------------------------------------------------------------------


def _deploy_module():
    """docs/deploy_tflite.py as a module: its center crop is the documented way to feed an export."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("deploy_tflite", DEPLOY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _deploy(model_path, photos) -> list:
    """The top-1 label of each photo from docs/deploy_tflite.py: the documented consumer, run as a user would."""
    p = subprocess.run([sys.executable, str(DEPLOY), str(model_path), *map(str, photos)], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert p.returncode == 0, p.stderr[-3000:]
    return [json.loads(line)["top"][0]["label"] for line in p.stdout.splitlines()]


def _saved_model_top1(path, clf, photos) -> list:
    """The SavedModel fed uint8 center crops (the same crop as docs/deploy_tflite.py)."""
    import tensorflow as tf

    center_crop = _deploy_module().center_crop
    meta = json.loads((path / "labels.json").read_text())
    size, shorter = meta["input"]["center_crop"], meta["input"]["resize_shorter_side_to"]
    batch = np.stack([center_crop(p, size, shorter) for p in photos])
    loaded = tf.saved_model.load(str(path))  # kept: its variables die with the object
    probs = np.asarray(loaded.serve(tf.constant(batch)))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-4)
    return [meta["classes"][i]["label"] for i in probs.argmax(axis=1)]


def _agreement(a, b) -> int:
    return sum(x == y for x, y in zip(a, b, strict=True))


@pytest.mark.slow
def test_exported_pretrained_network_answers_like_classify(val_sample, mobilenet, mobilenet_weights, tmp_path):
    photos = _val_photos(val_sample)
    expected = [r[0].label for r in mobilenet.classify(photos, top=1)]
    tflite = ilsvrc_keras.export("mobilenet_0.25_128", tmp_path / "mobilenet.tflite", format="tflite",
                                 weights=mobilenet_weights)
    assert tflite["input"]["dtype"] == "uint8" and tflite["input"]["resize_shorter_side_to"] == 146
    assert _agreement(_deploy(tflite["path"], photos), expected) >= 19
    saved = ilsvrc_keras.export(mobilenet, tmp_path / "savedmodel")
    assert _agreement(_saved_model_top1(tmp_path / "savedmodel", mobilenet, photos), expected) >= 19
    assert saved["output"]["meaning"] == "probabilities"


@pytest.mark.slow
def test_exported_fine_tuned_folder_answers_like_classify(flowers, mobilenet_weights, tmp_path):
    data = flower_subset(flowers, tmp_path / "data", ("daisy", "sunflower"), 30)
    result = ilsvrc_keras.fine_tune(data, model="mobilenet_0.25_128", weights=mobilenet_weights,
                                    out=tmp_path / "ft", head_epochs=10, head_lr=0.01, epochs=1, lr=1e-4, batch_size=8,
                                    progress=False,
                                    export=["tflite", "savedmodel"])
    folder = tmp_path / "ft"
    assert json.loads((folder / "preprocessing.json").read_text())["network"]["outputs"] == "logits"
    photos = sorted(p for d in ("daisy", "sunflower") for p in (data / d).iterdir())[::3][:20]
    clf = ilsvrc_keras.load(folder)
    expected = [r[0].label for r in clf.classify(photos, top=1)]
    assert result.val_accuracy > 0.75  # a network that has learnt the flowers, so that its answers are not ties
    assert _agreement(_deploy(result.paths["tflite"], photos), expected) >= 19
    assert _agreement(_saved_model_top1(folder / "savedmodel", clf, photos), expected) >= 19


@pytest.mark.slow
def test_a_model_folder_holds_a_keras_model_a_user_can_call(flowers, mobilenet, mobilenet_weights, tmp_path):
    """model.keras takes pixels and answers probabilities, as classify() does: for a fine-tuned folder and for
    a zoo network saved with save_folder. The library still runs the network inside it (logits)."""
    import keras

    data = flower_subset(flowers, tmp_path / "data", ("daisy", "tulip"), 8)
    ilsvrc_keras.fine_tune(data, model="mobilenet_0.25_128", weights=mobilenet_weights, out=tmp_path / "ft",
                           head_epochs=1, epochs=0, batch_size=8, progress=False)
    save_folder(tmp_path / "zoo", mobilenet.model, [label for label, _ in mobilenet.class_labels], mobilenet.transform,
                outputs=mobilenet.outputs)
    photos = sorted((data / "daisy").iterdir())[:3] + sorted((data / "tulip").iterdir())[:3]
    for folder in (tmp_path / "ft", tmp_path / "zoo"):
        clf = ilsvrc_keras.load(folder)
        expected = clf.predict(photos)
        pixels = np.stack([clf.transform.crop(ilsvrc_keras.load_image(p)).numpy() for p in photos])
        users = keras.models.load_model(folder / "model.keras")
        assert users.input.dtype == "float32" and users.output.shape == (None, clf.num_classes)
        np.testing.assert_allclose(users.predict(pixels, verbose=0), expected, atol=1e-3)
        assert np.allclose(users.predict(pixels, verbose=0).sum(axis=1), 1.0, atol=1e-4)  # probabilities
        uint8 = users.predict(np.round(pixels).astype(np.uint8), verbose=0)  # as a user's PIL crop gives them
        assert (uint8.argmax(1) == expected.argmax(1)).all()
    assert ilsvrc_keras.load(tmp_path / "ft").outputs == "logits"  # the library's own view: the network's logits


@pytest.mark.slow
def test_onnx_export_answers_like_classify(val_sample, mobilenet, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="the [onnx] extra is not installed (requirements-test.txt has it)")
    center_crop = _deploy_module().center_crop
    photos = _val_photos(val_sample)
    expected = [r[0].label for r in mobilenet.classify(photos, top=1)]
    out = ilsvrc_keras.export(mobilenet, tmp_path / "m.onnx", format="onnx")
    session = ort.InferenceSession(out["path"])
    assert session.get_inputs()[0].type == "tensor(uint8)"
    batch = np.stack([center_crop(p, 128, out["input"]["resize_shorter_side_to"]) for p in photos])
    probs = session.run(None, {session.get_inputs()[0].name: batch})[0]
    labels = [c["label"] for c in json.loads((tmp_path / "m.labels.json").read_text())["classes"]]
    assert _agreement([labels[i] for i in probs.argmax(axis=1)], expected) >= 19


@pytest.mark.slow
def test_export_cli_and_its_errors(mobilenet_weights, tmp_path):
    env = _env(ILSVRC_KERAS_WEIGHTS_DIR=str(mobilenet_weights.parent), KERAS_HOME=str(tmp_path))
    p = subprocess.run(_cli("export", tmp_path / "m.tflite", "--model", "mobilenet_0.25_128", "--format", "tflite",
                            "--json"), capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    out = json.loads(p.stdout)
    assert out["path"] == str(tmp_path / "m.tflite") and (tmp_path / "m.tflite").stat().st_size > 100_000
    assert len(json.loads((tmp_path / "m.labels.json").read_text())["classes"]) == 1000
    (tmp_path / "dir").mkdir()
    p = subprocess.run(_cli("export", tmp_path / "dir", "--model", "mobilenet_0.25_128", "--format", "tflite",
                            "--json"), capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 2 and "is a folder" in json.loads(p.stdout)["error"]["message"]
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="unknown export format"):
        ilsvrc_keras.export("mobilenet_0.25_128", tmp_path / "x", format="coreml")


def test_export_a_keras_model_with_a_preset(tmp_path):
    import tensorflow as tf

    net = ilsvrc_keras.create_model("resnet18", num_classes=3, input_shape=(64, 64, 3), classifier_activation=None)
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="preset="):
        ilsvrc_keras.export(net, tmp_path / "sm")
    ilsvrc_keras.export(net, tmp_path / "sm", preset="resnet18", class_names=["a", "b", "c"])
    pixels = np.random.default_rng(0).integers(0, 256, size=(2, 64, 64, 3)).astype("uint8")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    served = np.asarray(loaded.serve(tf.constant(pixels)))
    direct = tf.nn.softmax(net(EvalTransform(64, 0.875, "torch").normalize(pixels), training=False)).numpy()
    np.testing.assert_allclose(served, direct, rtol=1e-4, atol=1e-5)
