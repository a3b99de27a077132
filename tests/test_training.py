"""The training layer's public seams: the Trainer drives ordinary Keras callbacks from its loop,
the one Evaluator counts what every report shows, and RunResult carries numbers, not files."""

import csv
import dataclasses
import json

import keras
import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras.evaluation import Evaluator, run_evaluation

from conftest import flower_subset


@pytest.fixture(scope="module")
def two_classes(flowers, tmp_path_factory):
    return flower_subset(flowers, tmp_path_factory.mktemp("two"), ("daisy", "tulip"), 10)


class Recorder(keras.callbacks.Callback):
    """Writes down every event it hears, and stops the run after ``stop_at`` epochs."""

    def __init__(self, stop_at):
        super().__init__()
        self.events, self.epoch_logs, self.batch_logs, self.stop_at = [], [], [], stop_at

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_train_end(self, logs=None):
        self.events.append("train_end")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(f"epoch_begin {epoch}")

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(f"epoch_end {epoch}")
        self.epoch_logs.append(dict(logs))
        if epoch + 1 == self.stop_at:
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        self.batch_logs.append(dict(logs))


@pytest.mark.slow
def test_train_drives_ordinary_keras_callbacks(two_classes, tmp_path):
    recorder = Recorder(stop_at=2)
    log = tmp_path / "keras_log.csv"
    keras_own = [keras.callbacks.CSVLogger(str(log)), keras.callbacks.TensorBoard(str(tmp_path / "tb")),
                 keras.callbacks.ModelCheckpoint(str(tmp_path / "ck.keras"))]
    result = ilsvrc_keras.train(two_classes, "resnet18", tmp_path / "run", epochs=4, batch_size=4, image_size=32,
                                lr=0.05, progress=False, callbacks=[recorder, *keras_own])
    # model.stop_training set by a callback ends the run after that epoch, and the run is finished
    assert recorder.events[0] == "train_begin" and recorder.events[-1] == "train_end"
    assert [e for e in recorder.events if e.startswith("epoch")] == [
        "epoch_begin 0", "epoch_end 0", "epoch_begin 1", "epoch_end 1"]
    assert result.epochs_completed == 2 and result.stopped_early and not result.interrupted
    assert (tmp_path / "run" / "model.keras").is_file()
    # logs are numbers: the batch logs every step, the epoch logs with validation figures
    assert len(recorder.batch_logs) == 2 * result.steps_per_epoch
    assert all(isinstance(v, float) for b in recorder.batch_logs for v in b.values())
    for logs in recorder.epoch_logs:
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(logs)
        assert "val_top_5_accuracy" not in logs  # two classes: a top-5 would count every image
        assert all(isinstance(v, (int, float)) for v in logs.values())
    # keras' own CSVLogger wrote one row per epoch, the same figures the run returns
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert [float(r["val_accuracy"]) for r in rows] == pytest.approx([h["val_accuracy"] for h in result.history])
    assert all(isinstance(h["val_accuracy"], float) for h in result.history)
    assert sorted(p.name for p in (tmp_path / "tb").iterdir()) == ["train", "validation"]  # Keras' TensorBoard
    assert keras.models.load_model(tmp_path / "ck.keras").output_shape == (None, 2)  # Keras' ModelCheckpoint
    assert not hasattr(result.model, "optimizer")  # the optimizer was lent to the callbacks, not saved
    assert result.to_dict()["epochs_completed"] == 2 and "model" not in result.to_dict()


@pytest.mark.slow
def test_keras_callbacks_monitor_keras_metric_names(two_classes, tmp_path):
    """The logs speak Keras: EarlyStopping and ModelCheckpoint watching val_accuracy work as under model.fit.
    At a learning rate of ~0 the validation accuracy cannot improve, so patience 1 stops after epoch 2."""
    import warnings

    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=1)
    best = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_accuracy", save_best_only=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = ilsvrc_keras.train(two_classes, "resnet18", tmp_path / "run", epochs=5, batch_size=4, image_size=32,
                                    lr=1e-9, warmup_epochs=0, progress=False, callbacks=[stop, best])
    assert result.epochs_completed == 2 and result.stopped_early and stop.stopped_epoch == 1
    assert (tmp_path / "best.keras").is_file()
    assert not [w for w in caught if "val_accuracy" in str(w.message)]  # no "metric not available"
    assert {"val_accuracy", "val_loss"} <= set(result.history[-1])


def test_top_k_is_named_as_keras_names_it_and_only_where_it_means_something():
    """Keras' spelling (top_5_accuracy, val_top_5_accuracy in the logs); none where k covers every class."""
    probs = np.eye(10, dtype=np.float32)[[0, 1, 2]]
    ev = Evaluator(10)
    ev.update(probs, [0, 1, 3])
    assert set(ev.result()) == {"n", "loss", "accuracy", "top_5_accuracy"}
    assert ev.result()["accuracy"] == pytest.approx(2 / 3) and ev.top_k_name == "top_5_accuracy"
    assert Evaluator(3).top_k_name is None and Evaluator(3, top=2).top_k_name == "top_2_accuracy"


@pytest.mark.slow
def test_trainer_fits_a_user_model_on_arrays_and_evaluates_it(tmp_path):
    from ilsvrc_keras.training import RunConfig, Trainer
    from ilsvrc_keras.transforms import EvalTransform

    rng = np.random.default_rng(0)
    x = rng.integers(0, 60, size=(40, 24, 24, 3), dtype=np.uint8)
    x[20:, :, :, 2] = 255  # class 1 is blue
    data = ilsvrc_keras.open_dataset((x, np.array([0] * 20 + [1] * 20)), class_names=["dark", "blue"])
    assert data.train.kind == "decoded"  # arrays are kept as pixels, never re-encoded
    assert any(np.array_equal(data.train.items[0], im) for im in x)  # the same pixels, untouched
    with Trainer(precision="fp32", seed=1) as trainer:
        model = trainer.build(lambda: keras.Sequential([
            keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="softmax")]))
        result = trainer.fit(model, data, EvalTransform(16, 1.0, "tf"),
                             RunConfig(out=str(tmp_path / "arr"), epochs=8, batch_size=8, lr=0.1, weight_decay=0,
                                       progress=False))
        ev = trainer.evaluate()
    assert result.val_accuracy == 1.0 and ev.result()["accuracy"] == 1.0 and ev.n == len(data.val) == 8
    assert ev.matrix.tolist() == [[4, 0], [0, 4]]
    # Stopping as a preempted job would (stop_after_steps), at an epoch's end and mid-epoch, then resuming.
    config = RunConfig(out=str(tmp_path / "stop"), epochs=3, batch_size=8, lr=0.1, weight_decay=0, progress=False,
                       stop_after_steps=4)  # 4 steps per epoch: the end of the first epoch
    with Trainer(precision="fp32", seed=1) as trainer:
        model = trainer.build(lambda: keras.Sequential([
            keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)]))
        first = trainer.fit(model, data, EvalTransform(16, 1.0, "tf"), config)
        second = trainer.fit(model, data, EvalTransform(16, 1.0, "tf"),
                             dataclasses.replace(config, stop_after_steps=6))  # mid-epoch 2
        third = trainer.fit(model, data, EvalTransform(16, 1.0, "tf"), dataclasses.replace(config, stop_after_steps=None))
    assert (first.interrupted, first.epochs_completed) == (True, 1)
    assert (second.interrupted, second.epochs_completed, second.resumed_from_epoch) == (True, 1, 1.0)
    assert (third.interrupted, third.epochs_completed, third.resumed_from_epoch) == (False, 3, 1.5)
    assert [h["epoch"] for h in third.history] == [1, 2, 3]


def test_evaluator_counts_exactly_and_ignores_padding():
    ev = Evaluator(3, top=2)
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.5, 0.1, 0.4], [0.9, 0.05, 0.05]])
    run_evaluation([(probs, np.array([0, 2, 2, 1]), np.array([1, 1, 1, 0]), np.array([0, 1, 2, -1]))],
                   lambda b: b, ev)
    r = ev.result()
    assert r["n"] == 3 and r["accuracy"] == pytest.approx(1 / 3)  # the 4th row is padding (weight 0)
    assert r["top_2_accuracy"] == pytest.approx(1.0)  # top-2 here: the true class is second in rows 2 and 3
    assert r["loss"] == pytest.approx(-(np.log(0.6) + np.log(0.3) + np.log(0.4)) / 3)
    assert ev.matrix.tolist() == [[1, 0, 0], [0, 0, 0], [1, 1, 0]]
    assert ev.positions == [0, 1, 2]
    report = ev.report(["a", "b", "c"])
    assert report["per_class"]["c"]["recall"] == 0.0 and report["per_class"]["a"]["precision"] == 0.5
    assert report["top_2_accuracy"] == 1.0


@pytest.mark.slow
def test_a_run_folder_records_its_run_and_refuses_another(flowers, mobilenet_weights, tmp_path):
    """fine-tune daisy/rose into a folder, then daisy/sunflower into the same folder: refused with what
    differs (it used to train nothing, exit 0 and label roses as sunflowers); the same run resumes;
    overwrite=True replaces it. Outputs that are a file or unwritable fail before any model is built."""
    out = tmp_path / "ft"
    kw = dict(model="mobilenet_0.25_128", weights=mobilenet_weights, out=out, head_epochs=1, epochs=0,
              batch_size=8, progress=False)
    rose = flower_subset(flowers, tmp_path / "a", ("daisy", "rose"), 6)
    sunflower = flower_subset(flowers, tmp_path / "b", ("daisy", "sunflower"), 6)
    first = ilsvrc_keras.fine_tune(rose, **kw)
    record = json.loads((out / "run.json").read_text())
    assert record["classes"] == ["daisy", "rose"] and record["model"] == "mobilenet_0.25_128" and record["data"]
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="holds another run") as info:
        ilsvrc_keras.fine_tune(sunflower, **kw)
    assert "classes" in str(info.value) and "--overwrite" in str(info.value)
    assert json.loads((out / "labels.json").read_text()) == ["daisy", "rose"]  # nothing was lost
    again = ilsvrc_keras.fine_tune(rose, **kw)  # the same run: resumes (already done), same answer
    assert again.val_accuracy == first.val_accuracy
    replaced = ilsvrc_keras.fine_tune(sunflower, overwrite=True, **kw)
    assert replaced.class_names == ["daisy", "sunflower"]
    assert json.loads((out / "labels.json").read_text()) == ["daisy", "sunflower"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="is a file"):
        ilsvrc_keras.fine_tune(rose, **{**kw, "out": tmp_path / "file"})
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="holds another run"):  # train into it: refused too
        ilsvrc_keras.train(rose, "resnet18", out, epochs=1, batch_size=4, image_size=64, progress=False)


def test_a_full_disk_during_training_is_said_as_such_and_the_last_checkpoint_survives(tmp_path, monkeypatch):
    import tensorflow as tf

    from ilsvrc_keras.training import RunConfig, Trainer
    from ilsvrc_keras.transforms import EvalTransform

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(24, 16, 16, 3), dtype=np.uint8)
    data = ilsvrc_keras.open_dataset((x, np.array([0, 1] * 12)), class_names=["a", "b"])
    real_save, saves = tf.train.CheckpointManager.save, []

    def save(self, *args, **kwargs):  # the disk fills up after the first epoch's checkpoint
        saves.append(1)
        if len(saves) > 1:
            raise tf.errors.ResourceExhaustedError(
                None, None, "{{function_node __wrapped__SaveV2_dtypes_308}} ...: No space left on device")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", save)

    def build():
        return keras.Sequential([keras.Input((16, 16, 3)), keras.layers.GlobalAveragePooling2D(),
                                 keras.layers.Dense(2)])

    out = tmp_path / "full"
    with Trainer(precision="fp32") as trainer:
        with pytest.raises(ilsvrc_keras.IlsvrcKerasError) as err:
            trainer.fit(trainer.build(build), data, EvalTransform(16, 1.0, "tf"),
                        RunConfig(out=str(out), epochs=3, batch_size=8, progress=False))
    message = str(err.value)
    assert message.startswith(f"no space left on the disk of {out / 'checkpoints'}")
    assert "SaveV2" not in message and "the last complete checkpoint is" in message
    last = message.split("the last complete checkpoint is ")[1].split(";")[0]
    assert tf.train.latest_checkpoint(str(out / "checkpoints")) == last
    reader = tf.train.load_checkpoint(last)  # whole and readable: the first epoch's end
    assert reader.get_tensor("epoch/.ATTRIBUTES/VARIABLE_VALUE") == 1


def test_small_and_partial_validation_figures_say_so():
    from ilsvrc_keras.evaluation import Evaluator
    from ilsvrc_keras.metrics import per_class_report

    ev = Evaluator(3, top=2)
    probs = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]])
    ev.update(probs, np.array([0, 1]), np.ones(2), np.arange(2))
    report = ev.report(["a", "b", "c"])
    assert report["accuracy"] == 1.0 and report["classes_without_validation"] == ["c"]
    assert "measured on 2 validation images, none of 1 of the 3 classes" in report["warning"]
    macro = per_class_report(np.array([[2, 0, 0], [0, 1, 1], [0, 0, 0]]), ["a", "b", "c"])["macro avg"]
    assert macro["classes"] == 2 and macro["recall"] == 0.75  # (1 + 0.5) / 2: the unseen class is not a 0


@pytest.mark.parametrize("ending", ["Softmax layer", "ops.softmax", "logits"])
def test_a_user_model_ending_in_a_softmax_trains_as_model_fit_would(ending, tmp_path):
    """No double softmax: a user's network ending in probabilities (a Softmax layer or ops.softmax, which no
    layer attribute shows) or in logits trains through the Trainer to the loss model.fit reaches with the
    same initial weights, data, order and optimizer."""
    import tensorflow as tf

    from ilsvrc_keras.training import RunConfig, Trainer
    from ilsvrc_keras.transforms import EvalTransform

    # One colour per image: every crop, flip and resize of the training pipeline gives the same pixels, and one
    # batch of all 32 makes the order moot, so both loops see the same inputs.
    rng = np.random.default_rng(0)
    x = np.broadcast_to(rng.integers(0, 255, size=(32, 1, 1, 3)), (32, 8, 8, 3)).astype(np.uint8)
    y = (x[:, 0, 0, 2] > 127).astype(int)
    data = ilsvrc_keras.open_dataset((x, y), class_names=["a", "b"], val_fraction=0)

    def build():
        keras.utils.set_random_seed(3)
        inputs = keras.Input((8, 8, 3))
        h = keras.layers.Dense(2)(keras.layers.Flatten()(inputs))
        out = {"Softmax layer": keras.layers.Softmax(), "ops.softmax": keras.ops.softmax,
               "logits": lambda t: t}[ending](h)
        return keras.Model(inputs, out)

    with Trainer(precision="fp32", seed=0) as trainer:
        model = trainer.build(build)
        start = [w.copy() for w in model.get_weights()]
        result = trainer.fit(model, data, EvalTransform(8, 1.0, "tf"), RunConfig(
            out=str(tmp_path / "t"), epochs=3, batch_size=32, lr=0.05, weight_decay=0, momentum=0, warmup_epochs=0,
            schedule="constant", progress=False))
    reference = build()
    reference.set_weights(start)
    reference.compile(optimizer=keras.optimizers.SGD(0.05),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=ending == "logits"))
    inputs = tf.cast(x, tf.float32) / 127.5 - 1.0  # the "tf" normalization
    history = reference.fit(inputs, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    assert [r["loss"] for r in result.history] == pytest.approx(history.history["loss"], rel=1e-3, abs=1e-4)


@pytest.mark.slow
def test_accumulation_and_clipping_through_train(two_classes, tmp_path):
    result = ilsvrc_keras.train(two_classes, "resnet18", tmp_path / "run", epochs=1, batch_size=4, image_size=32,
                                accumulate_steps=2, clip_norm=1.0, lr=0.05, progress=False)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["update_batch_size"] == 8 and summary["global_batch_size"] == 4 and result.epochs_completed == 1
    assert np.isfinite(result.history[-1]["loss"])


def test_with_ema_validation_judges_the_averaged_weights(tmp_path):
    """ema=...: every validation figure is of the averaged weights (the weights the run ends with), not of the
    training weights of the moment: the last epoch's val_loss is the final model's."""
    from ilsvrc_keras.training import RunConfig, Trainer
    from ilsvrc_keras.transforms import EvalTransform

    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(48, 16, 16, 3)).astype(np.uint8)
    y = (x[..., 0].mean(axis=(1, 2)) > 127).astype(int)
    data = ilsvrc_keras.open_dataset((x, y), class_names=["a", "b"], val_fraction=0.25)
    with Trainer(precision="fp32", seed=0) as trainer:
        model = trainer.build(lambda: keras.Sequential([
            keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)]))
        result = trainer.fit(model, data, EvalTransform(16, 1.0, "tf"), RunConfig(
            out=str(tmp_path / "ema"), epochs=3, batch_size=8, lr=0.2, ema=0.5, weight_decay=0, progress=False))
        final = trainer.evaluate().result()  # the model after the run: the averaged weights
    assert result.history[-1]["val_loss"] == pytest.approx(final["loss"], abs=1e-4)
