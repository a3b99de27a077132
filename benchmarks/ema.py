"""``python -m benchmarks ema``: the same training run twice, side by side, on one seeded split: plain
keep-best (the best validation epoch's training weights) against EMA with keep-best (every validation, the
keep-best choice and the final model on the averaged weights)."""

import tempfile
import time
from pathlib import Path


def ema(data=None, model="resnet18", size=64, epochs=12, batch_size=32, momentum=0.99, seed=0, **_) -> dict:
    import ilsvrc_keras
    from benchmarks.common import assets, split_folders

    data = Path(data or assets() / "flowers")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, val_dir = split_folders(data, Path(tmp) / "split", val_fraction=0.2, seed=seed)
        for name, extra in (("keep-best", {}), (f"EMA {momentum} + keep-best", {"ema": momentum})):
            start = time.perf_counter()
            r = ilsvrc_keras.train(str(train_dir), model, Path(tmp) / name.replace(" ", "_"), val_data=str(val_dir),
                                   epochs=epochs, batch_size=batch_size, image_size=size, lr=0.1, warmup_epochs=1,
                                   restore_best=True, progress=False, seed=seed, **extra)
            rows[name] = {"best_val_accuracy": r.best_val_accuracy, "best_epoch": r.best_epoch,
                          "last_val_accuracy": r.history[-1].get("val_accuracy"),
                          "seconds": round(time.perf_counter() - start, 1)}
    return {"task": "ema", "model": model, "data": str(data), "size": size, "epochs": epochs, "rows": rows}


def table(result: dict) -> list:
    lines = [f"{result['epochs']} epochs at {result['size']} px on {result['data']} (20% held out)",
             f"{'':<32}{'best val top-1':>16}{'at epoch':>10}{'last epoch':>12}{'seconds':>9}"]
    for k, v in result["rows"].items():
        lines.append(f"{k:<32}{v['best_val_accuracy']:>16.3f}{v['best_epoch']:>10}{v['last_val_accuracy']:>12.3f}"
                     f"{v['seconds']:>9.1f}")
    return lines
