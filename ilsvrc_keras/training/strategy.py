"""The machine a run trains on: devices, replicas, workers (``TF_CONFIG``), precision, interruption.

- Strategy from the machine: one device; ``MirroredStrategy`` over all local GPUs (or over N
  logical CPU devices with ``replicas=N``, so the multi-replica path runs on laptops and in tests);
  ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a cluster.
- Precision: ``bf16``, ``fp16`` (with dynamic loss scaling) or ``fp32``, as a Keras dtype policy
  set while the model is built.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
from typing import Optional

import numpy as np

from ..errors import IlsvrcKerasError

PRECISIONS = ("bf16", "fp16", "fp32")
POLICIES = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16", "fp32": "float32"}


def configure_cpu_replicas(replicas: Optional[int]) -> None:
    """Split the CPU into ``replicas`` logical devices (before TensorFlow initializes devices)."""
    import tensorflow as tf

    from ..checks import whole

    whole("replicas", replicas, low=1, optional=True)
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


def cluster_size() -> int:
    """Workers (chief included) that ``TF_CONFIG`` names; 0 without a cluster."""
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError:
        raise IlsvrcKerasError("TF_CONFIG is not valid JSON") from None
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def choose_strategy(replicas: Optional[int] = None):
    """The distribution strategy this machine (and ``TF_CONFIG``) calls for."""
    import tensorflow as tf

    if cluster_size() > 1:
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
    """bf16 on GPUs that compute it natively (compute capability 8.0 and up), fp16 on older ones, fp32 on CPUs."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "fp32"
    cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
    return "bf16" if cc >= (8, 0) else "fp16"


def is_chief(strategy) -> bool:
    """Whether this process writes the run's files (the chief, or worker 0 of a chief-less cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


@contextlib.contextmanager
def precision_policy(precision: str):
    """Keras' global dtype policy for ``precision`` inside the block (layers built there keep it)."""
    import keras

    if precision not in PRECISIONS:
        raise IlsvrcKerasError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    old = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(POLICIES[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(old)


def weights_fingerprint(model) -> str:
    """A short hash of the trainable weights: equal fingerprints mean workers stepped in lockstep.
    (BatchNorm's moving statistics are left out: each worker averages its own batches, as
    unsynchronized BatchNorm does everywhere; the chief's are the ones saved.)"""
    h = hashlib.sha256()
    for w in model.trainable_weights:
        h.update(np.ascontiguousarray(np.asarray(w, dtype=np.float32)).tobytes())
    return h.hexdigest()[:16]


class Interruption:
    """SIGTERM/SIGINT -> ``requested``: the training loop finishes its step, checkpoints and returns
    an interrupted result (what a scheduler's preemption sends). Installed once for a whole
    ``fine_tune`` (both phases), so a signal between phases is not lost. Re-entrant: nested
    ``with`` blocks install the handler once."""

    def __init__(self):
        self.requested = False
        self._old = {}
        self._depth = 0

    def __enter__(self):
        import threading

        self._depth += 1
        if self._depth == 1 and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            for sig, old in self._old.items():
                signal.signal(sig, old)
            self._old = {}
