"""The training layer: one loop (:class:`Trainer`) for ``train``, ``fine_tune`` and the recipes.

- :mod:`.strategy`: devices, replicas, ``TF_CONFIG`` workers, precision, interruption;
- :mod:`.steps`: :func:`make_train_step` / :func:`make_eval_step`, the per-replica (XLA) steps;
- :mod:`.schedules`: learning-rate schedules, optimizers by name, progressive resizing's sizes;
- :mod:`.optimizers`: those Keras lacks (:class:`RAdam`, with Lookahead: Ranger);
- :mod:`.callbacks`: the built-in behaviours as Keras callbacks (history CSV, TensorBoard,
  keep-best, progress bar), each reading only ``params`` and the logs as Keras' own do;
- :mod:`.trainer`: :class:`Trainer`, :class:`RunConfig`, :class:`RunResult`;
- :mod:`.run`: :func:`train`, a zoo network on a dataset, ending in a model folder.

Names are imported on first use, so that the command line's ``--help`` reads :class:`RunConfig`'s
defaults without importing Keras.
"""

from .._lazy import exports

_EXPORTS = {
    "Continued": "callbacks", "HistoryCSV": "callbacks", "KeepBest": "callbacks", "ProgressBar": "callbacks",
    "TensorBoardScalars": "callbacks",
    "read_history": "callbacks", "write_history": "callbacks",
    "finish_run": "run", "train": "run",
    "OPTIMIZERS": "schedules", "SCHEDULES": "schedules", "make_optimizer": "schedules", "make_schedule": "schedules",
    "progressive_size": "schedules",
    "RAdam": "optimizers",
    "make_eval_step": "steps", "make_train_step": "steps",
    "POLICIES": "strategy", "PRECISIONS": "strategy", "Interruption": "strategy", "choose_strategy": "strategy",
    "configure_cpu_replicas": "strategy", "default_precision": "strategy", "weights_fingerprint": "strategy",
    "Checkpoints": "trainer", "RunConfig": "trainer", "RunResult": "trainer", "Trainer": "trainer",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = exports(__name__, _EXPORTS)
