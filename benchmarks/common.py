"""What the benchmark tasks share: the assets, timing, one split for both sides of a comparison."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def assets() -> Path:
    """The development assets (``$ILSVRC_KERAS_ASSETS``, else ``../shared/assets`` beside the repository)."""
    return Path(os.environ.get("ILSVRC_KERAS_ASSETS", ROOT.parent / "shared" / "assets"))


def timeit(fn, repeats: int, warmup: int = 3) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1e3
    return {"p50_ms": round(float(np.median(ms)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def timed_process(cmd) -> tuple:
    import os
    import subprocess

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    if done.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def split_folders(data, out, val_fraction=0.1, seed=0) -> tuple:
    """A class-per-folder tree split once (stratified, seeded) into ``out/train`` and ``out/val`` of
    symbolic links, so that both sides of a benchmark see exactly the same images."""
    from ilsvrc_keras.datasets.folders import files_by_class, stratified_split

    data, out = Path(data).resolve(), Path(out)
    train, val = stratified_split(files_by_class(data), val_fraction, seed)
    for name, split in (("train", train), ("val", val)):
        for cls, files in split.items():
            (out / name / cls).mkdir(parents=True, exist_ok=True)
            for f in files:
                link = out / name / cls / Path(f).name
                if not link.exists():
                    link.symlink_to(Path(f).resolve())
    return out / "train", out / "val"
