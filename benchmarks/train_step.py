"""The engine's training step against ``model.fit`` (``python -m benchmarks train``)."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import ROOT, assets, split_folders, timed_process, timeit  # noqa: F401


def train_speed(model="resnet18", size=64, batch_size=32, steps=15, precisions=("fp32", "bf16"), **_) -> dict:
    """Training images/s of the engine's step against plain ``model.fit`` on the same model and
    batch (synthetic data in memory, so that only the training step is measured), XLA on and off,
    for each precision."""
    import keras
    import tensorflow as tf

    from ilsvrc_keras.training import POLICIES, make_optimizer, make_train_step
    from ilsvrc_keras.zoo import create_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch_size, size, size, 3)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, batch_size)]
    w = np.ones(batch_size, "float32")
    rows = []
    old = keras.mixed_precision.dtype_policy()
    try:
        for precision in precisions:
            keras.mixed_precision.set_dtype_policy(POLICIES[precision])
            for xla in (False, True):
                strategy = tf.distribute.get_strategy()
                m = create_model(model, num_classes=10, input_shape=(size, size, 3))
                opt = make_optimizer("sgd", 0.01, precision=precision)
                step = make_train_step(strategy, m, opt, global_batch_size=batch_size, xla=xla,
                                       loss_scale=precision == "fp16")
                batch = (tf.constant(x), tf.constant(y), tf.constant(w))
                engine = timeit(lambda: step(batch), steps, warmup=2)
                m2 = create_model(model, num_classes=10, input_shape=(size, size, 3))
                m2.compile(make_optimizer("sgd", 0.01, precision=precision), "categorical_crossentropy",
                           jit_compile=xla)
                ds = tf.data.Dataset.from_tensors((x, y)).repeat(steps)
                m2.fit(tf.data.Dataset.from_tensors((x, y)).repeat(2), verbose=0)
                t = time.perf_counter()
                m2.fit(ds, verbose=0)
                fit_rate = batch_size * steps / (time.perf_counter() - t)
                rows.append({"precision": precision, "xla": xla,
                             "engine_images_per_sec": round(batch_size / (engine["p50_ms"] / 1e3), 1),
                             "fit_images_per_sec": round(fit_rate, 1)})
    finally:
        keras.mixed_precision.set_dtype_policy(old)
    return {"task": "train", "model": model, "size": size, "batch_size": batch_size, "rows": rows}


def table(result: dict) -> list:
    lines = []
    lines.append(f"{'precision':<10}{'xla':<6}{'engine img/s':>14}{'fit img/s':>12}")
    for r in result["rows"]:
        lines.append(f"{r['precision']:<10}{str(r['xla']):<6}{r['engine_images_per_sec']:>14.1f}"
                     f"{r['fit_images_per_sec']:>12.1f}")
    return lines
