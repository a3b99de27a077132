"""The training loop's built-in behaviours as Keras callbacks.

:class:`ilsvrc_keras.training.Trainer` drives a ``keras.callbacks.CallbackList`` from its custom
loop, so these and any ordinary Keras callback (``CSVLogger``, ``EarlyStopping``, ``TensorBoard``,
``ModelCheckpoint``, your own) hear ``on_train_begin/end``, ``on_epoch_begin/end`` (with float
``logs``: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``val_top_5_accuracy``, ``lr``, ...) and
``on_train_batch_begin/end``, and may set ``model.stop_training``. The callbacks here are ordinary ones
too: what they need of the run beyond ``model``, ``params`` (``epochs``, ``steps``, ``phase``) and the logs
is given when they are made.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import sys
from pathlib import Path
from typing import Optional, Sequence

import keras

from ..files import save_atomic, write_atomic

log = logging.getLogger("ilsvrc_keras.training")


def read_history(path) -> list:
    """The rows of a ``history.csv``, numbers as floats (counts such as ``epoch`` as ints), empty cells as None."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{_RENAMED.get(k, k): _value(k, v) for k, v in row.items()} for row in csv.DictReader(f)]


# Columns of history files written before the logs took Keras' metric names: a resumed run reads them on.
_RENAMED = {"val_top1": "val_accuracy", "val_top5": "val_top_5_accuracy"}
# Columns that count (Keras hands callbacks every log as a float): written and read as whole numbers.
_COUNTS = ("epoch", "phase_epoch", "skipped", "image_size")


def _value(key, v):
    if v in (None, "", "None"):
        return None
    if key in _COUNTS:
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
    writer.writerows({k: int(v) if k in _COUNTS and isinstance(v, float) else v for k, v in r.items()} for r in rows)
    write_atomic(path, buf.getvalue())


def history_row(epoch: int, phase: Optional[str], logs: dict) -> dict:
    """One ``history.csv`` row: the epoch (1-based, within its phase), the phase's name, the epoch's logs."""
    return {"epoch": epoch + 1, **({"phase": phase} if phase else {}), **logs}


class HistoryCSV(keras.callbacks.Callback):
    """``history.csv``: one row per epoch (of every phase: ``earlier`` holds the rows before this fit's
    epochs, a resumed phase's own included), rewritten atomically at each epoch's end, so a resumed run
    continues it with no duplicate rows. Only the ``chief`` writes. Reads its phase from ``params``."""

    def __init__(self, path, earlier: Sequence[dict] = (), chief: bool = True):
        super().__init__()
        self.path, self.rows, self.chief = Path(path), [dict(r) for r in earlier], chief

    def on_epoch_end(self, epoch, logs=None):
        row = history_row(epoch, self.params.get("phase"), logs or {})
        self.rows = [r for r in self.rows if (r["epoch"], r.get("phase")) != (row["epoch"], row.get("phase"))]
        self.rows.append(row)
        if self.chief:
            write_history(self.path, self.rows)


class TensorBoardScalars(keras.callbacks.Callback):
    """Each epoch's figures as TensorBoard scalars under ``log_dir`` (only the ``chief`` writes), at the
    run's epoch: ``epoch_offset`` epochs of earlier phases come first."""

    KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "val_top_5_accuracy", "lr", "images_per_sec")

    def __init__(self, log_dir, chief: bool = True, epoch_offset: int = 0):
        super().__init__()
        self.log_dir, self.chief, self.epoch_offset = str(log_dir), chief, epoch_offset
        self.writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        self.writer = tf.summary.create_file_writer(self.log_dir) if self.chief else tf.summary.create_noop_writer()

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        with self.writer.as_default(step=self.epoch_offset + epoch + 1):
            for k in self.KEYS:
                if (logs or {}).get(k) is not None:
                    tf.summary.scalar(k, logs[k])
        self.writer.flush()


class KeepBest(keras.callbacks.Callback):
    """Keep the weights of the best validation epoch (``monitor``, higher is better) in ``path``;
    :meth:`restore` puts them back at the end (the Trainer calls it unless the run was interrupted).
    ``history``: a resumed run's earlier rows, whose best it remembers."""

    def __init__(self, path, monitor: str = "val_accuracy", history: Sequence[dict] = ()):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.best, self.best_epoch = -math.inf, None
        for row in history:
            if row.get(monitor) is not None and row[monitor] > self.best:
                self.best, self.best_epoch = row[monitor], row["epoch"]

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value > self.best:
            self.best, self.best_epoch = value, epoch + 1
            save_atomic(self.path, self.model.save_weights)  # a kill mid-write keeps the previous best

    def restore(self, model) -> bool:
        """The best epoch's weights into ``model``; whether there were any."""
        if not self.path.is_file() or self.best_epoch is None:
            return False
        model.load_weights(self.path)
        return True


class ProgressBar(keras.callbacks.Callback):
    """A tqdm bar per epoch on stderr (loss, accuracy, images/s) and one line per finished epoch, from
    ``params`` (``epochs``, ``steps``, ``phase``) and the logs; only the ``chief`` shows them."""

    def __init__(self, file=None, chief: bool = True):
        super().__init__()
        self.file = file or sys.stderr
        self.chief = chief
        self.bar = None

    def _title(self) -> str:
        phase = self.params.get("phase")
        return f"{phase} " if phase else ""

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm  # a widget in notebooks, text in terminals

        self.bar = tqdm(total=self.params.get("steps"), unit="step", file=self.file, disable=not self.chief,
                        desc=f"{self._title()}epoch {epoch + 1}/{self.params.get('epochs')}")

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        self.bar.update(batch + 1 - self.bar.n)  # a resumed epoch starts at its checkpointed step
        self.bar.set_postfix(loss=f"{logs.get('loss', 0):.3f}", acc=f"{logs.get('accuracy', 0):.3f}",
                             img_s=f"{logs.get('images_per_sec', 0):.0f}", refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.close()
        if self.chief:
            figures = ", ".join(f"{k} {_short(v)}" for k, v in (logs or {}).items())
            line = f"{self._title()}epoch {epoch + 1}: {figures}"
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
