"""The training layer: one loop (:class:`Trainer`) for ``train``, ``fine_tune`` and the recipes.

- :mod:`.strategy`: devices, replicas, ``TF_CONFIG`` workers, precision, interruption;
- :mod:`.steps`: :func:`make_train_step` / :func:`make_eval_step`, the per-replica (XLA) steps;
- :mod:`.schedules`: learning-rate schedules, optimizers, progressive resizing's sizes;
- :mod:`.callbacks`: the built-in behaviours as Keras callbacks (history CSV, TensorBoard,
  keep-best, progressive resizing, progress bar);
- :mod:`.trainer`: :class:`Trainer`, :class:`RunConfig`, :class:`RunResult`;
- :mod:`.run`: :func:`train`, a zoo network on a dataset, ending in a model folder.
"""

from .callbacks import (Continued, HistoryCSV, KeepBest, ProgressBar, ProgressiveResize, TensorBoardScalars,
                        TrainerCallback, read_history, write_history)
from .run import finish_run, train
from .schedules import OPTIMIZERS, SCHEDULES, make_optimizer, make_schedule, progressive_size
from .steps import make_eval_step, make_train_step
from .strategy import (POLICIES, PRECISIONS, Interruption, choose_strategy, configure_cpu_replicas,
                       default_precision, weights_fingerprint)
from .trainer import Checkpoints, RunConfig, RunResult, Trainer

__all__ = [
    "OPTIMIZERS", "POLICIES", "PRECISIONS", "SCHEDULES", "Checkpoints", "Continued", "HistoryCSV", "Interruption",
    "KeepBest", "ProgressBar", "ProgressiveResize", "RunConfig", "RunResult", "TensorBoardScalars", "Trainer",
    "TrainerCallback", "choose_strategy", "configure_cpu_replicas", "default_precision", "finish_run",
    "make_eval_step", "make_optimizer", "make_schedule", "make_train_step", "progressive_size", "read_history",
    "train", "weights_fingerprint", "write_history",
]
