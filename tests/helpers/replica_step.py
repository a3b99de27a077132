"""Run in a fresh process (logical CPU devices must be set before TensorFlow starts): one training
step of the engine on 2 replicas (XLA on) and on one device, same weights, same global batch;
prints the largest weight difference as JSON."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ilsvrc_keras.training import configure_cpu_replicas, make_optimizer, make_train_step  # noqa: E402

configure_cpu_replicas(2)
import keras  # noqa: E402

BATCH = 8


def build():
    # No BatchNorm: per-replica batch statistics would differ from the full batch's by design.
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x))


rng = np.random.default_rng(0)
x = rng.normal(size=(BATCH, 32, 32, 3)).astype("float32")
y = np.eye(4, dtype="float32")[rng.integers(0, 4, BATCH)]
w = np.ones(BATCH, "float32")
w[-1] = 0.0  # a padding example must not count
keras.utils.set_random_seed(1)
initial = build().get_weights()

results = {}
for name, strategy, xla in [
    ("one", tf.distribute.OneDeviceStrategy("/cpu:0"), False),
    ("two", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), True),
]:
    with strategy.scope():
        model = build()
        model.set_weights(initial)
        opt = make_optimizer("sgd", 0.5, weight_decay=0.0)
        opt.build(model.trainable_variables)
    step = make_train_step(strategy, model, opt, global_batch_size=BATCH, xla=xla)
    data = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((x, y, w)))
    loss, correct, seen, _ = (float(v) for v in step(next(iter(data))))
    results[name] = ([np.asarray(v) for v in model.weights], loss, seen, strategy.num_replicas_in_sync)

diff = max(float(np.abs(a - b).max()) for a, b in zip(results["one"][0], results["two"][0]))
moved = max(float(np.abs(a - b).max()) for a, b in zip(results["one"][0], initial))
print(json.dumps({"max_diff": diff, "moved": moved, "loss_one": results["one"][1], "loss_two": results["two"][1],
                  "seen": [results["one"][2], results["two"][2]], "replicas": results["two"][3]}))
