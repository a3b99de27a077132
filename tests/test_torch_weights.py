"""PyTorch-world checkpoints (torchvision's .pth, timm's .safetensors) load into the zoo exactly, without
PyTorch, and a checkpoint that carries code is refused without running it.

Parity: ``tests/fixtures/torch/<arch>.npz`` holds the logits the publisher's own model (torchvision or timm)
gave for fixed inputs with seeded weights (``tests/fixtures/torch/make_fixtures.py``). Here the same
weights are rebuilt with NumPy, written in the publisher's file format, loaded through the preset, and the
zoo's logits must agree within 1e-4 of their scale.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras.presets import get_preset, list_presets
from ilsvrc_keras.weights.torch_files import file_format, read_pth

FIXTURES = Path(__file__).parent / "fixtures" / "torch"
sys.path.insert(0, str(Path(__file__).parent / "helpers"))
import torch_format  # noqa: E402

# The zoo architecture of each fixture and the preset whose preprocessing it checks.
PARITY = {
    "alexnet_owt": "alexnet.tv_in1k", "googlenet_bn": "googlenet.tv_in1k", "vgg11": "vgg11.tv_in1k",
    "vgg13": "vgg13.tv_in1k", "vgg16": "vgg16.tv_in1k", "resnet18": "resnet18.tv_in1k",
    "resnet34": "resnet34.tv_in1k", "resnet50b": "resnet50.tv2_in1k", "seresnet50": "seresnet50.ra2_in1k",
    "resnet18d": "resnet18d.ra4_e3600_r224_in1k", "resnet50d": "resnet50d.ra4_e3600_r224_in1k",
}


def _fixture(arch):
    data = np.load(FIXTURES / f"{arch}.npz")
    return data["logits"], json.loads(str(data["meta"]))


def _publisher_file(arch, tmp_path) -> Path:
    """The fixture's seeded weights, in the publisher's own format and file name."""
    _, meta = _fixture(arch)
    state = torch_format.random_state(meta["spec"])
    preset = get_preset(PARITY[arch])
    path = tmp_path / preset.weights.file_name
    if meta["format"] == "pth":
        torch_format.write_pth(path, state)
    else:
        from safetensors.numpy import save_file

        save_file(state, str(path))
    return path


@pytest.mark.parametrize("arch", sorted(PARITY))
def test_published_layout_gives_the_publishers_logits(arch, tmp_path):
    expected, meta = _fixture(arch)
    path = _publisher_file(arch, tmp_path)
    preset = get_preset(PARITY[arch])
    assert preset.arch == arch and preset.size == meta["size"]
    # The preset's normalization is the publisher's (for GoogLeNet, after its transform_input).
    model = ilsvrc_keras.create_model(PARITY[arch], weights=path, classifier_activation=None)
    x = np.asarray(preset.normalization(torch_format.inputs(meta["size"])))
    got = np.asarray(model(x, training=False))
    scale = np.abs(expected).max()
    assert np.abs(got - expected).max() / scale < 1e-4, (np.abs(got - expected).max(), scale)
    assert (got.argmax(-1) == expected.argmax(-1)).all()


def test_load_takes_publisher_files_offline(tmp_path):
    """ilsvrc_keras.load(preset, weights=<torchvision .pth | timm .safetensors>): a Classifier whose
    probabilities are the softmax of the publisher's logits."""
    for arch in ("resnet18", "resnet50d"):
        expected, meta = _fixture(arch)
        path = _publisher_file(arch, tmp_path)
        clf = ilsvrc_keras.load(PARITY[arch], weights=path)
        assert clf.name == PARITY[arch] and clf.num_classes == 1000
        x = np.asarray(get_preset(PARITY[arch]).normalization(torch_format.inputs(meta["size"])))
        probs = clf.predict_batch(x)
        assert (probs.argmax(-1) == expected.argmax(-1)).all()


def test_weights_dir_serves_the_published_file_name(tmp_path, monkeypatch):
    path = _publisher_file("resnet18", tmp_path)
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(tmp_path))
    model = ilsvrc_keras.create_model("resnet18.tv_in1k", weights="imagenet", include_top=False, pooling="avg")
    assert model.output_shape == (None, 512)
    # a new head on published weights: 10 classes, the backbone from the file
    ten = ilsvrc_keras.create_model("resnet34.tv_in1k", weights=_publisher_file("resnet34", tmp_path),
                                    num_classes=10, input_shape=(64, 64, 3))
    assert ten.output_shape == (None, 10)
    assert path.name == "resnet18-f37072fd.pth"


# --- the .pth reader on files torch.save wrote ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["state_zip.pth", "state_legacy.pth"])
def test_pth_reader_reads_both_torch_layouts(name):
    expected = np.load(FIXTURES / "state_expected.npz")
    got = read_pth(FIXTURES / name)
    assert sorted(got) == sorted(expected.files)
    for key in expected.files:
        np.testing.assert_array_equal(np.asarray(got[key], expected[key].dtype), expected[key], err_msg=key)
    assert got["half"].dtype == np.float16 and got["bf16"].dtype == np.float32  # bfloat16 widened exactly
    assert got["transposed"].shape == (4, 3)  # a strided view rebuilt with its strides


def test_checkpoint_carrying_code_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ilsvrc_keras.WeightsError, match=r"refused: the checkpoint's pickle calls (posix|os)\.system"):
        read_pth(FIXTURES / "payload.pth")
    with pytest.raises(ilsvrc_keras.WeightsError, match="payload.pth: refused"):
        ilsvrc_keras.create_model("resnet18", weights=FIXTURES / "payload.pth")
    assert not (tmp_path / "ilsvrc_keras_payload_ran").exists()


def test_payload_written_without_torch_is_refused_too(tmp_path, monkeypatch):
    """The same refusal for a hostile pickle made here (builtins.exec writing a file)."""
    class Exec:
        def __reduce__(self):
            return exec, ("open('pwned.txt', 'w').write('x')",)

    monkeypatch.chdir(tmp_path)
    torch_format.write_pth(tmp_path / "evil.pth", {"w": np.zeros(3, np.float32)}, extra={"x": Exec()})
    with pytest.raises(ilsvrc_keras.WeightsError, match=r"(builtins|__builtin__)\.exec"):
        read_pth(tmp_path / "evil.pth")
    assert not (tmp_path / "pwned.txt").exists()


def test_truncated_empty_and_wrong_network_files_are_one_clear_error(tmp_path):
    good = _publisher_file("resnet18", tmp_path)
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(ilsvrc_keras.WeightsError, match="truncated.pth cannot be read: it is damaged"):
        ilsvrc_keras.create_model("resnet18", weights=truncated)
    with pytest.raises(ilsvrc_keras.WeightsError, match="empty.pth is empty"):
        ilsvrc_keras.create_model("resnet18", weights=empty)
    with pytest.raises(ilsvrc_keras.WeightsError, match="resnet18-f37072fd.pth does not fit model resnet34"):
        ilsvrc_keras.create_model("resnet34", weights=good)
    bad_st = tmp_path / "bad.safetensors"
    bad_st.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ilsvrc_keras.WeightsError, match="bad.safetensors cannot be read"):
        ilsvrc_keras.create_model("resnet18d", weights=bad_st)
    with pytest.raises(ilsvrc_keras.WeightsError, match="no PyTorch checkpoint is published"):
        ilsvrc_keras.create_model("mobilenet_0.25_128", weights=good)


def test_format_comes_from_the_bytes_not_the_name(tmp_path):
    path = _publisher_file("resnet18d", tmp_path)
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes(path.read_bytes())
    assert file_format(renamed) == "safetensors" and file_format(FIXTURES / "state_legacy.pth") == "pth"
    model = ilsvrc_keras.create_model("resnet18d", weights=renamed, include_top=False)
    assert model.output_shape[-1] == 512


def test_every_published_checkpoint_is_a_preset_with_its_recipe():
    wanted = {"alexnet.tv_in1k", "googlenet.tv_in1k", "vgg11.tv_in1k", "vgg13.tv_in1k", "vgg16.tv_in1k",
              "resnet18.tv_in1k", "resnet34.tv_in1k", "resnet50.tv_in1k", "resnet50.tv2_in1k"}
    names = set(list_presets())
    assert wanted <= names
    assert {n.split(".")[0] for n in names if n.split(".")[1] not in ("tv_in1k", "tv2_in1k", "keras_in1k")} >= {
        "seresnet50", "resnet18d", "resnet50d"}
    for name in names:
        p = get_preset(name)
        assert p.weights.url.startswith("https://") and p.weights.file_name
        assert 0.3 < p.published_top1 < 0.9 if p.published_top1 else p.weights.publisher == "keras"
        if p.weights.publisher == "torchvision":
            assert p.weights.file_name.split("-")[-1][:-4] == p.weights.file_hash and p.interpolation == "bilinear"
        if p.weights.publisher == "timm":
            assert p.interpolation == "bicubic" and p.weights.file_name == f"{name}.safetensors"
    assert get_preset("resnet50.tv2_in1k").crop_fraction == pytest.approx(224 / 232)
    # the bare names a user types reach weights that see
    assert get_preset("googlenet").name == "googlenet.tv_in1k" and get_preset("alexnet").arch == "alexnet_owt"


def test_default_network_is_the_strongest_preset_here(tmp_path, monkeypatch, mobilenet_weights):
    from ilsvrc_keras.discovery import default_model

    (tmp_path / "mobilenet_2_5_128_tf.h5").write_bytes(mobilenet_weights.read_bytes())
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    assert default_model()[0] == "mobilenet_0.25_128"
    _publisher_file("resnet18", tmp_path)  # torchvision's ResNet-18 file: 69.8% published top-1 against 41.5%
    assert default_model()[0] == "resnet18"
    choices = ilsvrc_keras.available_models(offline=True)
    assert [c.key for c in choices] == ["resnet18", "mobilenet_0.25_128"]
    assert choices[0].title == "resnet18 (2015, 69.8% top-1)" and choices[0].source == "local"
    # a non-default preset is offered under its own name
    _publisher_file("resnet50b", tmp_path)  # the fixture writes resnet50.tv2_in1k's file name
    assert default_model()[0] == "resnet50b"
    (tmp_path / get_preset("vgg16.tv_in1k").weights.file_name).write_bytes(b"x")
    assert "vgg16.tv_in1k" in [c.key for c in ilsvrc_keras.available_models(offline=True)]


def test_download_checks_the_publishers_hash_prefix(tmp_path, monkeypatch):
    """The download path as for torchvision's files, served from a file:// address: a file with the
    published sha256 prefix is kept in keras' cache; one without it is removed and reported."""
    import hashlib

    from ilsvrc_keras import presets
    from ilsvrc_keras.discovery import download_weights, weights_report
    from ilsvrc_keras.presets import Preset, WeightsSource, register_preset

    monkeypatch.setattr(presets, "_PRESETS", dict(presets._PRESETS))  # this test's presets end with it

    (tmp_path / "server").mkdir()
    served = _publisher_file("resnet18", tmp_path / "server")
    prefix = hashlib.sha256(served.read_bytes()).hexdigest()[:8]
    monkeypatch.delenv("ILSVRC_KERAS_OFFLINE")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ILSVRC_KERAS_WEIGHTS_DIR", raising=False)
    for tag, digest in (("served_in1k", prefix), ("tampered_in1k", "00000000")):
        register_preset(Preset("resnet18", tag, 224, 0.875, "torch", weights=WeightsSource(
            served.as_uri(), f"resnet18-{tag}.pth", digest, publisher="torchvision")))
    [done] = download_weights(["resnet18.served_in1k"])
    assert done["downloaded"] and done["path"] == str(tmp_path / "home" / "models" / "resnet18-served_in1k.pth")
    assert weights_report(["resnet18.served_in1k"])[0]["hash_ok"] is True
    with pytest.raises(ilsvrc_keras.WeightsError, match="does not have the published sha256 \\(00000000...\\); it was"):
        download_weights(["resnet18.tampered_in1k"])
    assert not (tmp_path / "home" / "models" / "resnet18-tampered_in1k.pth").exists()
    assert ilsvrc_keras.create_model("resnet18.served_in1k", weights="imagenet").output_shape == (None, 1000)
