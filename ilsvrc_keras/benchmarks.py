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


def predict(model="mobilenet_0.25_128", weights=None, repeats=50, batch_size=64, **_) -> dict:
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


def localize(model="mobilenet_0.25_128", weights=None, repeats=10, **_) -> dict:
    """Images/s of one top-1 localization (classification + heat map + box) per method, with
    the package defaults (the heat map at twice the input size), on one photo-sized image."""
    from .localization import METHODS, localizer_for

    loc = localizer_for(model, weights)
    photo = np.random.default_rng(0).integers(0, 256, size=(375, 500, 3), dtype=np.uint8)
    rows = {}
    for method in METHODS:
        n = max(2, repeats // 5) if method == "scorecam" else repeats  # Score-CAM: one pass per channel
        t = _timeit(lambda: loc.localize(photo, top=1, method=method), n, warmup=1)
        rows[method] = {**t, "images_per_sec": round(1e3 / t["p50_ms"], 2)}
    base = rows["gradcam"]["p50_ms"]
    for r in rows.values():
        r["time_vs_gradcam"] = round(r["p50_ms"] / base, 1)
    return {"task": "localize", "model": loc.clf.name, "repeats": repeats, "methods": rows}


TASKS = {"predict": predict, "localize": localize}


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
    if result["task"] == "localize":
        lines.append(f"{'method':<12}{'p50 ms':>10}{'images/s':>10}{'x Grad-CAM':>12}")
        for k, v in result["methods"].items():
            lines.append(f"{k:<12}{v['p50_ms']:>10.1f}{v['images_per_sec']:>10.2f}{v['time_vs_gradcam']:>12.1f}")
    return "\n".join(lines)
