"""Training images/s of a zoo network on every accelerator of this machine through the engine
(``python -m benchmarks gpu``; ``benchmarks/gpu.sh``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, assets, split_folders, timed_process, timeit  # noqa: F401
from benchmarks.input import synthetic_jpegs


def gpu_train(model="resnet50", size=224, batch_per_replica=128, steps=40, warmup=10, precision=None,
              data=None, replicas=None, **_) -> dict:
    """Training images/s and step time of ``model`` at ``size`` px on every accelerator (MirroredStrategy
    over all GPUs, or ``replicas`` CPU replicas), with XLA on and off, on synthetic tensors (the step
    alone) and on JPEGs through the training input pipeline (``data``, or generated photo-sized JPEGs).
    What ``benchmarks/gpu.sh`` runs."""
    import tempfile

    import keras
    import tensorflow as tf

    from ilsvrc_keras.datasets import folder_dataset, make_dataset
    from ilsvrc_keras.presets import get_preset
    from ilsvrc_keras.training import make_optimizer, make_train_step
    from ilsvrc_keras.training.strategy import choose_strategy, default_precision, precision_policy
    from ilsvrc_keras.zoo import create_model

    strategy = choose_strategy(replicas)
    n = strategy.num_replicas_in_sync
    precision = precision or default_precision()
    batch = batch_per_replica * n
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(data) if data else synthetic_jpegs(Path(tmp) / "jpegs", count=max(2 * batch, 64))
        split = folder_dataset(images, val_fraction=0.0)
        classes = len(split.class_names)
        transform = get_preset(model).transform(size)
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8)  # pixels: the step normalizes
        y = np.eye(classes, dtype="float32")[rng.integers(0, classes, batch)]
        synthetic = tf.data.Dataset.from_tensors((x, y, np.ones(batch, "float32"))).repeat()
        rows = []
        for xla in (True, False):
            keras.backend.clear_session()
            with precision_policy(precision), strategy.scope():
                net = create_model(model, num_classes=classes, input_shape=(size, size, 3), classifier_activation=None)
                opt = make_optimizer("sgd", 0.1, weight_decay=1e-4, precision=precision)
                opt.build(net.trainable_variables)  # its slots mirrored now, as the Trainer does
                step = make_train_step(strategy, net, opt, global_batch_size=batch, xla=xla,
                                       loss_scale=precision == "fp16", normalize=transform.normalize)
            for source in ("synthetic", "jpeg pipeline"):  # one compiled step for both sources
                ds = synthetic if source == "synthetic" else make_dataset(
                    split.train, transform, batch, classes, training=True, normalize=False).repeat()
                it = iter(strategy.experimental_distribute_dataset(ds))
                for _ in range(warmup):  # compile (once per setting) and fill the pipeline
                    step(next(it))
                float(step(next(it))[0])
                t = time.perf_counter()
                for _ in range(steps):
                    out = step(next(it))
                float(out[0])  # wait for the device
                seconds = time.perf_counter() - t
                rows.append({"xla": xla, "data": source, "images_per_sec": round(batch * steps / seconds, 1),
                             "step_ms": round(1000 * seconds / steps, 1)})
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or ["CPU"]
    return {"task": "gpu", "model": model, "size": size, "precision": precision, "replicas": n,
            "global_batch": batch, "steps": steps, "devices": devices, "rows": rows}


def table(result: dict) -> list:
    lines = []
    lines.append(f"{result['size']} px, {result['precision']}, {result['replicas']} replica(s) "
                 f"({', '.join(result['devices'])}), global batch {result['global_batch']}")
    lines.append(f"{'xla':<6}{'data':<16}{'images/s':>10}{'step ms':>10}")
    for r in result["rows"]:
        lines.append(f"{str(r['xla']):<6}{r['data']:<16}{r['images_per_sec']:>10.1f}{r['step_ms']:>10.1f}")
    return lines
