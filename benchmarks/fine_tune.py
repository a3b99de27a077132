"""``fine_tune`` with its defaults against the plain Keras transfer-learning recipe
(``python -m benchmarks fine-tune``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.common import ROOT, assets, split_folders, timed_process, timeit  # noqa: F401


def plain_recipe(data, weights, seed=0) -> dict:
    """The plain Keras transfer-learning recipe of ``../shared/README.md``, written the way the Keras
    examples write it: frozen MobileNet-0.25, GAP + dropout + dense, Adam 1e-3 for 10 epochs, then
    all layers at 1e-5 for 5 epochs, flip and rotation, on the same seeded split as ``fine_tune``.
    Run as a script by the fine-tune benchmark (``python -m benchmarks.fine_tune DATA WEIGHTS``),
    so that both sides are timed as whole processes."""
    import keras
    import tensorflow as tf

    from ilsvrc_keras.datasets import decode_image, open_dataset
    from ilsvrc_keras.transforms import EvalTransform
    from ilsvrc_keras.weights import load_weights

    t = time.perf_counter()
    ds = open_dataset(data, val_fraction=0.2, seed=seed)
    tr = EvalTransform(128, 128 / 146, "tf")

    def files(split, training):
        d = tf.data.Dataset.from_tensor_slices((split.paths, split.labels))
        if training:
            d = d.shuffle(len(split), seed=seed)
        d = d.map(lambda p, y: (tr.crop(decode_image(tf.io.read_file(p))), y), num_parallel_calls=tf.data.AUTOTUNE)
        return d.batch(32).prefetch(tf.data.AUTOTUNE)

    keras.utils.set_random_seed(seed)
    base = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), include_top=False, weights=None)
    load_weights(base, weights)
    base.trainable = False
    inputs = keras.Input((128, 128, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.RandomRotation(0.1)(x)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(x)
    x = base(x, training=False)
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Dense(len(ds.class_names), activation="softmax")(x))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    train, val = files(ds.train, True), files(ds.val, False)
    h1 = model.fit(train, validation_data=val, epochs=10, verbose=0)
    base.trainable = True
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    h2 = model.fit(train, validation_data=val, epochs=5, verbose=0)
    accs = h1.history["val_accuracy"] + h2.history["val_accuracy"]
    return {"val_accuracy": round(accs[-1], 4), "peak_val_accuracy": round(max(accs), 4),
            "epochs": len(accs), "seconds": round(time.perf_counter() - t, 1)}


def fine_tune_vs_plain(data=None, weights=None, seed=0, **_) -> dict:
    """Validation accuracy and wall time of ``ilsvrc-keras fine-tune`` with its defaults against the
    plain Keras recipe (:func:`plain_recipe`), same split, each run as a whole process one after the
    other: ``seconds`` is the time inside the process after its imports, ``process_seconds`` the
    wall time of the whole process (Python and TensorFlow start-up included)."""
    import sys
    import tempfile

    data = Path(data).resolve() if data else assets() / "flowers"
    weights = str(Path(weights).resolve()) if weights else str(assets() / "weights" / "mobilenet_2_5_128_tf.h5")
    with tempfile.TemporaryDirectory() as out:
        ours, ours_wall = timed_process([sys.executable, "-m", "ilsvrc_keras", "fine-tune", str(data), "--out", out,
                                          "--weights", str(weights), "--seed", str(seed), "--quiet", "--json"])
        history = json.loads((Path(out) / "report.json").read_text())["phases"]
    plain, plain_wall = timed_process([sys.executable, "-m", "benchmarks.fine_tune", str(data),
                                        str(weights), str(seed)])
    peak = max(r["best_val_accuracy"] or 0.0 for r in history.values())
    rows = {"ilsvrc_keras fine-tune (defaults)": {
                "val_accuracy": ours["val_accuracy"], "peak_val_accuracy": round(peak, 4), "epochs": ours["epochs"],
                "seconds": ours["seconds"], "process_seconds": round(ours_wall, 1)},
            "plain Keras recipe (shared/README.md)": {**plain, "process_seconds": round(plain_wall, 1)}}
    a, b = rows.values()
    return {"task": "fine-tune", "data": str(data), "rows": rows,
            "accuracy_gain": round(a["val_accuracy"] - b["val_accuracy"], 4),
            "process_time_ratio": round(a["process_seconds"] / b["process_seconds"], 2)}


def table(result: dict) -> list:
    lines = []
    lines.append(f"{'':<40}{'val acc':>9}{'peak':>8}{'epochs':>8}{'seconds':>9}{'process s':>11}")
    for k, v in result["rows"].items():
        lines.append(f"{k:<40}{v['val_accuracy']:>9.3f}{v['peak_val_accuracy']:>8.3f}{v['epochs']:>8}"
                     f"{v['seconds']:>9.1f}{v['process_seconds']:>11.1f}")
    lines.append(f"accuracy gain {result['accuracy_gain']:+.3f}; whole-process time ratio (ours / plain) "
                 f"{result['process_time_ratio']}")
    return lines


if __name__ == "__main__":  # the plain recipe as its own process, timed whole by fine_tune_vs_plain
    import sys

    print(json.dumps(plain_recipe(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)))
