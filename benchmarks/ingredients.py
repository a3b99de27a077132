"""``python -m benchmarks ingredients``: the Imagenette recipe's ingredients, each run side by side on one
held-out split: ``recipes/imagenette.py --val-fraction 0.1 --seed 0`` (the same 10% of the shared train split
held out every time), as a whole process per variant, its flags the only difference.

    python -m benchmarks ingredients --data $ASSETS/imagenette/train
"""

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, assets

# The plain ResNet-D recipe: SGD with a warmup and cosine decay, ReLU, a max pool in the stem (what Keras' own
# optimizers and layers can do: the train-recipe benchmark's model.fit trains with it too).
PLAIN_SETTINGS = dict(optimizer="sgd", lr=0.2, weight_decay=5e-5, schedule="cosine", warmup_epochs=0.5,
                      activation="relu", stem_pool="max")
# What every variant shares unless it says otherwise: no squeeze-and-excitation, Inception crops of 35-100% of
# the image, label smoothing 0.1 and progressive resizing from 96 px.
SHARED = dict(se_ratio=0, crop_scale=0.35, label_smoothing=0.1, progressive_from=96)


def flags(**settings) -> list:
    """The recipe's flags for ``settings`` (``crop_scale=0.08`` -> ``--crop-scale 0.08``)."""
    return [arg for k, v in settings.items() for arg in (f"--{k.replace('_', '-')}", str(v))]


def common(**changes) -> list:
    return flags(**{**SHARED, **changes})


PLAIN = flags(**PLAIN_SETTINGS) + common()
RANGER = flags(optimizer="ranger", lr=8e-3, weight_decay=1e-2, schedule="flat_cos", warmup_epochs=0)
# name -> the recipe's flags, every one spelled out (none depends on what the recipe's defaults are at the time).
# fastai's train_imagenette.py trains its record with Ranger at 8e-3 (batch 64), weight decay 1e-2, flat then
# cosine from 72% of the run, no warmup, Mish and MaxBlurPool, label smoothing, and no progressive resizing.
FULL = RANGER + flags(activation="mish", stem_pool="maxblur")
VARIANTS = {
    "ResNet-D recipe (SGD 0.2, warmup + cosine, ReLU, max pool)": PLAIN,
    "Ranger 8e-3 + flat_cos, wd 1e-2": RANGER + flags(activation="relu", stem_pool="max") + common(),
    "Ranger + flat_cos + Mish": RANGER + flags(activation="mish", stem_pool="max") + common(),
    "Ranger + flat_cos + Mish + MaxBlurPool": FULL + common(),
    "the same, every epoch at 128 px": FULL + common(progressive_from=128),
    "the same, no label smoothing": FULL + common(label_smoothing=0),
    "the same, MixUp 0.2": FULL + common(mixup=0.2),
    "the same, crops of 8-100%": FULL + common(crop_scale=0.08),
    "the same, crops of 60-100%": FULL + common(crop_scale=0.6),
    "the same, squeeze-and-excitation (ratio 16)": FULL + common(se_ratio=16),
    "the same with crops of 60-100% and squeeze-and-excitation": FULL + common(crop_scale=0.6, se_ratio=16),
}
# The variant that trains what recipes/imagenette.py trains by default (the best of those measured).
DEFAULT = "the same, crops of 60-100%"


def ingredients(data=None, variants=None, smoke=False, **_) -> dict:
    data = Path(data or assets() / "imagenette" / "train")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, name in enumerate(variants or VARIANTS):
            cmd = [sys.executable, str(ROOT / "recipes" / "imagenette.py"), "--data", str(data), "--out",
                   str(Path(tmp) / str(i)), "--val-fraction", "0.1", "--seed", "0", "--json", *VARIANTS[name]]
            cmd += ["--smoke"] if smoke else []
            started = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                rows[name] = {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:300]}
                continue
            s = json.loads(done.stdout.strip().splitlines()[-1])
            rows[name] = {"val_accuracy": s["val_accuracy"], "best_val_accuracy": s["best_val_accuracy"],
                          "train_images_per_sec": s["train_images_per_sec"],
                          "process_seconds": round(time.perf_counter() - started, 1), "flags": " ".join(VARIANTS[name]),
                          "history": [{k: r.get(k) for k in ("epoch", "image_size", "loss", "val_accuracy")}
                                      for r in s["history"]]}
            print(json.dumps({name: rows[name]}), file=sys.stderr, flush=True)  # each row as it comes
    return {"task": "ingredients", "data": str(data), "held_out": 0.1, "smoke": smoke, "rows": rows}


def table(result: dict) -> list:
    lines = [f"recipes/imagenette.py on {result['data']}, 10% held out (seed 0); * the recipe's default",
             f"{'':<62}{'val top-1':>10}{'train img/s':>13}{'process s':>11}"]
    for k, v in result["rows"].items():
        name = f"{k} *" if k == DEFAULT else k
        if "error" in v:
            lines.append(f"{name:<62}failed: {v['error']}")
        else:
            lines.append(f"{name:<62}{v['val_accuracy']:>10.3f}{v['train_images_per_sec']:>13.1f}"
                         f"{v['process_seconds']:>11.1f}")
    return lines
