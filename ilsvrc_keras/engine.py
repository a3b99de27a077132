"""The training engine: one training path for the CLI, the recipes and ``fine_tune``.

- Strategy from the machine: one device; ``MirroredStrategy`` over all local GPUs (or over N
  logical CPU devices with ``replicas=N``, so the multi-replica path runs on laptops and in tests);
  ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a cluster.
- XLA: each replica's forward and backward pass is one ``tf.function(jit_compile=True)`` called
  inside ``strategy.run``; the optimizer's all-reduce and update run outside it. (Keras 3's
  ``fit(jit_compile=True)`` does not compile under tf.distribute.) Default: on for GPUs, off on
  CPUs, where XLA was measured slower than the default kernels.
- Precision: ``bf16``, ``fp16`` (with dynamic loss scaling) or ``fp32``.
- Resumable: a checkpoint every ``checkpoint_every`` steps, at each epoch's end and on SIGTERM;
  rerunning with the same ``out`` continues from the last one (epoch, step, optimizer and
  schedule state). Checkpoints are written by TensorFlow's checkpoint manager, which points to a
  new checkpoint only after it is complete, so ``kill -9`` loses at most the steps since the last.
- Output folder: ``history.csv`` (one row per epoch), ``tensorboard/``, ``checkpoints/``,
  ``model.keras`` with ``labels.json`` and ``preprocessing.json`` (so ``ilsvrc_keras.load(out)``
  classifies with it), ``summary.json`` and ``curves.png``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .data import Augment
from .errors import IlsvrcKerasError

PRECISIONS = ("bf16", "fp16", "fp32")
_POLICIES = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16", "fp32": "float32"}


# --- machine ---------------------------------------------------------------------------------------


def configure_cpu_replicas(replicas: Optional[int]) -> None:
    """Split the CPU into ``replicas`` logical devices (before TensorFlow initializes devices)."""
    import tensorflow as tf

    if not replicas or replicas <= 1 or tf.config.list_physical_devices("GPU"):
        return
    cpus = tf.config.list_physical_devices("CPU")
    current = tf.config.get_logical_device_configuration(cpus[0])
    if current and len(current) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError as exc:
        raise IlsvrcKerasError(
            f"cannot split the CPU into {replicas} devices after TensorFlow has started ({exc}); "
            f"pass replicas in a fresh process (the CLI does)") from None


def _cluster_size() -> int:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError:
        raise IlsvrcKerasError("TF_CONFIG is not valid JSON") from None
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def choose_strategy(replicas: Optional[int] = None):
    """The distribution strategy this machine (and ``TF_CONFIG``) calls for."""
    import tensorflow as tf

    if _cluster_size() > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    configure_cpu_replicas(replicas)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if gpus:
        return tf.distribute.OneDeviceStrategy("/gpu:0")
    cpus = tf.config.list_logical_devices("CPU")
    if replicas and replicas > 1:
        return tf.distribute.MirroredStrategy([d.name for d in cpus[:replicas]])
    return tf.distribute.OneDeviceStrategy("/cpu:0")


def default_precision() -> str:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "fp32"
    cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
    return "bf16" if cc >= (8, 0) else "fp16"


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


# --- schedule and optimizer --------------------------------------------------------------------------


def make_schedule(base_lr: float, total_steps: int, warmup_steps: int = 0, kind: str = "cosine",
                  milestones: tuple = (), gamma: float = 0.1, final_fraction: float = 0.0):
    """Linear warmup, then cosine decay to ``final_fraction * base_lr`` or step decay by ``gamma``
    at each of ``milestones`` (steps). A keras LearningRateSchedule, so its position is the
    optimizer's step count and resumes with it."""
    import keras
    import tensorflow as tf

    @keras.saving.register_keras_serializable(package="ilsvrc_keras")
    class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            warm = tf.minimum(1.0, (step + 1.0) / max(1.0, float(warmup_steps))) if warmup_steps else 1.0
            if kind == "cosine":
                t = tf.clip_by_value((step - warmup_steps) / max(1.0, float(total_steps - warmup_steps)), 0.0, 1.0)
                decay = final_fraction + (1 - final_fraction) * 0.5 * (1.0 + tf.cos(math.pi * t))
            elif kind == "step":
                passed = tf.add_n([tf.cast(step >= m, tf.float32) for m in milestones]) if milestones else 0.0
                decay = tf.pow(gamma, passed)
            else:
                decay = 1.0
            return base_lr * warm * decay

        def get_config(self):
            return {}

    if kind not in ("cosine", "step", "constant"):
        raise IlsvrcKerasError(f"unknown schedule {kind!r}: cosine, step or constant")
    return WarmupSchedule()


def make_optimizer(name: str, schedule, weight_decay: float = 0.0, momentum: float = 0.9,
                   ema: Optional[float] = None, precision: str = "fp32"):
    import keras

    kw = {"use_ema": ema is not None, "ema_momentum": ema or 0.99}
    if name == "sgd":
        opt = keras.optimizers.SGD(schedule, momentum=momentum, nesterov=False,
                                   weight_decay=weight_decay or None, **kw)
    elif name == "adam":
        opt = keras.optimizers.Adam(schedule, weight_decay=weight_decay or None, **kw)
    elif name == "adamw":
        opt = keras.optimizers.AdamW(schedule, weight_decay=weight_decay or 0.05, **kw)
    elif name == "rmsprop":
        opt = keras.optimizers.RMSprop(schedule, momentum=momentum, weight_decay=weight_decay or None, **kw)
    else:
        raise IlsvrcKerasError(f"unknown optimizer {name!r}: sgd, adam, adamw or rmsprop")
    if weight_decay:
        # The papers decay convolution and dense kernels; BatchNorm and biases are left alone.
        opt.exclude_from_weight_decay(var_names=["bias", "gamma", "beta", "moving_"])
    if precision == "fp16":
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


# --- the run ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class RunConfig:
    """Everything a training run needs besides its data and model (defaults: a reasonable
    ImageNet-style recipe; the recipes and ``fine_tune`` override them)."""

    out: str
    epochs: int = 10
    batch_size: int = 256           # global, across all replicas and workers
    lr: Optional[float] = None      # for the global batch; default: base_lr * batch_size / 256
    base_lr: float = 0.1            # at batch 256 (the linear scaling rule)
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    milestones: tuple = ()          # epochs, for schedule="step"
    gamma: float = 0.1
    label_smoothing: float = 0.0
    ema: Optional[float] = None
    aux_weight: float = 0.3         # GoogLeNet's auxiliary classifiers
    xla: Optional[bool] = None
    precision: Optional[str] = None
    replicas: Optional[int] = None
    seed: int = 0
    checkpoint_every: int = 200     # steps
    keep_checkpoints: int = 2
    progress: bool = True
    stop_after_steps: Optional[int] = None  # stop (as if interrupted) after N steps in all
    patience: Optional[int] = None  # early stopping: epochs without a better val_top1
    restore_best: bool = False      # end with the weights of the best validation epoch
    class_weights: Optional[list] = None  # loss weight per class (imbalanced data)
    augment: Optional["Augment"] = None  # crops, RandAugment, MixUp, CutMix (ilsvrc_keras.data.Augment)
    progressive_from: Optional[int] = None  # progressive resizing: first epochs at this size (px)
    progressive_ramp: tuple = (0.5, 0.85)   # fractions of the run over which the size grows

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else self.base_lr * self.batch_size / 256


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


class _Stop:
    """SIGTERM/SIGINT -> finish the step, checkpoint, exit cleanly (what a scheduler's preemption sends)."""

    def __init__(self):
        self.requested = False
        self._old = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def _read_history(path: Path) -> list:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _write_history(path: Path, rows: list) -> None:
    if not rows:
        return
    # Every column any row has, in first-seen order: a run resumed by a newer version may add one.
    fields = list(dict.fromkeys(k for r in rows for k in r))
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, restval="")
    writer.writeheader()
    writer.writerows(rows)
    _write_atomic(path, buf.getvalue())


def weights_fingerprint(model) -> str:
    """A short hash of the trainable weights: equal fingerprints mean workers stepped in lockstep.
    (BatchNorm's moving statistics are left out: each worker averages its own batches, as
    unsynchronized BatchNorm does everywhere; the chief's are the ones saved.)"""
    h = hashlib.sha256()
    for w in model.trainable_weights:
        h.update(np.ascontiguousarray(np.asarray(w, dtype=np.float32)).tobytes())
    return h.hexdigest()[:16]


def run_training(build_model: Callable, dataset, transform, config: RunConfig,
                 card: Optional[dict] = None, on_epoch_end: Optional[Callable] = None) -> dict:
    """Train ``build_model()`` (called inside the strategy's scope) on ``dataset`` (a
    :class:`ilsvrc_keras.data.FileDataset`) with ``transform`` (an EvalTransform: input size
    and normalization). Returns the summary (also written to ``summary.json``)."""
    import keras
    import tensorflow as tf

    from .data import file_dataset

    out = Path(config.out)
    precision = config.precision or default_precision()
    if precision not in PRECISIONS:
        raise IlsvrcKerasError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    strategy = choose_strategy(config.replicas)
    on_gpu = bool(tf.config.list_logical_devices("GPU"))
    xla = on_gpu if config.xla is None else bool(config.xla)
    replicas = strategy.num_replicas_in_sync
    workers = max(1, _cluster_size())
    chief = _is_chief(strategy)
    if config.batch_size % replicas:
        raise IlsvrcKerasError(f"batch size {config.batch_size} does not split evenly over {replicas} replicas")
    per_replica = config.batch_size // replicas
    local_replicas = replicas // workers
    num_classes = len(dataset.class_names)
    steps_per_epoch = max(1, math.ceil(len(dataset.train) / config.batch_size))
    val_steps = max(1, math.ceil(len(dataset.val) / config.batch_size)) if len(dataset.val) else 0
    total_steps = steps_per_epoch * config.epochs
    # Non-chief workers write their checkpoints beside the chief's (MultiWorkerMirroredStrategy
    # needs every worker to save); only the chief's are read back.
    ckpt_dir = out / "checkpoints" if chief else out / "workers" / f"worker-{strategy.cluster_resolver.task_id}"
    out.mkdir(parents=True, exist_ok=True)
    ckpt_dir.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(config.seed)
    old_policy = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(_POLICIES[precision])
    try:
        with strategy.scope():
            model = build_model()
            schedule = make_schedule(
                config.learning_rate, total_steps, int(config.warmup_epochs * steps_per_epoch), config.schedule,
                tuple(int(m * steps_per_epoch) for m in config.milestones), config.gamma)
            optimizer = make_optimizer(config.optimizer, schedule, config.weight_decay, config.momentum,
                                       config.ema, precision)
            optimizer.build(model.trainable_variables)
            epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
            ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var, step=step_var)
            manager = tf.train.CheckpointManager(ckpt, str(ckpt_dir), max_to_keep=config.keep_checkpoints)
            restored = manager.restore_or_initialize() if manager.latest_checkpoint else None
            resumed_from = None
            if restored:
                resumed_from = int(epoch_var.numpy()) + int(step_var.numpy()) / steps_per_epoch

        train_step, eval_step = _make_steps(strategy, model, optimizer, config, xla, precision)
        history_path = out / "history.csv"
        history = [r for r in _read_history(history_path) if int(r["epoch"]) <= int(epoch_var.numpy())]
        writer = tf.summary.create_file_writer(str(out / "tensorboard")) if chief else tf.summary.create_noop_writer()

        def train_size(epoch):
            return progressive_size(epoch, config.epochs, transform.size, config.progressive_from,
                                    config.progressive_ramp)

        def distributed(split, training, epoch, skip_steps):
            size = train_size(epoch) if training else transform.size

            def fn(ctx):
                return file_dataset(
                    split, transform, ctx.get_per_replica_batch_size(config.batch_size), num_classes,
                    training=training, seed=config.seed, epoch=epoch,
                    skip=skip_steps * per_replica * local_replicas,
                    augment=config.augment, shard=(ctx.num_input_pipelines, ctx.input_pipeline_id),
                    class_weights=config.class_weights if training else None, size=size,
                ).concatenate(_padding(ctx.get_per_replica_batch_size(config.batch_size), size,
                                       num_classes)).take(
                    ((steps_per_epoch if training else val_steps) - skip_steps) * local_replicas)

            return strategy.distribute_datasets_from_function(fn)

        best_path = (out if chief else ckpt_dir) / "best.weights.h5"
        best = max((_num(r.get("val_top1")) or 0.0 for r in history), default=-1.0)
        since_best = 0
        started = time.perf_counter()
        train_images = train_seconds = 0.0
        stopped_early = False
        skipped_total = 0
        with _Stop() as stop:
            epoch = int(epoch_var.numpy())
            while epoch < config.epochs:
                first = int(step_var.numpy())
                from tqdm import tqdm

                bar = tqdm(total=steps_per_epoch, initial=first, unit="step", file=sys.stderr,
                           desc=f"epoch {epoch + 1}/{config.epochs}", disable=not (config.progress and chief))
                sums = np.zeros(3)  # loss, correct, seen
                t0 = time.perf_counter()
                it = iter(distributed(dataset.train, True, epoch, first))
                step = first
                for step in range(first, steps_per_epoch):
                    loss, correct, seen = (v.numpy() for v in train_step(next(it)))
                    sums += (loss * seen if seen else 0.0, correct, seen)
                    step_var.assign(step + 1)
                    rate = sums[2] / max(1e-9, time.perf_counter() - t0)
                    bar.update(1)
                    bar.set_postfix(loss=f"{sums[0] / max(1, sums[2]):.3f}", acc=f"{sums[1] / max(1, sums[2]):.3f}",
                                    img_s=f"{rate:.0f}", refresh=False)
                    done_steps = epoch * steps_per_epoch + step + 1
                    if (step + 1) % config.checkpoint_every == 0 and step + 1 < steps_per_epoch:
                        manager.save(checkpoint_number=done_steps)
                    if stop.requested or (config.stop_after_steps and done_steps >= config.stop_after_steps):
                        break
                bar.close()
                if step_var.numpy() < steps_per_epoch:  # interrupted mid-epoch
                    manager.save(checkpoint_number=epoch * steps_per_epoch + int(step_var.numpy()))
                    stopped_early = True
                    break
                seconds = time.perf_counter() - t0
                train_images += sums[2]
                train_seconds += seconds
                # Images of this pass that never reached a step (undecodable); exact on a fresh epoch.
                skipped = max(0, len(dataset.train) - int(sums[2])) if first == 0 else 0
                skipped_total += skipped
                val = _evaluate(eval_step, distributed(dataset.val, False, epoch, 0)) if val_steps else {}
                row = {"epoch": epoch + 1, "loss": round(sums[0] / max(1, sums[2]), 5),
                       "accuracy": round(sums[1] / max(1, sums[2]), 5),
                       "val_loss": val.get("loss"), "val_top1": val.get("top1"), "val_top5": val.get("top5"),
                       "lr": float(schedule(optimizer.iterations)), "images_per_sec": round(sums[2] / seconds, 1),
                       "seconds": round(seconds, 1), "skipped": skipped,
                       "image_size": train_size(epoch)}
                history = [r for r in history if int(r["epoch"]) != epoch + 1] + [row]
                epoch += 1
                epoch_var.assign(epoch)
                step_var.assign(0)
                manager.save(checkpoint_number=epoch * steps_per_epoch)
                if chief:
                    _write_history(history_path, history)
                    with writer.as_default(step=epoch):
                        for k in ("loss", "accuracy", "val_loss", "val_top1", "val_top5", "lr", "images_per_sec"):
                            if row[k] is not None:
                                tf.summary.scalar(k, row[k])
                    writer.flush()
                print(f"epoch {epoch}: " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "epoch"),
                      file=sys.stderr)
                if val.get("top1") is not None and val["top1"] > best:
                    best, since_best = val["top1"], 0
                    if config.restore_best:
                        model.save_weights(best_path)
                else:
                    since_best += 1
                if on_epoch_end is not None and on_epoch_end(epoch, row, model):
                    break
                if config.patience is not None and since_best >= config.patience:
                    print(f"early stop: no better validation top-1 for {since_best} epochs", file=sys.stderr)
                    break
                if stop.requested:
                    stopped_early = epoch < config.epochs
                    break

        if config.ema and not stopped_early:
            optimizer.finalize_variable_values(model.trainable_variables)
        best_epoch = None
        if history and any(_num(r.get("val_top1")) is not None for r in history):
            best_epoch = int(max(history, key=lambda r: _num(r.get("val_top1")) or -1.0)["epoch"])
        restored = bool(config.restore_best and not stopped_early and best_path.is_file())
        if restored:
            model.load_weights(best_path)
        # The figures of the weights the run ends with: the best epoch's when those were restored.
        last = (next(r for r in history if int(r["epoch"]) == best_epoch) if restored and best_epoch
                else history[-1] if history else {})
        summary = {
            "replicas": replicas, "workers": workers, "xla": xla, "precision": precision,
            "epochs_completed": int(epoch_var.numpy()), "epochs": config.epochs,
            "resumed_from_epoch": resumed_from, "interrupted": stopped_early,
            "val_top1": _num(last.get("val_top1")), "val_top5": _num(last.get("val_top5")),
            "best_val_top1": max((_num(r.get("val_top1")) or 0.0 for r in history), default=None),
            "best_epoch": best_epoch, "restored_best": restored,
            "train_images_per_sec": round(train_images / train_seconds, 1) if train_seconds else None,
            "seconds": round(time.perf_counter() - started, 1), "steps_per_epoch": steps_per_epoch,
            "global_batch_size": config.batch_size, "learning_rate": config.learning_rate,
            "skipped_images": skipped_total, "classes": num_classes, "out": str(out),
            "weights_fingerprint": weights_fingerprint(model),
            "augment": dataclasses.asdict(config.augment or Augment()),
            "progressive": ({"from": config.progressive_from, "to": transform.size, "ramp": list(config.progressive_ramp)}
                            if config.progressive_from else None),
        }
        if not stopped_early:
            _finish(out if chief else ckpt_dir, model, dataset.class_names, transform, card, history, summary)
        else:
            _write_atomic((out if chief else ckpt_dir) / "summary.json", json.dumps(summary, indent=2))
        return summary
    finally:
        keras.mixed_precision.set_dtype_policy(old_policy)


def _num(v):
    return None if v in (None, "", "None") else float(v)


def _padding(batch, size, num_classes):
    """An endless supply of zero-weight batches: every worker then runs the same number of steps
    (MultiWorkerMirroredStrategy needs lockstep) even when its shard is a batch short."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensors((tf.zeros([batch, size, size, 3]), tf.zeros([batch, num_classes]),
                                         tf.zeros([batch]))).repeat()


def _make_steps(strategy, model, optimizer, config, xla, precision):
    import keras
    import tensorflow as tf

    global_batch = float(config.batch_size)
    smoothing = config.label_smoothing
    fp16 = precision == "fp16"
    aux_weight = config.aux_weight

    def per_example_loss(y, p):
        return keras.losses.categorical_crossentropy(y, tf.cast(p, tf.float32), label_smoothing=smoothing)

    def forward_backward(x, y, w):
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            per_ex = per_example_loss(y, outs[0])
            for aux in outs[1:]:
                per_ex += aux_weight * per_example_loss(y, aux)
            loss = tf.reduce_sum(per_ex * w) / global_batch
            if model.losses:
                loss += tf.add_n(model.losses) / strategy.num_replicas_in_sync
            scaled = optimizer.scale_loss(loss) if fp16 else loss
        grads = tape.gradient(scaled, model.trainable_variables)
        real = tf.cast(w > 0, tf.float32)  # w carries class weights; padding has 0
        correct = tf.reduce_sum(real * tf.cast(tf.equal(tf.argmax(outs[0], -1), tf.argmax(y, -1)), tf.float32))
        return tf.reduce_sum(per_ex * real), grads, correct

    compiled = tf.function(forward_backward, jit_compile=xla)

    def replica_step(x, y, w):
        loss_sum, grads, correct = compiled(x, y, w)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))  # all-reduces across replicas
        return loss_sum, correct, tf.reduce_sum(tf.cast(w > 0, tf.float32))

    @tf.function
    def train_step(batch):
        results = strategy.run(replica_step, args=batch)
        loss_sum, correct, seen = (strategy.reduce("SUM", r, axis=None) for r in results)
        return loss_sum / tf.maximum(seen, 1.0), correct, seen

    def replica_eval(x, y, w):
        out = model(x, training=False)
        p = tf.cast(out[0] if isinstance(out, (list, tuple)) else out, tf.float32)
        target = tf.argmax(y, -1, output_type=tf.int32)
        top1 = tf.cast(tf.math.in_top_k(target, p, 1), tf.float32)
        top5 = tf.cast(tf.math.in_top_k(target, p, min(5, p.shape[-1])), tf.float32)
        loss = keras.losses.categorical_crossentropy(y, p)
        return tf.stack([tf.reduce_sum(w * loss), tf.reduce_sum(w * top1), tf.reduce_sum(w * top5), tf.reduce_sum(w)])

    @tf.function
    def eval_step(batch):
        return strategy.reduce("SUM", strategy.run(replica_eval, args=batch), axis=None)

    return train_step, eval_step


def _evaluate(eval_step, dist_dataset) -> dict:
    total = np.zeros(4)
    for batch in dist_dataset:
        total += eval_step(batch).numpy()
    n = max(total[3], 1.0)
    return {"loss": round(total[0] / n, 5), "top1": round(total[1] / n, 5), "top5": round(total[2] / n, 5),
            "n": int(total[3])}


def _finish(out: Path, model, class_names, transform, card, history, summary) -> None:
    """The run's deliverables: the model a user loads, its labels and preprocessing, plots, summary."""
    from .inference import LABELS_FILE, MODEL_FILE, PREPROCESSING_FILE

    model.save(out / MODEL_FILE)
    _write_atomic(out / LABELS_FILE, json.dumps(list(class_names), indent=1))
    prep = {"size": transform.size, "crop_fraction": transform.crop_fraction,
            "preprocessing": transform.preprocessing, "card": card or {}}
    _write_atomic(out / PREPROCESSING_FILE, json.dumps(prep, indent=2))
    try:
        from .plots import training_curves

        training_curves(history, out / "curves.png")
        summary["curves"] = str(out / "curves.png")
    except Exception as exc:  # a plot must never cost a finished run
        print(f"warning: could not draw the training curves ({exc})", file=sys.stderr)
    _write_atomic(out / "summary.json", json.dumps(summary, indent=2))


def train(model: str, data, out, *, epochs: int = 10, batch_size: int = 128, image_size: Optional[int] = None,
          weights=None, val_fraction: float = 0.2, labels=None, seed: int = 0, data_dir=None, manual_dir=None,
          **options) -> dict:
    """Train a zoo network on a class-per-folder dataset, the raw ILSVRC layout, TFRecord shards
    or a TFDS dataset.

    ``data``: ``train/<class>/`` with ``val/<class>/`` (or ``val/`` plus ``labels``), or a single
    ``<class>/`` tree split with ``val_fraction`` held out (seeded, stratified); a folder written by
    ``ilsvrc-keras prepare``; or a TFDS name (``"imagenet2012"``, with ``manual_dir`` holding the
    ILSVRC2012 tars the first time, and ``data_dir`` for TFDS' records). ``options`` are
    :class:`RunConfig` fields (``lr``, ``optimizer``, ``schedule``, ``warmup_epochs``,
    ``replicas``, ``xla``, ``precision``, ``label_smoothing``, ``augment``, ``progressive_from``
    ...). Rerunning with the same ``out`` resumes. Returns the run's summary.

    >>> import ilsvrc_keras
    >>> summary = ilsvrc_keras.train("resnet18", "flowers/", "runs/r18", epochs=30, image_size=96,
    ...                              batch_size=64, lr=0.2, warmup_epochs=2)  # doctest: +SKIP
    >>> summary["val_top1"]  # doctest: +SKIP
    0.8
    """
    from .data import open_dataset
    from .registry import get_spec
    from .transforms import EvalTransform
    from .zoo import create_model

    spec = get_spec(model)
    dataset = open_dataset(data, val_fraction=val_fraction, seed=seed, labels=labels, data_dir=data_dir,
                           manual_dir=manual_dir)
    size = int(image_size or spec.input_size)
    transform = EvalTransform(size, spec.crop_fraction, spec.preprocessing)
    config = RunConfig(out=str(out), epochs=epochs, batch_size=batch_size, seed=seed, **options)
    extra = {"aux_logits": True} if model == "googlenet" and config.aux_weight > 0 else {}

    def build():
        # Under progressive resizing one network takes every size of the run.
        shape = (None, None, 3) if config.progressive_from else (size, size, 3)
        return create_model(model, weights=weights, num_classes=len(dataset.class_names),
                            input_shape=shape, **extra)

    card = {**spec.card(), "trained_on": str(data), "image_size": size}
    return run_training(build, dataset, transform, config, card=card)
