"""Single-image latency and batch throughput of pretrained inference (``python -m benchmarks predict``)."""

from __future__ import annotations

import numpy as np

from benchmarks.common import ROOT, assets, split_folders, timed_process, timeit  # noqa: F401


def predict(model="mobilenet_0.25_128", weights=None, repeats=50, batch_size=64, **_) -> dict:
    from ilsvrc_keras.inference import load

    clf = load(model, weights)
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(375, 500, 3), dtype=np.uint8)  # a typical ImageNet size
    x1, _ = clf.preprocess([photo])
    xb = np.repeat(x1, batch_size, axis=0)

    single = {
        "classify (transform + compiled forward)": timeit(lambda: clf.classify(photo), repeats),
        "compiled forward only": timeit(lambda: clf.predict_batch(x1), repeats),
        "model.predict": timeit(lambda: clf.model.predict(x1, verbose=0), repeats),
        "eager model(x)": timeit(lambda: clf.model(x1, training=False), repeats),
    }
    batch_repeats = max(3, repeats // 10)
    ours = timeit(lambda: clf.predict_batch(xb), batch_repeats, warmup=1)
    keras_ = timeit(lambda: clf.model.predict(xb, batch_size=batch_size, verbose=0), batch_repeats, warmup=1)
    throughput = {
        "compiled forward": round(batch_size / (ours["p50_ms"] / 1e3), 1),
        "model.predict": round(batch_size / (keras_["p50_ms"] / 1e3), 1),
    }
    return {"task": "predict", "model": clf.name, "batch_size": batch_size, "repeats": repeats,
            "single_image_latency": single, "batch_images_per_sec": throughput}


def table(result: dict) -> list:
    lines = []
    lines.append(f"{'single image':<42}{'p50 ms':>9}{'p95 ms':>9}")
    for k, v in result["single_image_latency"].items():
        lines.append(f"{k:<42}{v['p50_ms']:>9.2f}{v['p95_ms']:>9.2f}")
    lines.append(f"batch of {result['batch_size']}: images/s")
    for k, v in result["batch_images_per_sec"].items():
        lines.append(f"  {k:<40}{v:>9.1f}")
    return lines
