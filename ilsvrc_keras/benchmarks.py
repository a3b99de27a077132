"""Speed figures measured side by side in one process (these machines are noisy: compare ratios).

``ilsvrc-keras benchmark --task predict`` prints, for one network:
- single-image latency of :meth:`Classifier.classify` (decode-free: an in-memory photo-sized
  array, through the transform and the compiled forward pass), of the compiled forward pass
  alone, of ``model.predict`` and of an eager ``model(x)`` call on the same preprocessed input;
- batch throughput of the compiled forward pass against ``model.predict`` on the same batch.
"""

from __future__ import annotations

import time

import numpy as np


def _timeit(fn, repeats: int, warmup: int = 3) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1e3
    return {"p50_ms": round(float(np.median(ms)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def predict(model="mobilenet_0.25_128", weights=None, repeats=50, batch_size=64) -> dict:
    from .inference import load

    clf = load(model, weights)
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(375, 500, 3), dtype=np.uint8)  # a typical ImageNet size
    x1, _ = clf.preprocess([photo])
    xb = np.repeat(x1, batch_size, axis=0)

    single = {
        "classify (transform + compiled forward)": _timeit(lambda: clf.classify(photo), repeats),
        "compiled forward only": _timeit(lambda: clf.predict_batch(x1), repeats),
        "model.predict": _timeit(lambda: clf.model.predict(x1, verbose=0), repeats),
        "eager model(x)": _timeit(lambda: clf.model(x1, training=False), repeats),
    }
    batch_repeats = max(3, repeats // 10)
    ours = _timeit(lambda: clf.predict_batch(xb), batch_repeats, warmup=1)
    keras_ = _timeit(lambda: clf.model.predict(xb, batch_size=batch_size, verbose=0), batch_repeats, warmup=1)
    throughput = {
        "compiled forward": round(batch_size / (ours["p50_ms"] / 1e3), 1),
        "model.predict": round(batch_size / (keras_["p50_ms"] / 1e3), 1),
    }
    return {"task": "predict", "model": clf.name, "batch_size": batch_size, "repeats": repeats,
            "single_image_latency": single, "batch_images_per_sec": throughput}


TASKS = {"predict": predict}


def run(task: str, **kwargs) -> dict:
    return TASKS[task](**kwargs)


def format_table(result: dict) -> str:
    lines = [f"{result['task']} benchmark, {result['model']}"]
    if result["task"] == "predict":
        lines.append(f"{'single image':<42}{'p50 ms':>9}{'p95 ms':>9}")
        for k, v in result["single_image_latency"].items():
            lines.append(f"{k:<42}{v['p50_ms']:>9.2f}{v['p95_ms']:>9.2f}")
        lines.append(f"batch of {result['batch_size']}: images/s")
        for k, v in result["batch_images_per_sec"].items():
            lines.append(f"  {k:<40}{v:>9.1f}")
    return "\n".join(lines)
