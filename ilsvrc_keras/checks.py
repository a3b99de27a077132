"""Arguments checked where they enter the public functions, before any model is built.

Each check returns the value (so a call reads ``top = checks.whole("top", top, low=1)``) or raises
one :class:`~ilsvrc_keras.errors.ArgumentError` naming the argument, the value and what is
allowed. The command line checks the same ranges as it parses (:mod:`ilsvrc_keras.cli.options`);
these guard the Python calls.

>>> from ilsvrc_keras import checks
>>> checks.whole("top", 3, low=1)
3
>>> checks.whole("top", 0, low=1)
Traceback (most recent call last):
...
ilsvrc_keras.errors.ArgumentError: top must be a whole number >= 1, not 0
"""

from __future__ import annotations

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
