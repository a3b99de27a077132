"""fine_tune: the round trip, frozen BatchNorm, class weights, bad data, and the real acceptance run."""

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras import DataError
from ilsvrc_keras.datasets import StreamSplit
from ilsvrc_keras.finetune import build_classifier, class_weights_for, freeze, unfreeze

from conftest import cli as _cli
from conftest import cli_env as _env
from conftest import flower_subset, local_tfds


@pytest.fixture(scope="module")
def small(flowers, tmp_path_factory):
    root = flower_subset(flowers, tmp_path_factory.mktemp("small"), ("daisy", "sunflower", "tulip"), 20)
    (root / "tulip" / "corrupt.jpg").write_bytes(b"not a jpeg at all")
    return root


@pytest.mark.slow
def test_round_trip_save_load_classify(small, mobilenet_weights, tmp_path):
    out = tmp_path / "ft"
    result = ilsvrc_keras.fine_tune(small, model="mobilenet_0.25_128", weights=mobilenet_weights, out=out,
                                    head_epochs=1, epochs=1, batch_size=16, progress=False)
    assert result.class_names == ["daisy", "sunflower", "tulip"]
    n, skipped = result.metrics["n"], result.metrics["skipped"]
    assert n == 12 and skipped == []  # 4 per class held out
    # the file that is not a photo is left out at the door (and reported), not fatal
    assert [p.endswith("corrupt.jpg") for p in result.metrics["unreadable"]] == [True]
    assert json.loads((out / "report.json").read_text())["metrics"]["unreadable"] == result.metrics["unreadable"]
    assert set(result.metrics["per_class"]) >= {"daisy", "sunflower", "tulip", "macro avg"}
    assert np.array(result.metrics["confusion_matrix"]).sum() == n
    for name in ("model.keras", "labels.json", "preprocessing.json", "history.csv", "report.json", "curves.png",
                 "confusion_matrix.png"):
        assert (out / name).is_file(), name
    assert [r["phase"] for r in result.history] == ["head", "all"]
    clf = ilsvrc_keras.load(out)
    preds = clf.classify(next((small / "daisy").iterdir()), top=3)
    assert sorted(p.label for p in preds) == ["daisy", "sunflower", "tulip"]
    # The saved model predicts what the returned one does; the network ends in logits (the folder says so)
    # and the classifier applies the softmax.
    x, _ = clf.preprocess([next((small / "sunflower").iterdir())])
    logits = np.asarray(result.model(x, training=False))
    assert clf.outputs == "logits" and not np.allclose(logits.sum(), 1.0)
    e = np.exp(logits - logits.max())
    np.testing.assert_allclose(clf.predict_batch(x), e / e.sum(), atol=1e-5)


def test_batchnorm_stays_frozen_unless_asked(mobilenet_weights):
    m = build_classifier("mobilenet_0.25_128", 3, mobilenet_weights, 128, 0.2)
    freeze(m)
    assert [layer.name for layer in m.layers if layer.trainable and layer.weights] == ["head_predictions"]
    freeze(m, train_bn=True)  # fastai-style: BatchNorm adapts while the convolutions are frozen
    opened = {layer.__class__.__name__ for layer in m.layers if layer.trainable and layer.weights}
    assert opened == {"BatchNormalization", "Dense"}
    unfreeze(m, train_bn=False)
    bns = [layer for layer in m.layers if layer.__class__.__name__ == "BatchNormalization"]
    assert bns and not any(layer.trainable for layer in bns)
    assert m.get_layer("conv_pw_13").trainable
    before = [np.asarray(w).copy() for w in bns[-1].weights]
    x = np.random.default_rng(0).normal(size=(8, 128, 128, 3)).astype("float32") * 3 + 1
    m(x, training=True)  # a training-mode call must not move frozen statistics
    for a, b in zip(before, bns[-1].weights):
        np.testing.assert_array_equal(a, np.asarray(b))
    unfreeze(m, train_bn=True, bn_momentum=None)
    m(x, training=True)
    assert not np.allclose(before[2], np.asarray(bns[-1].weights[2]))  # moving mean moved
    own_step = np.asarray(bns[-1].moving_mean) - before[2]  # Keras' pretrained momentum, 0.99
    bns[-1].set_weights(before)
    unfreeze(m, train_bn=True, bn_momentum=0.9)  # fine_tune's default for phase 2
    m(x, training=True)
    np.testing.assert_allclose(np.asarray(bns[-1].moving_mean) - before[2], 10 * own_step, rtol=1e-3, atol=1e-5)
    unfreeze(m, 4, train_bn=False)
    assert sum(1 for layer in m.layers if layer.trainable and layer.weights and not layer.name.startswith("head")) <= 4
    unfreeze(m, from_layer="conv_dw_13", train_bn=True)  # a stage on: everything from that layer
    names = [layer.name for layer in m.layers]
    opened = {layer.name for layer in m.layers if layer.trainable and layer.weights and not layer.name.startswith("head")}
    assert opened == {layer.name for layer in m.layers[names.index("conv_dw_13"):] if layer.weights
                      and not layer.name.startswith("head")}
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="not a layer"):
        unfreeze(m, from_layer="no_such_layer")
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="unfreeze must be"):
        unfreeze(m, "some")


def test_class_weights_change_the_loss():
    import tensorflow as tf

    from ilsvrc_keras.training import make_optimizer, make_train_step

    assert class_weights_for("balanced", [0, 0, 0, 1], ["a", "b"]) == pytest.approx([4 / 6, 2.0])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 16, 16, 3)).astype("float32")
    y = np.eye(2, dtype="float32")[[0, 0, 0, 0, 1, 1]]
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    base = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs)))
    start = base.get_weights()
    moved = []
    for w in (np.ones(6, "float32"), np.array([1, 1, 1, 1, 5, 5], "float32")):
        base.set_weights(start)
        opt = make_optimizer("sgd", 0.5, momentum=0.0)
        step = make_train_step(tf.distribute.get_strategy(), base, opt, global_batch_size=6)
        step((tf.constant(x), tf.constant(y), tf.constant(w)))
        moved.append(base.get_weights()[0] - start[0])
    assert not np.allclose(moved[0], moved[1])


def test_bad_data(tmp_path, small):
    with pytest.raises(DataError, match="no such folder"):
        ilsvrc_keras.fine_tune(tmp_path / "missing/", out=tmp_path / "o")
    one = tmp_path / "one"
    (one / "only").mkdir(parents=True)
    shutil.copy(next((small / "daisy").iterdir()), one / "only" / "a.jpg")
    with pytest.raises(DataError, match="at least two classes"):
        ilsvrc_keras.fine_tune(one, out=tmp_path / "o")
    with pytest.raises(ilsvrc_keras.UnknownModelError):
        ilsvrc_keras.fine_tune(small, model="resnet9000", out=tmp_path / "o")
    val = tmp_path / "val"
    for c in ("daisy", "orchid"):
        (val / c).mkdir(parents=True)
        shutil.copy(next((small / "daisy").iterdir()), val / c / "a.jpg")
    with pytest.raises(DataError, match="orchid"):
        ilsvrc_keras.fine_tune(small, val_data=val, out=tmp_path / "o")


@pytest.mark.slow
def test_arrays_input(mobilenet_weights, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(24, 40, 50, 3), dtype=np.uint8)
    x[:12, :, :, 0] = 255  # class 0 is red-ish, class 1 blue-ish
    x[12:, :, :, 2] = 255
    y = np.array([0] * 12 + [1] * 12)
    renamed = tmp_path / "my_weights.h5"  # a file whose name says nothing about its network
    renamed.symlink_to(mobilenet_weights)
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="without the network they belong to"):
        ilsvrc_keras.fine_tune((x, y), weights=renamed, out=tmp_path / "arr")
    result = ilsvrc_keras.fine_tune((x, y), model="mobilenet_0.25_128", weights=mobilenet_weights,
                                    out=tmp_path / "arr", class_names=["red", "blue"],
                                    head_epochs=5, epochs=0, batch_size=4, head_lr=1e-2, progress=False,
                                    train_bn=False)  # batches of 4 are too small for batch statistics
    assert result.class_names == ["red", "blue"] and result.metrics["n"] == 4  # 20% of each class held out
    assert result.val_accuracy == 1.0  # the colours are trivially separable


@pytest.mark.slow
def test_cli_fine_tune_then_classify(small, mobilenet_weights, tmp_path):
    out = tmp_path / "cli"
    p = subprocess.run(_cli("fine-tune", small, "--out", out, "--weights", mobilenet_weights, "--head-epochs", 1,
                            "--epochs", 1, "--batch-size", 16, "--bn-momentum", 0.95, "--quiet", "--json"),
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    s = json.loads(p.stdout)
    assert {"val_accuracy", "epochs", "seconds", "classes", "out"} <= set(s)
    assert s["classes"] == ["daisy", "sunflower", "tulip"] and s["epochs"] == 2
    settings = json.loads((out / "report.json").read_text())["settings"]  # what the run used, for a rerun
    assert settings["bn_momentum"] == 0.95 and settings["train_bn"] is True and settings["epochs"] == 1
    assert settings["augment"]["crop_scale"] == [0.35, 1.0] and settings["image_size"] == 128
    p = subprocess.run(_cli("classify", next((small / "tulip").glob("*.jpg")), "--model", out, "--json"),
                       capture_output=True, text=True, env=_env(), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    labels = [r["label"] for r in json.loads(p.stdout)["results"][0]["predictions"]]
    assert sorted(labels) == ["daisy", "sunflower", "tulip"]


def test_tfds_dataset_by_name(small, mobilenet_weights, tmp_path):
    """A TFDS dataset named like any other (here a builder over real flower photos, prepared offline)."""
    classes = ["daisy", "sunflower", "tulip"]
    local_tfds("SmallFlowersForTest", small, classes, tmp_path / "tfds",
               files=lambda folder: [p for p in sorted(folder.glob("*.jpg"))[:12] if p.name != "corrupt.jpg"])
    result = ilsvrc_keras.fine_tune("small_flowers_for_test", data_dir=tmp_path / "tfds", weights=mobilenet_weights,
                                    out=tmp_path / "out", head_epochs=1, epochs=0, batch_size=8, progress=False)
    assert result.class_names == classes  # from the TFDS metadata
    # Streamed through the same path as train: encoded records, never decoded into memory; with no
    # validation split of its own, TFDS' last 20% of train is held out (7 of 36).
    ds = ilsvrc_keras.open_dataset("small_flowers_for_test", data_dir=tmp_path / "tfds")
    assert isinstance(ds.train, StreamSplit) and ds.train.kind == "encoded" and len(ds.val) == 7
    assert result.metrics["n"] == 7
    assert json.loads((tmp_path / "out" / "labels.json").read_text()) == classes


@pytest.mark.slow
def test_keras_datasets_and_callbacks(small, mobilenet_weights, tmp_path):
    """What a Keras user has in hand: batched image_dataset_from_directory pipelines and callbacks."""
    import keras

    from ilsvrc_keras.datasets import StreamSplit

    train_dir, val_dir = tmp_path / "train", tmp_path / "val"
    for c in ("daisy", "sunflower"):
        files = sorted((small / c).glob("*.jpg"))
        for d, part in ((train_dir, files[:14]), (val_dir, files[14:])):
            (d / c).mkdir(parents=True)
            for p in part:
                shutil.copy(p, d / c / p.name)
    load = dict(batch_size=16, image_size=(140, 140), seed=0, verbose=False)
    train_ds = keras.utils.image_dataset_from_directory(str(train_dir), **load)
    val_ds = keras.utils.image_dataset_from_directory(str(val_dir), shuffle=False, **load)
    data = ilsvrc_keras.open_dataset(train_ds, val_ds)
    assert isinstance(data.train, StreamSplit) and data.train.kind == "decoded" and len(data.train) == 28
    assert data.class_names == ["daisy", "sunflower"]  # taken from the dataset
    log = tmp_path / "log.csv"
    result = ilsvrc_keras.fine_tune(train_ds, val_data=val_ds, class_names=["daisy", "sunflower"],
                                    weights=mobilenet_weights, out=tmp_path / "ft", head_epochs=2, epochs=1,
                                    batch_size=8, progress=False, callbacks=[keras.callbacks.CSVLogger(str(log))])
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]  # one row per epoch of both phases
    assert [r["phase"] for r in result.history] == ["head", "head", "all"]
    assert [float(r["val_accuracy"]) for r in rows] == pytest.approx([h["val_accuracy"] for h in result.history])
    for h in result.history:
        assert all(isinstance(v, (int, float)) for k, v in h.items() if k != "phase")
    assert result.metrics["n"] == 12 and not result.interrupted  # 6 val photos per class
    assert result.val_accuracy == pytest.approx(max(h["val_accuracy"] for h in result.history), abs=1e-4)


@pytest.mark.slow
def test_early_stopping_on_val_accuracy_ends_the_whole_fine_tune(small, mobilenet_weights, tmp_path):
    """A user's EarlyStopping(monitor="val_accuracy") hears both phases as one training: at a learning rate of
    ~0 nothing improves, so patience 1 stops after the second epoch, before the whole-network phase."""
    import keras

    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    result = ilsvrc_keras.fine_tune(small, weights=mobilenet_weights, out=tmp_path / "ft", head_epochs=3, epochs=2,
                                    head_lr=1e-9, lr=1e-9, batch_size=8, progress=False, callbacks=[stop])
    assert [r["phase"] for r in result.history] == ["head", "head"] and stop.stopped_epoch == 1
    assert not result.interrupted and (tmp_path / "ft" / "model.keras").is_file() and result.val_accuracy is not None
    # The interpretation (an untrained head gets much wrong): the most confused pairs and the top losses,
    # each wrong, worst first, named by its file, drawn as a gallery with Grad-CAM.
    report = json.loads((tmp_path / "ft" / "report.json").read_text())
    confused, losses = report["metrics"]["most_confused"], report["metrics"]["top_losses"]
    matrix = np.array(report["metrics"]["confusion_matrix"])
    off = matrix - np.diag(np.diag(matrix))
    assert confused and confused[0]["count"] == off.max() and confused[0]["true"] != confused[0]["predicted"]
    assert 0 < len(losses) <= 9 and all(i["true"] != i["predicted"] for i in losses)
    assert [i["loss"] for i in losses] == sorted((i["loss"] for i in losses), reverse=True)
    assert all(Path(i["image"]).is_file() and Path(i["image"]).parent.name == i["true"] for i in losses)
    assert (tmp_path / "ft" / "top_losses.png").read_bytes()[:4] == b"\x89PNG"
    assert result.paths["top_losses"] == str(tmp_path / "ft" / "top_losses.png")
    shown = result._repr_html_()  # what a notebook shows: the figures and pictures inline
    assert f"{result.val_accuracy:.1%}" in shown and shown.count("<img") == 3 and confused[0]["true"] in shown


@pytest.mark.slow
def test_fine_tune_reads_prepared_shards(small, mobilenet_weights, tmp_path):
    from ilsvrc_keras.datasets import prepare

    meta = prepare(small, tmp_path / "shards", shard_size=16, progress=False)
    result = ilsvrc_keras.fine_tune(tmp_path / "shards", weights=mobilenet_weights, out=tmp_path / "ft",
                                    head_epochs=1, epochs=0, batch_size=8, progress=False)
    assert result.class_names == ["daisy", "sunflower", "tulip"]
    assert result.metrics["n"] + len(result.metrics["skipped"]) == meta["val"]["count"]
    assert len(result.metrics["skipped"]) <= 1  # at most the corrupt file, if the split put it there


@pytest.mark.slow
def test_sigterm_interrupts_fine_tune_with_143_and_a_rerun_resumes(small, mobilenet_weights, tmp_path):
    import signal
    import time

    out = tmp_path / "term"
    cmd = _cli("fine-tune", small, "--out", out, "--weights", mobilenet_weights, "--head-epochs", 2, "--epochs", 2,
               "--batch-size", 4, "--quiet", "--json")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "checkpoints" / "head").exists():
        time.sleep(0.1)
    time.sleep(2)  # inside the head phase's steps
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143, stderr[-2000:]
    s = json.loads(stdout)
    assert s["interrupted"] is True and s["val_accuracy"] is None
    assert not (out / "model.keras").exists()  # nothing half-done is passed off as the model
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    s = json.loads(p.stdout)
    assert s["interrupted"] is False and s["epochs"] == 4
    with open(out / "history.csv") as f:
        rows = [(r["phase"], int(r["epoch"])) for r in csv.DictReader(f)]
    assert rows == [("head", 1), ("head", 2), ("all", 1), ("all", 2)]  # resumed, no duplicate rows


@pytest.mark.slow
def test_sigterm_after_the_last_head_epoch_stops_before_the_next_phase(small, mobilenet_weights, tmp_path):
    """A signal that lands after the head phase's last step (here: in a callback at its last epoch's end) is
    not swallowed: the run stops before the whole-network phase and says so; the rerun resumes there."""
    import os
    import signal

    import keras

    class TermAtEpochEnd(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # the head phase's only epoch
                os.kill(os.getpid(), signal.SIGTERM)

    out = tmp_path / "ft"
    settings = dict(weights=mobilenet_weights, out=out, head_epochs=1, epochs=1, batch_size=16, progress=False)
    first = ilsvrc_keras.fine_tune(small, callbacks=[TermAtEpochEnd()], **settings)
    assert first.interrupted and list(first.phases) == ["head"] and not (out / "model.keras").exists()
    again = ilsvrc_keras.fine_tune(small, **settings)
    assert not again.interrupted and [(r["phase"], r["phase_epoch"]) for r in again.history] == [("head", 1),
                                                                                                ("all", 1)]


@pytest.mark.slow
def test_the_head_phase_is_kept_when_it_beat_the_whole_network(small, mobilenet_weights, tmp_path):
    """The run ends with the best weights of all: the head phase's own best file when it scored higher."""
    import types

    from ilsvrc_keras.finetune import _keep_better_phase

    result = ilsvrc_keras.fine_tune(small, weights=mobilenet_weights, out=tmp_path / "ft", head_epochs=1, epochs=1,
                                    batch_size=16, progress=False)
    head_file = result.phases["head"]["best_weights"]
    assert head_file and Path(head_file).is_file() and "head" in Path(head_file).parts
    loaded = []
    net = types.SimpleNamespace(load_weights=loaded.append)
    def phase(best, path):
        return types.SimpleNamespace(best_val_accuracy=best, best_weights=path)

    assert _keep_better_phase(net, {"head": phase(0.9, head_file), "all": phase(0.8, "all.h5")}) == "head"
    assert loaded == [head_file]
    assert _keep_better_phase(net, {"head": phase(0.7, head_file), "all": phase(0.8, "all.h5")}) == "all"
    assert loaded == [head_file]  # the whole network's weights are already in place


@pytest.mark.slow
def test_fine_tune_starts_from_a_torchvision_preset(small, tmp_path, monkeypatch):
    """fastai's default backbone: fine_tune(model="resnet34.tv_in1k") with torchvision's file format, found by its
    published name in $ILSVRC_KERAS_WEIGHTS_DIR; the folder carries the preset's own preprocessing."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "helpers"))
    import torch_format

    meta = json.loads(str(np.load(Path(__file__).parent / "fixtures" / "torch" / "resnet34.npz")["meta"]))
    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    torch_format.write_pth(weights_dir / "resnet34-b627a593.pth", torch_format.random_state(meta["spec"]))
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(weights_dir))
    result = ilsvrc_keras.fine_tune(small, model="resnet34.tv_in1k", out=tmp_path / "ft", head_epochs=1, epochs=0,
                                    batch_size=16, image_size=64, progress=False)
    prep = json.loads((tmp_path / "ft" / "preprocessing.json").read_text())
    assert prep["normalization"]["name"] == "torch" and prep["size"] == 64
    assert json.loads((tmp_path / "ft" / "report.json").read_text())["model"] == "resnet34.tv_in1k"
    assert result.model.get_layer("conv5_block3_2_conv") is not None
    assert len(ilsvrc_keras.load(tmp_path / "ft").classify(next((small / "daisy").iterdir()), top=2)) == 2


@pytest.mark.slow
def test_discriminative_rates_reach_the_whole_network_phase(small, mobilenet_weights, tmp_path):
    """lr_mult: the backbone's early layers update at lr / lr_mult; the head at lr. With lr_mult 1e6 the first
    convolution's kernel barely moves while the head's does, and with one rate it moves; report.json says
    which it was."""
    import keras

    def moves(lr_mult):
        keras.utils.set_random_seed(0)  # as the Trainer seeds its build: the same new head
        start = build_classifier("mobilenet_0.25_128", 3, mobilenet_weights, 128, 0.2)
        result = ilsvrc_keras.fine_tune(small, model="mobilenet_0.25_128", weights=mobilenet_weights,
                                        out=tmp_path / f"m{lr_mult:g}", head_epochs=0, epochs=1, batch_size=16,
                                        lr=0.01, warmup_epochs=0, lr_mult=lr_mult, progress=False)
        after = {w.path: np.asarray(w) for w in result.model.weights}
        settings = json.loads((tmp_path / f"m{lr_mult:g}" / "report.json").read_text())["settings"]
        assert settings["lr_mult"] == lr_mult
        before = {w.path: np.asarray(w) for w in start.weights}
        return [float(np.abs(after[k] - before[k]).max()) for k in ("conv1/kernel", "head_predictions/kernel")]

    stem_slow, head_slow = moves(1e6)
    stem_one, head_one = moves(1.0)
    assert stem_slow < 1e-6 < 1e-3 < stem_one  # Adam's first steps move each weight by about the rate
    assert head_slow > 1e-3 and head_one > 1e-3


def test_fine_tune_takes_its_settings_as_a_typed_config():
    """Every FineTuneConfig field is a fine_tune keyword with the same default (one rule, two doors), and a bad
    setting is refused by the config before any data is read."""
    import dataclasses
    import inspect

    from ilsvrc_keras.finetune import FineTuneConfig

    signature = inspect.signature(ilsvrc_keras.fine_tune).parameters
    for field in dataclasses.fields(FineTuneConfig):
        assert signature[field.name].default == field.default, field.name
    with pytest.raises(ilsvrc_keras.ArgumentError, match=r"lr_mult must be a number in \[1, inf\), not 0.5"):
        ilsvrc_keras.fine_tune("/nonexistent", lr_mult=0.5)
