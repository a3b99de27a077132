"""The learning-rate finder's engine (fastai's ``lr_find``; Smith, "Cyclical Learning Rates", 2017): train
on the user's data while the rate grows exponentially, record the loss at every step, and read a rate off
the curve. The model is left as it was found: its weights (BatchNorm statistics included) are restored, and
the probe trains with an optimizer of its own. :func:`ilsvrc_keras.lr_find` is the user's call.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from ..checks import check
from ..errors import ArgumentError


@dataclasses.dataclass
class LRFinderResult:
    """The probe's curve and the rates read off it.

    ``suggestion``: fastai's default "valley" rule (the middle of the longest stretch over which the loss
    keeps falling, a little past its start); ``steepest``: where the smoothed loss falls fastest;
    ``minimum``: the rate of the lowest smoothed loss divided by 10 (the older rule of thumb).
    ``stopped_early``: the loss diverged (over 4x its minimum) before ``end_lr``."""

    lrs: list
    losses: list
    smoothed: list
    suggestion: float
    steepest: float
    minimum: float
    stopped_early: bool
    plot: Optional[str] = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def exponential_rates(start_lr: float, end_lr: float, steps: int) -> np.ndarray:
    """``steps`` rates from ``start_lr`` to ``end_lr``, evenly spaced on a log scale.

    >>> exponential_rates(1e-4, 1e-1, 4).round(6).tolist()
    [0.0001, 0.001, 0.01, 0.1]
    """
    return np.geomspace(start_lr, end_lr, steps)


def smooth(losses, beta: float = 0.98) -> np.ndarray:
    """fastai's debiased exponential moving average of the losses.

    >>> smooth([1.0, 1.0, 1.0]).round(12).tolist()
    [1.0, 1.0, 1.0]
    """
    out, avg = [], 0.0
    for i, loss in enumerate(losses, 1):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** i))
    return np.array(out)


def valley(lrs, losses) -> float:
    """fastai's "valley" rule: the longest run of falling loss, and a rate a little past the start of its
    middle third (fastai's ``valley``, index arithmetic included).

    >>> valley(exponential_rates(1e-6, 1e2, 9), [3, 3, 3, 2.5, 2, 1.5, 1, 0.9, 6])
    0.01
    """
    losses = list(losses)
    n = len(losses)
    longest = [1] * n
    best_start, best_end = 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
            if longest[best_end] < longest[i]:
                best_end, best_start = i, i - longest[i]
    third = (best_end - best_start) / 3
    return float(lrs[min(n - 1, best_start + int(third) + int(third / 2))])


def steepest(lrs, smoothed) -> float:
    """The rate where the smoothed loss falls fastest per decade of rate, the curve's first tenth and last
    five points left out as fastai's plot leaves them (the moving average is still settling at the start;
    the end is the divergence)."""
    lrs, smoothed = np.asarray(lrs), np.asarray(smoothed)
    start, end = len(lrs) // 10, len(lrs) - (5 if len(lrs) > 20 else 0)
    if end - start < 3:
        start, end = 0, len(lrs)
    slope = np.gradient(smoothed[start:end], np.log10(lrs[start:end]))
    return float(lrs[start + int(np.nanargmin(slope))])


def probe(model, batches, *, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100,
          optimizer: str = "adam", from_logits: bool = True, label_smoothing: float = 0.0,
          progress=None) -> LRFinderResult:
    """Train ``model`` on ``batches`` (an endless iterator of ``(x, one-hot y, weights)`` batches) for up to
    ``steps`` steps at rates growing from ``start_lr`` to ``end_lr``, stopping once the smoothed loss exceeds
    4x its minimum; then put the model's weights back. ``progress``: a callable told each step's number."""
    import keras
    import tensorflow as tf

    from .schedules import make_optimizer
    from .steps import make_train_step

    check("steps", steps)
    check("start_lr", start_lr)
    check("end_lr", end_lr)
    if not end_lr > start_lr:
        raise ArgumentError(f"end_lr ({end_lr}) must be above start_lr ({start_lr})")
    rates = exponential_rates(start_lr, end_lr, steps)
    schedule = keras.optimizers.schedules.ExponentialDecay(start_lr, max(1, steps - 1), end_lr / start_lr)
    opt = make_optimizer(optimizer, schedule)
    saved = [w.copy() for w in model.get_weights()]
    losses, stopped = [], False
    try:
        step = None
        for i in range(steps):
            x, y, w = next(batches)
            if step is None:
                step = make_train_step(tf.distribute.get_strategy(), model, opt, global_batch_size=int(x.shape[0]),
                                       label_smoothing=label_smoothing, from_logits=from_logits)
            loss = float(step((x, y, w))[0])
            losses.append(loss)
            if progress is not None:
                progress(i + 1)
            current = smooth(losses)
            if not math.isfinite(loss) or (i >= 10 and current[-1] > 4 * current.min()):
                stopped = i + 1 < steps
                break
    finally:
        model.set_weights(saved)
    # The last point of a divergence is off the chart: the curve and the rules use the points before it.
    kept = max(2, len(losses) - 1) if stopped else len(losses)
    lrs, losses = rates[:kept], np.nan_to_num(np.array(losses[:kept]), nan=np.inf)
    smoothed = smooth(losses)
    lowest = float(lrs[int(np.argmin(smoothed))])
    return LRFinderResult(lrs=[float(v) for v in lrs], losses=[float(v) for v in losses],
                          smoothed=[float(v) for v in smoothed], suggestion=valley(lrs, smoothed),
                          steepest=steepest(lrs, smoothed), minimum=lowest / 10, stopped_early=stopped)


def find_rate(net, split, transform, num_classes: int, *, batch_size: int, seed: int = 0, augment=None,
              progress: bool = True, **settings) -> LRFinderResult:
    """:func:`probe` on a training split through the engine's own input pipeline (its crops and flips,
    ``augment``), pass after pass over the split for as long as the probe runs (one pipeline, built once:
    a small split is not rebuilt every few steps); a progress bar where ``progress`` (``tqdm.auto``: a widget
    in notebooks)."""
    from ..datasets import make_dataset

    batches = make_dataset(split, transform, batch_size, num_classes, training=True, seed=seed, augment=augment,
                           repeat=True)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=settings.get("steps", 100), unit="step", desc="lr_find", leave=False)
    try:
        return probe(net, iter(batches), progress=(lambda i: bar.update(1)) if bar else None, **settings)
    finally:
        if bar is not None:
            bar.close()
