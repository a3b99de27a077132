"""Arguments checked where they enter the public functions, before any model is built.

:data:`RANGES` is the one table of every numeric argument's kind and range, by name: the Python functions
check against it (:func:`check`) and the command line and the recipes parse with it
(:func:`ilsvrc_keras.cli.options.ranged`), so a range cannot differ between them. Each check returns the
value or raises one :class:`~ilsvrc_keras.errors.ArgumentError` naming the argument, the value and what
is allowed.

>>> from ilsvrc_keras import checks
>>> checks.check("top", 3)
3
>>> checks.check("top", 0)
Traceback (most recent call last):
...
ilsvrc_keras.errors.ArgumentError: top must be a whole number >= 1, not 0
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Optional

from .errors import ArgumentError


def whole(name: str, value, low: int = 0, high: Optional[int] = None, optional: bool = False):
    """An ``int`` in ``[low, high]`` (``None`` too where ``optional``); bools are refused."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
            high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ArgumentError(f"{name} must be a whole number {allowed}{' or None' if optional else ''}, "
                            f"not {value!r}")
    return int(value)


def number(name: str, value, low: Optional[float] = None, high: Optional[float] = None, low_open: bool = False,
           optional: bool = False):
    """A real number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    if value is None and optional:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value  # not NaN
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "" if low is None else f"{'(' if low_open else '['}{low}, "
        hi = "inf)" if high is None else f"{high}]"
        raise ArgumentError(f"{name} must be a number in {lo or '(-inf, '}{hi}, not {value!r}")
    return float(value)


def choice(name: str, value, choices, optional: bool = False):
    """One of ``choices``."""
    if value is None and optional:
        return None
    if value not in tuple(choices):
        raise ArgumentError(f"{name} must be one of {', '.join(map(str, choices))}, not {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Range:
    """A numeric argument's kind (``int`` or ``float``) and bounds (``low_open``: ``low`` itself excluded)."""

    kind: type
    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False

    def check(self, name: str, value, optional: bool = False):
        if self.kind is int:
            return whole(name, value, low=int(self.low or 0), high=self.high, optional=optional)
        return number(name, value, self.low, self.high, low_open=self.low_open, optional=optional)

    def words(self) -> str:
        """What it accepts, as the messages say it: ``a whole number >= 1``, ``a number in (0, 1]``."""
        if self.kind is int:
            return f"a whole number >= {self.low or 0}" if self.high is None else \
                f"a whole number in [{self.low or 0}, {self.high}]"
        if self.high is None:
            return f"a number {'>' if self.low_open else '>='} {self.low:g}"
        return f"a number in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]"


_COUNT, _POSITIVE = Range(int, 0), Range(int, 1)
_RATE, _NONNEG, _UNIT, _FRACTION = Range(float, 0, low_open=True), Range(float, 0), Range(float, 0, 1), \
    Range(float, 0, 1, low_open=True)

# Every numeric argument of the public functions, the CLI and the recipes, by its Python name (the CLI's
# flag with dashes). Epochs may be 0 (fine_tune's phases; "nothing to train" is each function's own rule).
RANGES = {
    **dict.fromkeys(("epochs", "head_epochs", "epoch_offset", "unfreeze", "se_ratio"), _COUNT),
    **dict.fromkeys(("batch_size", "checkpoint_every", "keep_checkpoints", "patience", "progressive_from",
                     "stop_after_steps", "replicas", "top", "limit", "shard_size", "workers", "scale_jitter", "steps",
                     "accumulate_steps"), _POSITIVE),
    "image_size": Range(int, 1),  # and at least the architecture's own minimum (registry.check_image_size)
    "shorter_side": Range(int, 8),
    **dict.fromkeys(("lr", "base_lr", "head_lr", "start_lr", "end_lr", "clip_norm"), _RATE),
    **dict.fromkeys(("weight_decay", "warmup_epochs", "aux_weight", "milestones", "mixup", "cutmix"), _NONNEG),
    **dict.fromkeys(("momentum", "label_smoothing", "gamma", "ema", "bn_momentum", "dropout", "val_fraction",
                     "threshold", "progressive_ramp", "flat_fraction"), _UNIT),
    **dict.fromkeys(("crop_fraction", "crop_scale"), _FRACTION),
    "port": Range(int, 1, 65535),
    "scale": Range(float, 0, 16, low_open=True),
    "cluster_timeout": Range(float, 1),
    "lr_mult": Range(float, 1),  # the head's rate over the first layers' (fine_tune's discriminative rates)
    "lr_multiplier": _NONNEG,
}


def check(name: str, value, optional: bool = False):
    """``value`` checked against ``name``'s range in :data:`RANGES` (``None`` allowed where ``optional``)."""
    return RANGES[name].check(name, value, optional)
