"""``python -m benchmarks discriminative``: ``fine_tune`` with one rate for the whole network against
fastai's discriminative rates (``lr_mult``: the backbone's first half at ``lr / lr_mult``, its second half at
``lr / sqrt(lr_mult)``, the head at ``lr``), side by side on one seeded split, every other setting the
defaults. The held-out validation split is the one ``fine_tune`` makes (20% of each class, seeded)."""

import tempfile
import time
from pathlib import Path

# (lr, lr_mult): fine_tune's single rate, and fastai's slice(lr / 10, lr) and slice(lr / 100, lr) at that rate.
SETTINGS = ((1e-3, 1.0), (1e-3, 10.0), (1e-3, 100.0))


def discriminative(data=None, model="mobilenet_0.25_128", weights=None, seed=0, settings=SETTINGS,
                   smoke=False, **_) -> dict:
    import ilsvrc_keras
    from benchmarks.common import assets

    assets = assets()
    data = Path(data or assets / "flowers")
    weights = str(weights or assets / "weights" / "mobilenet_2_5_128_tf.h5")
    short = {"head_epochs": 1, "epochs": 1, "batch_size": 8} if smoke else {}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lr, mult in settings:
            start = time.perf_counter()
            r = ilsvrc_keras.fine_tune(str(data), model=model, weights=weights, out=Path(tmp) / f"m{mult:g}-{lr:g}",
                                       lr=lr, lr_mult=mult, seed=seed, progress=False, **short)
            all_phase = r.phases.get("all", {})
            rows[f"lr {lr:g}, lr_mult {mult:g}" + (" (one rate)" if mult == 1 else "")] = {
                "val_accuracy": r.val_accuracy, "best_whole_network": all_phase.get("best_val_accuracy"),
                "head_phase": r.phases["head"]["best_val_accuracy"], "seconds": round(time.perf_counter() - start, 1)}
    return {"task": "discriminative", "model": model, "data": str(data), "seed": seed, "rows": rows}


def table(result: dict) -> list:
    lines = [f"fine_tune defaults on {result['data']} (20% held out, seed {result['seed']})",
             f"{'':<30}{'val top-1':>10}{'whole-net best':>16}{'head phase':>12}{'seconds':>9}"]
    for k, v in result["rows"].items():
        lines.append(f"{k:<30}{v['val_accuracy']:>10.3f}{v['best_whole_network'] or 0:>16.3f}"
                     f"{v['head_phase']:>12.3f}{v['seconds']:>9.1f}")
    return lines
