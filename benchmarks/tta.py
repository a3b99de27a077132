"""``python -m benchmarks tta``: test-time augmentation against none, measured side by side in one run on the
100 ILSVRC2012 validation images of the development assets (an ImageNet network) and on a held-out fifth of
a class-per-folder dataset, classified by a model folder fine-tuned on the other four fifths."""

import tempfile
import time
from pathlib import Path


def _both(data, model, **kw) -> dict:
    import ilsvrc_keras

    rows = {}
    for tta in (False, True):
        ilsvrc_keras.evaluate(data, model=model, progress=False, limit=8, tta=tta, **kw)  # warm-up: tracing
        start = time.perf_counter()
        r = ilsvrc_keras.evaluate(data, model=model, progress=False, tta=tta, **kw)
        rows["six views (TTA)" if tta else "center crop"] = {
            "accuracy": r["accuracy"], "top_5_accuracy": r["top_5_accuracy"], "n": r["n"], "seconds": round(time.perf_counter() - start, 1)}
    return rows


def tta(data=None, model="mobilenet_0.25_128", weights=None, seed=0, **_) -> dict:
    import ilsvrc_keras
    from benchmarks.common import assets, split_folders

    assets = assets()
    val = assets / "ilsvrc2012-val-sample"
    result = {"task": "tta", "model": model, "tables": {}}
    if val.is_dir():
        result["tables"]["ILSVRC2012 val, 100 images"] = _both(
            str(val / "images"), ilsvrc_keras.load(model, weights), labels=str(val / "LOC_val_solution.csv"))
    data = Path(data or assets / "flowers")
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, val_dir = split_folders(data, Path(tmp) / "split", val_fraction=0.2, seed=seed)
        start = time.perf_counter()
        ilsvrc_keras.fine_tune(str(train_dir), model=model, weights=weights or "imagenet",
                               out=Path(tmp) / "model", progress=False, seed=seed)
        result["fine_tune_seconds"] = round(time.perf_counter() - start, 1)
        result["tables"][f"{data.name}: fine-tuned folder, held-out 20%"] = _both(str(val_dir), str(Path(tmp) / "model"))
    return result


def table(result: dict) -> list:
    lines = [f"{'':<48}{'top-1':>8}{'top-5':>8}{'images':>8}{'seconds':>9}"]
    for name, rows in result["tables"].items():
        lines.append(name)
        for k, v in rows.items():
            lines.append(f"  {k:<46}{v['accuracy']:>8.3f}{v['top_5_accuracy']:>8.3f}{v['n']:>8}{v['seconds']:>9.1f}")
    return lines
