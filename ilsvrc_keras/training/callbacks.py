"""The training loop's built-in behaviours as Keras callbacks.

:class:`ilsvrc_keras.training.Trainer` drives a ``keras.callbacks.CallbackList`` from its custom
loop, so these and any ordinary Keras callback (``CSVLogger``, ``EarlyStopping``, ``TensorBoard``,
``ModelCheckpoint``, your own) hear ``on_train_begin/end``, ``on_epoch_begin/end`` (with float
``logs``: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``val_top_5_accuracy``, ``lr``, ...) and
``on_train_batch_begin/end``, and may set ``model.stop_training``. The callbacks here subclass
:class:`TrainerCallback`, which also sees the trainer (its history, sizes and interruption state).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import sys
from pathlib import Path
from typing import Optional

import keras

from ..files import save_atomic, write_atomic
from .schedules import progressive_size

log = logging.getLogger("ilsvrc_keras.training")


def read_history(path) -> list:
    """The rows of a ``history.csv``, numbers as floats (``epoch`` as int), empty cells as None."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{_RENAMED.get(k, k): _value(k, v) for k, v in row.items()} for row in csv.DictReader(f)]


# Columns of history files written before the logs took Keras' metric names: a resumed run reads them on.
_RENAMED = {"val_top1": "val_accuracy", "val_top5": "val_top_5_accuracy"}


def _value(key, v):
    if v in (None, "", "None"):
        return None
    if key in ("epoch", "phase_epoch"):
        return int(float(v))
    try:
        return float(v)
    except ValueError:
        return v


def write_history(path, rows: list) -> None:
    """``rows`` as CSV, every column any row has in first-seen order (a run resumed by a newer
    version may add one)."""
    if not rows:
        return
    fields = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, restval="")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, buf.getvalue())


class TrainerCallback(keras.callbacks.Callback):
    """A Keras callback that also sees the :class:`~ilsvrc_keras.training.Trainer` running it
    (``self.trainer``: ``history``, ``epochs``, ``train_size``, ``interrupted``, ``chief``)."""

    trainer = None


class HistoryCSV(TrainerCallback):
    """``history.csv``: one row per epoch (of every phase), rewritten atomically at each epoch's end,
    so a resumed run continues it with no duplicate rows. Written by the chief only."""

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch, logs=None):
        if self.trainer.chief:
            write_history(self.path, self.trainer.all_rows())


class TensorBoardScalars(TrainerCallback):
    """Each epoch's figures as TensorBoard scalars under ``log_dir`` (chief only)."""

    KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_top_5_accuracy", "lr", "images_per_sec")

    def __init__(self, log_dir):
        super().__init__()
        self.log_dir = str(log_dir)
        self.writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writer = (tf.summary.create_file_writer(self.log_dir) if self.trainer.chief
                       else tf.summary.create_noop_writer())

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        with self.writer.as_default(step=self.trainer.global_epoch(epoch + 1)):
            for k in self.KEYS:
                if (logs or {}).get(k) is not None:
                    tf.summary.scalar(k, logs[k])
        self.writer.flush()


class KeepBest(TrainerCallback):
    """Keep the weights of the best validation epoch (``monitor``, higher is better) in ``path`` and
    end the run with them (unless it was interrupted). :attr:`best_epoch` and :attr:`restored`
    say what happened; a resumed run remembers the best of its earlier epochs."""

    def __init__(self, path, monitor: str = "val_accuracy"):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best = -math.inf
        self.best_epoch = None
        self.restored = False

    def on_train_begin(self, logs=None):
        for row in self.trainer.history:
            if row.get(self.monitor) is not None and row[self.monitor] > self.best:
                self.best, self.best_epoch = row[self.monitor], row["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value > self.best:
            self.best, self.best_epoch = value, epoch + 1
            save_atomic(self.path, self.model.save_weights)  # a kill mid-write keeps the previous best

    def on_train_end(self, logs=None):
        if not self.trainer.interrupted and self.path.is_file() and self.best_epoch is not None:
            self.model.load_weights(self.path)
            self.restored = True


class ProgressiveResize(TrainerCallback):
    """Progressive resizing: each epoch's training size from :func:`progressive_size` (``start`` px
    growing to the evaluation size over ``ramp``); evaluation keeps the model's size."""

    def __init__(self, start: int, ramp: tuple = (0.5, 0.85)):
        super().__init__()
        self.start, self.ramp = int(start), tuple(ramp)

    def on_epoch_begin(self, epoch, logs=None):
        self.trainer.train_size = progressive_size(epoch, self.trainer.epochs, self.trainer.transform.size,
                                                   self.start, self.ramp)


class ProgressBar(TrainerCallback):
    """A tqdm bar per epoch on stderr (loss, accuracy, images/s) and one line per finished epoch."""

    def __init__(self, file=None):
        super().__init__()
        self.file = file or sys.stderr
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm  # a widget in notebooks, text in terminals

        t = self.trainer
        self.bar = tqdm(total=t.steps_per_epoch, initial=t.first_step, unit="step", file=self.file,
                        desc=f"{t.phase + ' ' if t.phase else ''}epoch {epoch + 1}/{t.epochs}",
                        disable=not t.chief)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{logs.get('loss', 0):.3f}", acc=f"{logs.get('accuracy', 0):.3f}",
                             img_s=f"{logs.get('images_per_sec', 0):.0f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()
        if self.trainer.chief:
            figures = ", ".join(f"{k} {_short(v)}" for k, v in (logs or {}).items())
            line = f"{self.trainer.phase + ' ' if self.trainer.phase else ''}epoch {epoch + 1}: {figures}"
            if log.hasHandlers():  # the command line's handler (its --quiet keeps warnings only)
                log.info(line)
            else:  # a script that configured no logging still sees its epochs, as with keras' fit
                print(line, file=self.file)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


def _short(v):
    return f"{v:.4g}" if isinstance(v, float) else v


class Continued(keras.callbacks.Callback):
    """Run ``callbacks`` across several fits as if they were one: ``on_train_begin`` only where
    ``begin``, ``on_train_end`` only where ``end``, epochs numbered from ``epoch_offset``.
    ``fine_tune`` wraps a user's callbacks in one per phase, so a ``CSVLogger`` writes one file with
    a row per epoch of both phases, and an ``EarlyStopping`` that stops the first fit (``stopped``)
    stops the whole training."""

    def __init__(self, callbacks, epoch_offset: int = 0, begin: bool = True, end: bool = True):
        super().__init__()
        self.inner = callbacks if isinstance(callbacks, keras.callbacks.CallbackList) else \
            keras.callbacks.CallbackList(list(callbacks), add_history=False, add_progbar=False)
        self.offset, self.begin, self.end = epoch_offset, begin, end
        self.stopped = False

    def set_model(self, model):
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs=None):
        if self.begin:
            self.inner.on_train_begin(logs)

    def on_train_end(self, logs=None):
        if self.end:
            self.inner.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        self.inner.on_epoch_begin(epoch + self.offset, logs)

    def on_epoch_end(self, epoch, logs=None):
        before = bool(getattr(self.model, "stop_training", False))
        self.inner.on_epoch_end(epoch + self.offset, logs)
        self.stopped = self.stopped or (bool(getattr(self.model, "stop_training", False)) and not before)

    def on_train_batch_begin(self, batch, logs=None):
        self.inner.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.inner.on_train_batch_end(batch, logs)


# Logs that rise as the model improves. Keras' monitoring callbacks (EarlyStopping, ModelCheckpoint,
# ReduceLROnPlateau) learn a metric's direction from a compiled model's metrics; the engine's model is not
# compiled, so it tells them what compile() would have: "auto" on these means "max".
RISING = ("accuracy", "top_5_accuracy")


def declare_directions(callbacks) -> None:
    """Set ``mode="max"`` on monitoring callbacks left at ``"auto"`` that watch a rising log (:data:`RISING`),
    inside :class:`Continued` wrappers too."""
    for c in callbacks:
        if isinstance(c, Continued):
            declare_directions(c.inner.callbacks)
        watched = str(getattr(c, "monitor", "")).removeprefix("val_")
        if getattr(c, "mode", None) == "auto" and getattr(c, "monitor_op", "") is None and watched in RISING:
            c.mode = "max"


def early_stopping(patience: Optional[int], monitor: str = "val_accuracy"):
    """Keras' own ``EarlyStopping`` on the validation top-1 (None when ``patience`` is None)."""
    if patience is None:
        return None
    return keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=patience, verbose=0)
