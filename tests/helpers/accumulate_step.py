"""Run in a fresh process (logical CPU devices must be set before TensorFlow starts): one optimizer update
from 4 accumulated steps of batch 8 against one step of batch 32, with Adam and gradient clipping, on one
device and on 2 replicas (and per-variable rates); prints the largest weight differences as JSON."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ilsvrc_keras.training import configure_cpu_replicas, make_optimizer, make_train_step  # noqa: E402

configure_cpu_replicas(2)
import keras  # noqa: E402

N, MICRO = 4, 8


def build():
    # No BatchNorm: micro-batch statistics differ from the large batch's by design.
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x))


rng = np.random.default_rng(0)
x = rng.normal(size=(N * MICRO, 16, 16, 3)).astype("float32")
y = np.eye(4, dtype="float32")[rng.integers(0, 4, N * MICRO)]
w = np.ones(N * MICRO, "float32")
keras.utils.set_random_seed(1)
initial = build().get_weights()


def run(strategy, accumulate, optimizer="adam", lr=0.01, multipliers=None):
    with strategy.scope():
        model = build()
        model.set_weights(initial)
        opt = make_optimizer(optimizer, lr, momentum=0.0, multipliers=multipliers)
        opt.build(model.trainable_variables)
    batch = MICRO if accumulate > 1 else N * MICRO
    step = make_train_step(strategy, model, opt, global_batch_size=batch, from_logits=True,
                           accumulate_steps=accumulate, clip_norm=0.05)
    data = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y, w)).batch(batch))
    for b in data:
        step(b)
    return [np.asarray(v) for v in model.trainable_weights], int(opt.iterations.numpy())


out = {}
for name, strategy in (("one", tf.distribute.OneDeviceStrategy("/cpu:0")),
                       ("two", tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))):
    big, big_updates = run(strategy, 1)
    small, small_updates = run(strategy, N)
    out[name] = {"max_diff": max(float(np.abs(a - b).max()) for a, b in zip(big, small)),
                 "moved": max(float(np.abs(a - b).max()) for a, b in zip(big, initial[:len(big)])),
                 "updates": [big_updates, small_updates]}
    # Plain SGD at rate 1 moves the weights by exactly the clipped gradient: its global norm is the clip.
    clipped, _ = run(strategy, N, "sgd", 1.0)
    out[name]["sgd_update_norm"] = float(np.sqrt(sum(float(((a - b) ** 2).sum()) for a, b in zip(clipped, initial))))
    out[name]["sgd_weights"] = [float(v) for v in clipped[-1].ravel()]
    # Discriminative rates: the convolution's kernel and bias at a quarter of the rate, the dense layer's at it.
    # Adam's step does not scale with the gradient, so its update shows the rate itself.
    full, _ = run(strategy, 1, "adam", 0.01)
    quarter, _ = run(strategy, 1, "adam", 0.01, multipliers=[0.25, 0.25, 1.0, 1.0])
    out[name]["update_ratios"] = [float(np.abs(q - i).max() / np.abs(f - i).max())
                                  for f, q, i in zip(full, quarter, initial)]
print(json.dumps(out))
