"""The Imagenette recipe against a plain ``model.fit`` of the same network (``python -m benchmarks train-recipe``)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from benchmarks.common import ROOT, assets, split_folders, timed_process, timeit  # noqa: F401


def plain_fit(train_dir, val_dir, model="resnet18d", size=128, epochs=5, batch_size=64, lr=None, seed=0) -> dict:
    """The same network, epochs, batch, optimizer, schedule and label smoothing as the Imagenette recipe run
    with the plain ResNet-D settings (:data:`benchmarks.ingredients.PLAIN_SETTINGS`: Keras has no Ranger),
    written the way the Keras examples write it: ``image_dataset_from_directory`` (squashed to the
    size), ``RandomFlip`` + ``RandomZoom`` layers, the normalization as a ``Normalization`` layer in
    the model, ``model.fit(validation_data=...)``. Run as a script by the train-recipe benchmark
    (``python -m benchmarks.train_recipe ...``), so that both sides are timed as whole processes."""
    import sys

    import keras
    import tensorflow as tf

    from ilsvrc_keras.presets import get_preset
    from ilsvrc_keras.zoo import create_model

    sys.path.insert(0, str(ROOT / "recipes"))
    from imagenette import RECIPE  # the recipe's settings, not a copy of them

    from benchmarks.ingredients import PLAIN_SETTINGS

    t = time.perf_counter()
    keras.utils.set_random_seed(seed)
    lr = lr or PLAIN_SETTINGS["lr"] * batch_size / RECIPE["batch_size"]
    load = dict(image_size=(size, size), batch_size=batch_size, label_mode="categorical", seed=seed)
    train = keras.utils.image_dataset_from_directory(train_dir, shuffle=True, **load)
    val = keras.utils.image_dataset_from_directory(val_dir, shuffle=False, **load)
    classes = len(train.class_names)
    train, val = train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)
    norm = get_preset(model).normalization
    inputs = keras.Input((size, size, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.RandomZoom((-0.4, 0.0))(x)  # zoom in to 60-100% of the image, as the recipe's crops
    x = norm.layer()(x)
    net = create_model(model, num_classes=classes, input_shape=(size, size, 3), classifier_activation=None)
    model_ = keras.Model(inputs, net(x))
    steps = epochs * len(train)
    warmup = int(PLAIN_SETTINGS["warmup_epochs"] * len(train))
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps - warmup, warmup_target=lr, warmup_steps=warmup)
    optimizer = keras.optimizers.SGD(schedule, momentum=RECIPE["momentum"], weight_decay=PLAIN_SETTINGS["weight_decay"])
    model_.compile(optimizer, keras.losses.CategoricalCrossentropy(from_logits=True,
                                                                   label_smoothing=RECIPE["label_smoothing"]),
                   metrics=["accuracy"])
    class ValidationTime(keras.callbacks.Callback):  # the engine's figure leaves validation out too
        seconds = 0.0

        def on_test_begin(self, logs=None):
            self.t = time.perf_counter()

        def on_test_end(self, logs=None):
            ValidationTime.seconds += time.perf_counter() - self.t

    t_fit = time.perf_counter()
    h = model_.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[ValidationTime()])
    fit_seconds = time.perf_counter() - t_fit - ValidationTime.seconds
    n_train = sum(len(list(Path(train_dir, c).iterdir())) for c in os.listdir(train_dir))
    return {"val_accuracy": round(h.history["val_accuracy"][-1], 4), "epochs": epochs,
            "train_images_per_sec": round(n_train * epochs / fit_seconds, 1), "seconds": round(time.perf_counter() - t, 1)}


def train_recipe(data=None, model="resnet18d", size=128, epochs=5, val_fraction=0.1, seed=0, smoke=False, **_) -> dict:
    """The engine against ``model.fit``: the Imagenette recipe (``recipes/imagenette.py``) with the plain ResNet-D
    settings (:data:`benchmarks.ingredients.PLAIN`; its own defaults are measured by ``ingredients``) against
    :func:`plain_fit` with the same network, settings, epochs and split, each as a whole process, one after the
    other: validation top-1 and training images/s (the engine's: from its summary; plain: images over
    ``model.fit``'s time)."""
    import sys
    import tempfile

    from benchmarks.ingredients import PLAIN

    data = Path(data).resolve() if data else assets() / "imagenette" / "train"
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, val_dir = split_folders(data, Path(tmp) / "split", val_fraction, seed)
        extra = ["--smoke"] if smoke else ["--size", str(size), "--epochs", str(epochs)]
        ours, ours_wall = timed_process([sys.executable, "recipes/imagenette.py", "--data", str(train_dir), "--val",
                                          str(val_dir), "--out", str(Path(tmp) / "engine"), "--model", model,
                                          "--seed", str(seed), "--json", *PLAIN, *extra])
        cfg = ours["recipe"]
        plain, plain_wall = timed_process([sys.executable, "-m", "benchmarks.train_recipe", str(train_dir),
                                            str(val_dir), model, str(cfg["image_size"]), str(cfg["epochs"]),
                                            str(cfg["batch_size"]), str(cfg["lr"]), str(seed)])
    rows = {"recipes/imagenette.py (engine)": {
                "val_accuracy": ours["val_accuracy"], "epochs": ours["epochs"],
                "train_images_per_sec": ours["train_images_per_sec"], "seconds": ours["seconds"],
                "process_seconds": round(ours_wall, 1)},
            "plain model.fit (Keras examples)": {**plain, "process_seconds": round(plain_wall, 1)}}
    a, b = rows.values()
    return {"task": "train-recipe", "model": model, "data": str(data), "size": cfg["image_size"],
            "epochs": cfg["epochs"], "val_fraction": val_fraction, "rows": rows,
            "accuracy_gain": round(a["val_accuracy"] - b["val_accuracy"], 4),
            "speed_ratio": round(a["train_images_per_sec"] / b["train_images_per_sec"], 2)}


def table(result: dict) -> list:
    lines = []
    lines.append(f"{result['size']} px, {result['epochs']} epochs, {result['val_fraction']:.0%} held out of {result['data']}")
    lines.append(f"{'':<36}{'val top-1':>10}{'train img/s':>13}{'seconds':>9}{'process s':>11}")
    for k, v in result["rows"].items():
        lines.append(f"{k:<36}{v['val_accuracy']:>10.3f}{v['train_images_per_sec']:>13.1f}{v['seconds']:>9.1f}"
                     f"{v['process_seconds']:>11.1f}")
    lines.append(f"accuracy gain {result['accuracy_gain']:+.3f}; training speed ratio (engine / plain) "
                 f"{result['speed_ratio']}")
    return lines


if __name__ == "__main__":  # the plain model.fit as its own process, timed whole by train_recipe
    import sys

    a = sys.argv[1:]
    print(json.dumps(plain_fit(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6]), int(a[7]))))
