"""Learning-rate schedules, optimizers and the progressive-resizing size schedule."""

from __future__ import annotations

import math
from typing import Optional, Sequence

from ..errors import IlsvrcKerasError

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "radam", "ranger")
SCHEDULES = ("cosine", "step", "constant", "flat_cos")


def make_schedule(base_lr: float, total_steps: int, warmup_steps: int = 0, kind: str = "cosine",
                  milestones: tuple = (), gamma: float = 0.1, final_fraction: float = 0.0, flat_fraction: float = 0.72):
    """Linear warmup, then cosine decay to ``final_fraction * base_lr``, step decay by ``gamma`` at each of
    ``milestones`` (steps), or ``flat_cos``: the peak rate until ``flat_fraction`` of the steps, then cosine
    decay (fastai's ``fit_flat_cos``, the schedule of its Imagenette records). A keras LearningRateSchedule,
    so its position is the optimizer's step count and resumes with it.

    >>> s = make_schedule(1.0, 100, kind="flat_cos", flat_fraction=0.5)
    >>> [round(float(s(step)), 2) for step in (0, 49, 75, 100)]
    [1.0, 1.0, 0.5, 0.0]
    """
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="ilsvrc_keras")
    class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            warm = tf.minimum(1.0, (step + 1.0) / max(1.0, float(warmup_steps))) if warmup_steps else 1.0
            if kind in ("cosine", "flat_cos"):
                start = max(warmup_steps, int(flat_fraction * total_steps)) if kind == "flat_cos" else warmup_steps
                t = tf.clip_by_value((step - start) / max(1.0, float(total_steps - start)), 0.0, 1.0)
                decay = final_fraction + (1 - final_fraction) * 0.5 * (1.0 + tf.cos(math.pi * t))
            elif kind == "step":
                passed = tf.add_n([tf.cast(step >= m, tf.float32) for m in milestones]) if milestones else 0.0
                decay = tf.pow(gamma, passed)
            else:
                decay = 1.0
            return base_lr * warm * decay

        def get_config(self):
            return {}

    if kind not in SCHEDULES:
        raise IlsvrcKerasError(f"unknown schedule {kind!r}: {', '.join(SCHEDULES)}")
    return WarmupSchedule()


def make_optimizer(name: str, schedule, weight_decay: float = 0.0, momentum: float = 0.9,
                   ema: Optional[float] = None, precision: str = "fp32", multipliers: Optional[Sequence] = None):
    """A Keras optimizer by name (``OPTIMIZERS``: Keras' own, and :class:`~ilsvrc_keras.training.optimizers.RAdam`
    for ``radam`` and ``ranger``, RAdam with Lookahead), weight decay left off BatchNorm and biases, an EMA of
    the weights with ``ema``, wrapped in dynamic loss scaling for fp16. (Gradient accumulation and clipping
    are the training step's: :func:`~ilsvrc_keras.training.make_train_step`.)

    ``multipliers``: one factor per variable, in the order of the variables the optimizer is then built
    on; each variable's update runs at the schedule's rate times its factor (discriminative rates,
    fastai's ``slice(lo, hi)``; Keras' optimizers take one rate for all). The decoupled weight decay keeps
    the schedule's rate.

    >>> import keras
    >>> dense = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")
    >>> dense.build((None, 2))
    >>> opt = make_optimizer("sgd", 0.1, momentum=0.0, multipliers=[0.5])
    >>> opt.build(dense.trainable_variables)
    >>> _ = opt.apply_gradients([(keras.ops.ones((2, 1)), dense.kernel)])
    >>> [round(float(v), 3) for v in keras.ops.ravel(dense.kernel)]  # 1 - 0.1 x 0.5
    [0.95, 0.95]
    """
    import keras

    kw = {"use_ema": ema is not None, "ema_momentum": ema or 0.99}
    if name == "sgd":
        opt = keras.optimizers.SGD(schedule, momentum=float(momentum), nesterov=False,
                                   weight_decay=weight_decay or None, **kw)
    elif name == "adam":
        opt = keras.optimizers.Adam(schedule, weight_decay=weight_decay or None, **kw)
    elif name == "adamw":
        opt = keras.optimizers.AdamW(schedule, weight_decay=weight_decay or 0.05, **kw)
    elif name == "rmsprop":
        opt = keras.optimizers.RMSprop(schedule, momentum=float(momentum), weight_decay=weight_decay or None, **kw)
    elif name in ("radam", "ranger"):
        from .optimizers import RAdam

        # Ranger: RAdam with Lookahead every 6 updates at 0.5 (Wright's Ranger, fastai's Imagenette records)
        opt = RAdam(schedule, weight_decay=weight_decay or None, lookahead_steps=6 if name == "ranger" else None,
                    **kw)
    else:
        raise IlsvrcKerasError(f"unknown optimizer {name!r}: {', '.join(OPTIMIZERS)}")
    if multipliers is not None:
        _scale_updates(opt, [float(m) for m in multipliers])
    if weight_decay:
        # The papers decay convolution and dense kernels; BatchNorm and biases are left alone.
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "moving_"])
    if precision == "fp16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


def _scale_updates(opt, multipliers: list) -> None:
    """Each variable's update at ``multipliers[i]`` times the rate: ``update_step`` is where every Keras
    optimizer (and every backend, distributed or not) applies one variable's update at the rate it is
    handed, and ``_get_variable_index`` is how the optimizers themselves find that variable's slots."""
    base = opt.update_step

    def update_step(gradient, variable, learning_rate):
        factor = multipliers[opt._get_variable_index(variable)]
        return base(gradient, variable, learning_rate if factor == 1.0 else learning_rate * factor)

    opt.update_step = update_step


def progressive_size(epoch: int, epochs: int, final: int, start: Optional[int] = None,
                     ramp: tuple = (0.5, 0.85), step: int = 16) -> int:
    """The training image size of ``epoch`` (0-based) under progressive resizing: ``start`` px
    until ``ramp[0]`` of the run, growing linearly to ``final`` px at ``ramp[1]``, then ``final``;
    rounded to multiples of ``step`` px (each new size retraces the step, so few sizes) and
    never above ``final``. The last epochs train at the evaluation size, so that BatchNorm's
    statistics and the filters end matched to it; the early ones cost (start/final)^2 as much.
    (fast.ai's DAWNBench ImageNet runs and FFCV's ResNet schedules train this way.)

    >>> [progressive_size(e, 18, 96, 64) for e in range(18)]
    [64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 80, 80, 80, 96, 96, 96, 96, 96]
    """
    if not start or start >= final:
        return final
    t = epoch / max(1, epochs - 1)
    frac = min(1.0, max(0.0, (t - ramp[0]) / max(1e-9, ramp[1] - ramp[0])))
    size = start + frac * (final - start)
    return int(min(final, math.floor(size / step + 0.5) * step))
