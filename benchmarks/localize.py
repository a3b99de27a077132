"""Images/s of one top-1 localization per method (``python -m benchmarks localize``)."""

from __future__ import annotations

import numpy as np

from benchmarks.common import ROOT, assets, split_folders, timed_process, timeit  # noqa: F401


def localize(model="mobilenet_0.25_128", weights=None, repeats=10, **_) -> dict:
    """Images/s of one top-1 localization (classification + heat map + box) per method, with
    the package defaults (the heat map at twice the input size), on one photo-sized image."""
    from ilsvrc_keras.localization import METHODS, localizer_for

    loc = localizer_for(model, weights)
    photo = np.random.default_rng(0).integers(0, 256, size=(375, 500, 3), dtype=np.uint8)
    rows = {}
    for method in METHODS:
        n = max(2, repeats // 5) if method == "scorecam" else repeats  # Score-CAM: one pass per channel
        t = timeit(lambda: loc.localize(photo, top=1, method=method), n, warmup=1)
        rows[method] = {**t, "images_per_sec": round(1e3 / t["p50_ms"], 2)}
    base = rows["gradcam"]["p50_ms"]
    for r in rows.values():
        r["time_vs_gradcam"] = round(r["p50_ms"] / base, 1)
    return {"task": "localize", "model": loc.clf.name, "repeats": repeats, "methods": rows}


def table(result: dict) -> list:
    lines = []
    lines.append(f"{'method':<12}{'p50 ms':>10}{'images/s':>10}{'x Grad-CAM':>12}")
    for k, v in result["methods"].items():
        lines.append(f"{k:<12}{v['p50_ms']:>10.1f}{v['images_per_sec']:>10.2f}{v['time_vs_gradcam']:>12.1f}")
    return lines
