"""The Trainer: one training loop for ``train``, ``fine_tune`` and the recipes.

It owns the strategy, the precision policy, the per-replica XLA steps and the checkpoint/resume
state, and drives a ``keras.callbacks.CallbackList`` (the built-in behaviours of
:mod:`.callbacks` plus the caller's). Resumable: a checkpoint every ``checkpoint_every`` steps,
at each epoch's end and on SIGTERM; fitting again with the same ``out`` continues from the last
one (epoch, step, optimizer and schedule state). Checkpoints are written by TensorFlow's checkpoint
manager, which points to a new checkpoint only after it is complete, so ``kill -9`` loses at most
the steps since the last. A run returns a :class:`RunResult`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..checks import check, choice
from ..errors import ArgumentError, IlsvrcKerasError
from .strategy import (
    DEFAULT_CLUSTER_TIMEOUT,
    PRECISIONS,
    Interruption,
    check_machine,
    choose_strategy,
    cluster_size,
    default_precision,
    is_chief,
    precision_policy,
    weights_fingerprint,
)


@dataclasses.dataclass
class RunConfig:
    """Everything one fit needs besides its model and data (defaults: a reasonable ImageNet-style
    recipe; the recipes and ``fine_tune`` override them)."""

    out: str
    epochs: int = 10
    batch_size: int = 256           # global, across all replicas and workers, per step
    # Gradients of this many steps averaged into one update: an update's batch is batch_size x accumulate_steps.
    accumulate_steps: int = 1
    clip_norm: Optional[float] = None  # the update's gradients scaled to at most this global norm
    # {layer name: factor}: that layer's weights update at the rate times the factor (others at the rate).
    lr_multipliers: Optional[dict] = None
    lr: Optional[float] = None      # for the update's batch; default: base_lr * update batch / 256
    base_lr: float = 0.1            # at batch 256 (the linear scaling rule)
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    flat_fraction: float = 0.72     # schedule="flat_cos": the part of the run at the peak rate
    warmup_epochs: float = 0.0
    milestones: tuple = ()          # epochs, for schedule="step"
    gamma: float = 0.1
    label_smoothing: float = 0.0
    ema: Optional[float] = None
    aux_weight: float = 0.3         # GoogLeNet's auxiliary classifiers
    seed: int = 0
    checkpoint_every: int = 200     # steps
    keep_checkpoints: int = 2
    progress: bool = True
    stop_after_steps: Optional[int] = None  # stop (as if interrupted) after N steps in all
    patience: Optional[int] = None  # early stopping: epochs without a better val_accuracy
    # What the model's first output is, as its builder declared it (None: measured, models.common.ends_in_logits).
    from_logits: Optional[bool] = None
    restore_best: bool = False      # end with the weights of the best validation epoch
    class_weights: Optional[list] = None  # loss weight per class (imbalanced data)
    augment: Optional[object] = None  # crops, RandAugment, MixUp, CutMix (ilsvrc_keras.datasets.Augment)
    progressive_from: Optional[int] = None  # progressive resizing: first epochs at this size (px)
    progressive_ramp: tuple = (0.5, 0.85)   # fractions of the run over which the size grows
    phase: Optional[str] = None     # a named phase of a longer run (fine_tune's "head", "all")
    epoch_offset: int = 0           # epochs of the run before this phase (for logs and curves)

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else self.base_lr * self.update_batch / 256

    @property
    def update_batch(self) -> int:
        """The examples behind one optimizer update (the batch the linear scaling rule speaks of)."""
        return self.batch_size * self.accumulate_steps

    def validate(self) -> None:
        """Every field in its range or among its choices: one :class:`~ilsvrc_keras.ArgumentError`
        naming the first that is not, before any model is built."""
        from .schedules import OPTIMIZERS, SCHEDULES

        for name in ("epochs", "batch_size", "checkpoint_every", "keep_checkpoints", "epoch_offset", "base_lr",
                     "momentum", "label_smoothing", "gamma", "weight_decay", "warmup_epochs", "aux_weight",
                     "flat_fraction"):
            check(name, getattr(self, name))
        check("accumulate_steps", self.accumulate_steps)
        for name in ("patience", "progressive_from", "stop_after_steps", "lr", "ema", "clip_norm"):
            check(name, getattr(self, name), optional=True)
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("schedule", self.schedule, SCHEDULES)
        for m in self.milestones:
            check("milestones", m)
        for layer, factor in (self.lr_multipliers or {}).items():
            check("lr_multiplier", factor)
        if len(tuple(self.progressive_ramp)) != 2 or not 0 <= self.progressive_ramp[0] <= self.progressive_ramp[1] <= 1:

            raise ArgumentError(f"progressive_ramp must be (start, end) with 0 <= start <= end <= 1, "
                                f"not {self.progressive_ramp!r}")


@dataclasses.dataclass
class RunResult:
    """What a fit did: the trained model (in memory), its history (floats) and the figures."""

    model: object
    history: list
    out: str
    epochs: int
    epochs_completed: int
    interrupted: bool
    resumed_from_epoch: Optional[float]
    val_accuracy: Optional[float]
    val_top_5_accuracy: Optional[float]
    best_val_accuracy: Optional[float]
    best_epoch: Optional[int]
    restored_best: bool
    train_images_per_sec: Optional[float]
    seconds: float
    steps_per_epoch: int
    global_batch_size: int
    learning_rate: float
    skipped_images: int
    classes: int
    replicas: int
    workers: int
    xla: bool
    precision: str
    weights_fingerprint: str
    augment: dict
    progressive: Optional[dict]
    stopped_early: bool = False
    curves: Optional[str] = None
    best_weights: Optional[str] = None  # the best validation epoch's weights file (restore_best)
    # Files the data left out at the door ((path, reason): not images, too large...) and images its
    # ground truth does not name; set by train() from the dataset.
    unreadable: list = dataclasses.field(default_factory=list)
    unlabeled: list = dataclasses.field(default_factory=list)
    lr_find: Optional[dict] = None  # with lr="find": what the learning-rate finder read (train sets it)
    update_batch_size: Optional[int] = None  # examples per optimizer update (global batch x accumulate_steps)

    def to_dict(self) -> dict:
        """Every field but the model: what ``summary.json`` and ``--json`` hold."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}


class Checkpoints:
    """Model, optimizer, epoch and step in a ``tf.train.CheckpointManager`` folder."""

    def __init__(self, directory, model, optimizer, keep: int = 2):
        import tensorflow as tf

        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=self.epoch, step=self.step)
        self.manager = tf.train.CheckpointManager(ckpt, str(directory), max_to_keep=keep)

    def restore(self, steps_per_epoch: int) -> Optional[float]:
        """Restore the latest checkpoint; the epoch (fractional) it resumes from, or None."""
        latest = self.manager.latest_checkpoint
        if not latest:
            return None
        try:
            self.manager.checkpoint.restore(latest).assert_existing_objects_matched()
        except Exception as exc:  # TensorFlow's reader fails in many types (DataLossError, IndexError...)
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise IlsvrcKerasError(
                f"checkpoint {latest} cannot be resumed: it is damaged or belongs to another network "
                f"({type(exc).__name__}: {first}); pass --overwrite / overwrite=True to start the run "
                "again") from None
        return int(self.epoch.numpy()) + int(self.step.numpy()) / steps_per_epoch

    def save(self, epoch: int, step: int, steps_per_epoch: int) -> None:
        import tensorflow as tf

        from ..files import disk_full

        self.epoch.assign(epoch)
        self.step.assign(step)
        try:
            self.manager.save(checkpoint_number=epoch * steps_per_epoch + step)
        except (tf.errors.ResourceExhaustedError, tf.errors.UnknownError, OSError) as exc:
            # TensorFlow writes a checkpoint aside and renames it when whole: the last one stays intact.
            error = disk_full(exc, self.manager.directory, last=self.manager.latest_checkpoint)
            if error is None:
                raise
            raise error from None


class Trainer:
    """Trains Keras models on :class:`ilsvrc_keras.datasets.ImageDataset` data, on every device
    of this machine (or of a ``TF_CONFIG`` cluster), with ordinary Keras callbacks.

    >>> from ilsvrc_keras.training import RunConfig, Trainer
    >>> from ilsvrc_keras.datasets import open_dataset
    >>> from ilsvrc_keras.transforms import EvalTransform
    >>> import ilsvrc_keras, keras
    >>> data = open_dataset("flowers/")  # doctest: +SKIP
    >>> trainer = Trainer(replicas=None, precision="fp32")
    >>> model = trainer.build(lambda: ilsvrc_keras.create_model("resnet18", num_classes=5,
    ...                                                       input_shape=(96, 96, 3)))  # doctest: +SKIP
    >>> result = trainer.fit(model, data, EvalTransform(96, 0.875, "caffe"),
    ...                      RunConfig(out="runs/r18", epochs=3, batch_size=32),
    ...                      callbacks=[keras.callbacks.CSVLogger("log.csv")])  # doctest: +SKIP
    >>> result.val_accuracy  # doctest: +SKIP
    0.61
    """

    def __init__(self, *, replicas: Optional[int] = None, precision: Optional[str] = None,
                 xla: Optional[bool] = None, seed: int = 0, cluster_timeout: float = DEFAULT_CLUSTER_TIMEOUT):
        import tensorflow as tf

        from ..datasets import DecodedCache

        check("replicas", replicas, optional=True)
        choice("precision", precision, PRECISIONS, optional=True)
        check("cluster_timeout", cluster_timeout)
        check_machine(replicas)
        # The machine: the same for every fit of this Trainer.
        self.strategy = choose_strategy(replicas, cluster_timeout)
        self.precision = precision or default_precision()
        self.xla = bool(tf.config.list_logical_devices("GPU")) if xla is None else bool(xla)
        self.replicas = self.strategy.num_replicas_in_sync
        self.workers = max(1, cluster_size())
        self.chief = is_chief(self.strategy)
        self.seed = seed
        self.interruption = Interruption()
        self.cache = DecodedCache()  # decoded images, kept across the fits (fine_tune's phases) of one run
        self.run: Optional[_Run] = None  # the last fit's state (evaluate() reads it)

    def __enter__(self):
        self.interruption.__enter__()
        return self

    def __exit__(self, *exc):
        self.interruption.__exit__(*exc)

    def build(self, build_fn):
        """``build_fn()`` inside the strategy's scope and the precision policy (seeded)."""
        import keras

        keras.utils.set_random_seed(self.seed)
        with self.strategy.scope(), precision_policy(self.precision):
            return build_fn()

    @property
    def val_split(self):
        """The last fit's validation split as served (the positions :meth:`evaluate` reports index it)."""
        return self.run.val_split if self.run else None

    # --- the run ---------------------------------------------------------------------------------

    def fit(self, model, data, transform, config: RunConfig, callbacks: Sequence = ()) -> RunResult:
        """Train ``model`` (built by :meth:`build`) on ``data.train``, validating on ``data.val``
        after each epoch, with ``transform`` (input size, crop and normalization). ``callbacks`` are
        Keras callbacks: they see ``model``, ``params`` (``epochs``, ``steps``, ``phase``) and each
        epoch's logs (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``val_top_5_accuracy``,
        ``lr``, ...), as under ``model.fit``."""
        import tensorflow as tf

        config.validate()
        started = time.perf_counter()
        run = self.run = self._plan(model, data, transform, config)
        self._restore(run)
        cbs = self._callbacks(run, callbacks)
        model.stop_training = False
        totals = np.zeros(3)  # images, seconds, skipped
        asked = {False: tf.constant(0.0), True: tf.constant(1.0)}
        with self.interruption, _attached(model, run.optimizer):
            cbs.on_train_begin()
            epoch = int(run.checkpoints.epoch.numpy())
            while epoch < config.epochs and not run.interrupted:
                logs = self._epoch(run, epoch, cbs, totals, asked)
                if logs is None:
                    break
                epoch += 1
                run.checkpoints.save(epoch, 0, run.steps_per_epoch)  # the training weights, EMA or not
                with self._averaged(run):  # keep-best and early stopping judge what validation saw
                    cbs.on_epoch_end(epoch - 1, logs)
                if model.stop_training:
                    break
                # A stop agreed at the epoch's last step (or stop_after_steps, set in _epoch): stop here.
                # One worker's signal during validation is agreed at the next step (after resuming),
                # a lone process's at once.
                stop = run.stop_votes > 0 or (self.workers == 1 and self.interruption.requested)
                run.interrupted = run.interrupted or (stop and epoch < config.epochs)
            restored = bool(run.keep_best and not run.interrupted and run.keep_best.restore(model))
            cbs.on_train_end()
        if config.ema and not run.interrupted and not restored:
            run.optimizer.finalize_variable_values(model.trainable_variables)  # the model ends as the average
        return self._result(run, restored, totals, time.perf_counter() - started, model.stop_training)

    def _plan(self, model, data, transform, config) -> "_Run":
        """The fit's state before anything is restored: its sizes and its splits as served."""
        if config.batch_size % self.replicas:
            raise IlsvrcKerasError(f"batch size {config.batch_size} does not split evenly over "
                                   f"{self.replicas} replicas")
        if len(data.train) == 0:
            raise IlsvrcKerasError("the training split is empty")
        return _Run(model=model, config=config, transform=transform, num_classes=len(data.class_names),
                    train_count=len(data.train),
                    steps_per_epoch=max(1, math.ceil(len(data.train) / config.batch_size)),
                    val_steps=max(1, math.ceil(len(data.val) / config.batch_size)) if len(data.val) else 0,
                    train_split=self.cache.serve(data.train, transform, True, config.augment),
                    val_split=self.cache.serve(data.val, transform, False) if len(data.val) else None)

    def checkpoint_dir(self, config) -> Path:
        # Non-chief workers write their checkpoints beside the chief's (MultiWorkerMirroredStrategy
        # needs every worker to save); only the chief's are read back.
        base = Path(config.out) / ("checkpoints" if self.chief else
                                   f"workers/worker-{self.strategy.cluster_resolver.task_id}")
        return base / config.phase if config.phase else base

    def _restore(self, run: "_Run") -> None:
        """The optimizer, its schedule and the steps built; the last checkpoint and the history rows of the
        epochs it holds brought back."""
        from .callbacks import read_history
        from .schedules import make_optimizer, make_schedule

        config, model = run.config, run.model
        directory = self.checkpoint_dir(config)
        directory.mkdir(parents=True, exist_ok=True)
        spe = run.steps_per_epoch
        # The schedule runs on the optimizer's iterations, which count updates: N steps make one.
        ups = spe / config.accumulate_steps
        with self.strategy.scope():
            run.schedule = make_schedule(config.learning_rate, max(1, int(ups * config.epochs)),
                                         int(config.warmup_epochs * ups), config.schedule,
                                         tuple(int(m * ups) for m in config.milestones), config.gamma,
                                         flat_fraction=config.flat_fraction)
            run.optimizer = make_optimizer(config.optimizer, run.schedule, config.weight_decay, config.momentum,
                                           config.ema, self.precision, _per_variable(model, config.lr_multipliers))
            run.optimizer.build(model.trainable_variables)
            run.checkpoints = Checkpoints(directory, model, run.optimizer, config.keep_checkpoints)
            run.resumed_from = run.checkpoints.restore(spe)
        done = int(run.checkpoints.epoch.numpy())
        rows = read_history(Path(config.out) / "history.csv")
        mine = [r for r in rows if r.get("phase") == config.phase or (config.phase is None and "phase" not in r)]
        run.history = [r for r in mine if r["epoch"] <= done]
        run.other_rows = [r for r in rows if r not in mine]
        run.train_step, run.eval_step = self._steps(run)

    def _steps(self, run: "_Run"):
        from ..models.common import ends_in_logits
        from .steps import make_eval_step, make_train_step

        config, model = run.config, run.model
        logits = ends_in_logits(model) if config.from_logits is None else config.from_logits
        train = make_train_step(self.strategy, model, run.optimizer, global_batch_size=config.batch_size,
                                label_smoothing=config.label_smoothing, aux_weight=config.aux_weight,
                                xla=self.xla, loss_scale=self.precision == "fp16", from_logits=logits,
                                accumulate_steps=config.accumulate_steps, clip_norm=config.clip_norm,
                                normalize=run.transform.normalize)
        return train, make_eval_step(self.strategy, model, from_logits=logits, normalize=run.transform.normalize)

    def _callbacks(self, run: "_Run", extra):
        import keras

        from . import callbacks as cb

        config, out = run.config, Path(run.config.out)
        built = [cb.HistoryCSV(out / "history.csv", earlier=run.other_rows + run.history, chief=self.chief),
                 cb.TensorBoardScalars(out / "tensorboard", chief=self.chief, epoch_offset=config.epoch_offset)]
        if config.restore_best:
            run.keep_best = cb.KeepBest(self.checkpoint_dir(config) / "best.weights.h5", history=run.history)
            built.append(run.keep_best)
        stop = cb.early_stopping(config.patience)
        built += [stop] if stop else []
        if config.progress:
            built.append(cb.ProgressBar(chief=self.chief))
        everything = built + list(extra)
        cb.declare_directions(everything)
        return keras.callbacks.CallbackList(everything, add_history=False, add_progbar=False, model=run.model,
                                            epochs=config.epochs, steps=run.steps_per_epoch, verbose=0,
                                            phase=config.phase)

    def _epoch(self, run: "_Run", epoch: int, cbs, totals, asked) -> Optional[dict]:
        """One epoch: its training steps (from the checkpointed step on) and its validation. Returns
        its logs, or None when interrupted mid-epoch (after checkpointing where it stopped)."""
        from .callbacks import history_row

        config, spe, checkpoints = run.config, run.steps_per_epoch, run.checkpoints
        first = int(checkpoints.step.numpy())
        cbs.on_epoch_begin(epoch)
        size = run.size(epoch)
        it = iter(self._distributed(run, True, epoch, first, size))
        sums, t0 = np.zeros(3), time.perf_counter()  # loss, correct, seen
        for step in range(first, spe):
            cbs.on_train_batch_begin(step)
            # This worker's stop request goes into the step's all-reduce: every worker gets the same
            # count back after the same step, so they all stop (and checkpoint) there together.
            # A tensor, not a Python float: the step is traced once, not again when the flag flips
            # (a retrace, an XLA recompile on GPUs, at the moment a preemption's grace period runs).
            loss, correct, seen, votes = (v.numpy() for v in run.train_step(next(it),
                                                                            asked[self.interruption.requested]))
            run.stop_votes = float(votes)
            sums += (loss * seen if seen else 0.0, correct, seen)
            done = epoch * spe + step + 1
            cbs.on_train_batch_end(step, {"loss": float(sums[0] / max(1, sums[2])),
                                          "accuracy": float(sums[1] / max(1, sums[2])),
                                          "images_per_sec": float(sums[2] / max(1e-9, time.perf_counter() - t0))})
            # A lone process acts on its own signal at once; workers on the agreed count.
            stopping = (votes > 0 or (self.workers == 1 and self.interruption.requested)
                        or bool(config.stop_after_steps and done >= config.stop_after_steps))
            if stopping and step + 1 < spe:
                checkpoints.save(epoch, step + 1, spe)
                run.interrupted = True
                return None
            if (step + 1) % config.checkpoint_every == 0 and step + 1 < spe:
                checkpoints.save(epoch, step + 1, spe)
        seconds = time.perf_counter() - t0
        # Images of this pass that never reached a step (undecodable); exact on a fresh epoch.
        skipped = max(0, run.train_count - int(sums[2])) if first == 0 else 0
        totals += (sums[2], seconds, skipped)
        val = self._validate(run) if run.val_steps else {}
        logs = {"loss": round(sums[0] / max(1, sums[2]), 5), "accuracy": round(sums[1] / max(1, sums[2]), 5),
                **{f"val_{k}": v for k, v in val.items()},
                "lr": float(run.schedule(run.optimizer.iterations)), "images_per_sec": round(sums[2] / seconds, 1),
                "seconds": round(seconds, 1), "skipped": int(skipped), "image_size": int(size)}
        logs = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in logs.items() if v is not None}
        row = history_row(epoch, config.phase, logs)
        run.history = [r for r in run.history if r["epoch"] != epoch + 1] + [row]
        if config.stop_after_steps and (epoch + 1) * spe >= config.stop_after_steps and epoch + 1 < config.epochs:
            run.interrupted = True
        return logs

    def _validate(self, run: "_Run") -> dict:
        with self._averaged(run):
            ev = self.evaluate(top=5)
        return {k: round(v, 5) for k, v in ev.result().items() if k != "n"}

    @contextlib.contextmanager
    def _averaged(self, run: "_Run"):
        """With ``ema``, the averaged weights in the model for the block (Keras' ``SwapEMAWeights``
        semantics): validation, keep-best and early stopping see the weights the run will end with; the
        training weights come back after."""
        if not run.config.ema:
            yield
            return
        variables = run.model.trainable_variables
        training = [v.numpy() for v in variables]
        run.optimizer.finalize_variable_values(variables)
        try:
            yield
        finally:
            for v, value in zip(variables, training):
                v.assign(value)

    def evaluate(self, top: int = 5, track_losses: bool = False):
        """The model of the last :meth:`fit` on its validation split, as it is now, through the one
        evaluation loop (:func:`ilsvrc_keras.evaluation.run_evaluation`): an
        :class:`~ilsvrc_keras.evaluation.Evaluator` holding loss, top-1, top-``top`` and the
        confusion matrix (and each example's loss with ``track_losses``); ``evaluator.positions`` index
        :attr:`val_split`."""
        from ..evaluation import Evaluator, run_evaluation

        run = self.run
        if run.val_batches is None:  # the same every epoch: built once per fit
            run.val_batches = self._distributed(run, False, 0, 0, run.transform.size)
        return run_evaluation(run.val_batches, lambda batch: (v.numpy() for v in run.eval_step(batch)),
                              Evaluator(run.num_classes, top, track_losses))

    def _distributed(self, run: "_Run", training: bool, epoch: int, skip_steps: int, size: int):
        """This epoch's batches, one input pipeline per worker, each worker running the same number of
        steps (MultiWorkerMirroredStrategy needs lockstep): short shards are topped up with
        zero-weight batches."""
        from ..datasets import make_dataset

        config, split = run.config, run.train_split if training else run.val_split
        steps = run.steps_per_epoch if training else run.val_steps
        local_replicas = self.replicas // self.workers

        def fn(ctx):
            batch = ctx.get_per_replica_batch_size(config.batch_size)
            ds = make_dataset(split, run.transform, batch, run.num_classes, training=training, seed=config.seed,
                              epoch=epoch, skip=skip_steps * batch * local_replicas, augment=config.augment,
                              shard=(ctx.num_input_pipelines, ctx.input_pipeline_id),
                              class_weights=config.class_weights if training else None, size=size,
                              normalize=False)  # the steps normalize on the device
            padding = _padding(batch, size, run.num_classes, training, ds.element_spec[0].dtype)
            return ds.concatenate(padding).take((steps - skip_steps) * local_replicas)

        return self.strategy.distribute_datasets_from_function(fn)

    def _result(self, run: "_Run", restored: bool, totals, seconds, stopped) -> RunResult:
        import dataclasses as dc

        from ..datasets import Augment

        config, rows = run.config, run.history
        best = max((r for r in rows if r.get("val_accuracy") is not None), key=lambda r: r["val_accuracy"], default=None)
        last = best if restored and best else rows[-1] if rows else {}
        augment = config.augment or Augment()
        return RunResult(
            model=run.model, history=[dict(r) for r in rows], out=str(config.out), epochs=config.epochs,
            epochs_completed=int(run.checkpoints.epoch.numpy()), interrupted=run.interrupted,
            resumed_from_epoch=run.resumed_from,
            val_accuracy=last.get("val_accuracy"), val_top_5_accuracy=last.get("val_top_5_accuracy"),
            best_val_accuracy=best["val_accuracy"] if best else None, best_epoch=best["epoch"] if best else None,
            restored_best=restored,
            train_images_per_sec=round(totals[0] / totals[1], 1) if totals[1] else None,
            seconds=round(seconds, 1), steps_per_epoch=run.steps_per_epoch, global_batch_size=config.batch_size,
            update_batch_size=config.update_batch,
            learning_rate=config.learning_rate, skipped_images=int(totals[2]), classes=run.num_classes,
            replicas=self.replicas, workers=self.workers, xla=self.xla, precision=self.precision,
            weights_fingerprint=weights_fingerprint(run.model), augment=dc.asdict(augment),
            progressive=({"from": config.progressive_from, "to": run.transform.size,
                          "ramp": list(config.progressive_ramp)} if config.progressive_from else None),
            stopped_early=bool(stopped and not run.interrupted),
            best_weights=(str(run.keep_best.path) if run.keep_best and run.keep_best.best_epoch is not None
                          else None),
        )


@dataclasses.dataclass
class _Run:
    """One fit's state, in one place: what :meth:`Trainer._plan` sets out (sizes, the splits as served) and
    :meth:`Trainer._restore` adds (optimizer, schedule, steps, checkpoints, the resumed history)."""

    model: object
    config: RunConfig
    transform: object
    num_classes: int
    train_count: int
    steps_per_epoch: int
    val_steps: int
    train_split: object
    val_split: object
    schedule: object = None
    optimizer: object = None
    checkpoints: Optional[Checkpoints] = None
    resumed_from: Optional[float] = None
    train_step: object = None
    eval_step: object = None
    history: list = dataclasses.field(default_factory=list)     # this phase's rows, one per epoch
    other_rows: list = dataclasses.field(default_factory=list)  # the rows of the run's other phases
    val_batches: object = None  # the validation batches, built once per fit
    keep_best: object = None
    interrupted: bool = False
    stop_votes: float = 0.0     # workers that asked to stop, as of the last step

    def size(self, epoch: int) -> int:
        """The training image size of ``epoch``: the transform's, or progressive resizing's."""
        from .schedules import progressive_size

        c = self.config
        return progressive_size(epoch, c.epochs, self.transform.size, c.progressive_from, c.progressive_ramp) \
            if c.progressive_from else self.transform.size


def _per_variable(model, by_layer: Optional[dict]) -> Optional[list]:
    """``{layer name: factor}`` as one factor per trainable variable of ``model`` (1 where unnamed)."""
    if not by_layer:
        return None
    unknown = sorted(set(by_layer) - {layer.name for layer in model.layers})
    if unknown:
        raise ArgumentError(f"lr_multipliers names {', '.join(unknown[:3])}, not a layer of {model.name}")
    of = {id(v): float(by_layer.get(layer.name, 1.0)) for layer in model.layers for v in layer.trainable_weights}
    return [of.get(id(v), 1.0) for v in model.trainable_variables]


@contextlib.contextmanager
def _attached(model, optimizer):
    """``model.optimizer`` while the callbacks run (Keras' ``TensorBoard`` logs its learning rate from
    there), gone afterwards so that the saved model carries no optimizer of ours."""
    had = "optimizer" in model.__dict__
    previous = getattr(model, "optimizer", None)
    model.optimizer = optimizer
    try:
        yield
    finally:
        if had:
            model.optimizer = previous
        else:
            del model.optimizer


def _padding(batch, size, num_classes, training, dtype="float32"):
    """An endless supply of zero-weight batches of images of ``dtype`` (see :meth:`Trainer._distributed`)."""
    import tensorflow as tf

    x, y, w = tf.zeros([batch, size, size, 3], dtype), tf.zeros([batch, num_classes]), tf.zeros([batch])
    return tf.data.Dataset.from_tensors((x, y, w) if training else (x, y, w, -tf.ones([batch], tf.int64))).repeat()
