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

from ..checks import check
from ..errors import IlsvrcKerasError

PRECISIONS = ("bf16", "fp16", "fp32")
# How long a worker waits for its peers to answer before it gives up naming those that never did: pods of one
# job may start minutes apart, but not forever.
DEFAULT_CLUSTER_TIMEOUT = 600.0
POLICIES = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16", "fp32": "float32"}


def check_machine(replicas: Optional[int] = None) -> None:
    """What a run asks of this machine, checked before it writes anything: ``TF_CONFIG`` (when set) names a
    cluster and this task in it, and ``replicas`` fits the devices (on a CPU, at most one per core)."""
    import tensorflow as tf

    check("replicas", replicas, optional=True)
    config = _tf_config()
    cluster = config.get("cluster", {})
    if cluster:
        task = config.get("task", {})
        if not isinstance(cluster, dict) or not all(isinstance(v, list) and all(isinstance(a, str) and ":" in a
                                                                                for a in v) for v in cluster.values()):
            raise IlsvrcKerasError('TF_CONFIG\'s "cluster" must map each task type to a list of "host:port"')
        kind, index = (task.get("type"), task.get("index")) if isinstance(task, dict) else (None, None)
        if kind not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
            raise IlsvrcKerasError(f'TF_CONFIG\'s "task" ({task}) must name this process in its cluster: a "type" '
                                   f'among {sorted(cluster)} and an "index" within it')
    if replicas and replicas > 1 and not tf.config.list_physical_devices("GPU"):
        cores = os.cpu_count() or 1
        if replicas > cores:  # each CPU replica holds the model and its batch: 64 on 2 cores only fills memory
            raise IlsvrcKerasError(f"replicas={replicas} on a machine without GPUs splits its {cores} CPU cores "
                                   f"into {replicas} devices; give at most {cores} (replicas on a CPU are for "
                                   "testing the multi-replica path, not for speed)")


def chief_task() -> bool:
    """Whether ``TF_CONFIG`` makes this process the one that writes the run's files (as :func:`is_chief`,
    before any strategy exists)."""
    config = _tf_config()
    cluster, task = config.get("cluster", {}), config.get("task", {})
    if cluster_size() <= 1:
        return True
    return task.get("type") == "chief" or (task.get("type") == "worker" and task.get("index") == 0
                                           and "chief" not in cluster)


def configure_cpu_replicas(replicas: Optional[int]) -> None:
    """Split the CPU into ``replicas`` logical devices (before TensorFlow initializes devices)."""
    import tensorflow as tf

    check_machine(replicas)
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


def _tf_config() -> dict:
    try:
        config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError:
        raise IlsvrcKerasError("TF_CONFIG is not valid JSON") from None
    if not isinstance(config, dict):
        raise IlsvrcKerasError('TF_CONFIG must be a JSON object with "cluster" and "task"')
    return config


def cluster_size() -> int:
    """Workers (chief included) that ``TF_CONFIG`` names; 0 without a cluster."""
    cluster = _tf_config().get("cluster", {})
    return sum(len(v) for k, v in cluster.items() if k in ("chief", "worker"))


def choose_strategy(replicas: Optional[int] = None, cluster_timeout: float = DEFAULT_CLUSTER_TIMEOUT):
    """The distribution strategy this machine (and ``TF_CONFIG``) calls for. In a cluster, every peer must
    answer within ``cluster_timeout`` seconds before TensorFlow starts (:func:`cluster_wait`)."""
    import tensorflow as tf

    if cluster_size() > 1:
        with cluster_wait(cluster_timeout):
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
            # The first collective: every worker's replicas counted once. It returns when all are up.
            ones = strategy.run(lambda: tf.constant(1.0))
            strategy.reduce(tf.distribute.ReduceOp.SUM, ones, axis=None)
        return strategy
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


def cluster_peers() -> list[tuple[str, int, str]]:
    """The other tasks ``TF_CONFIG`` names: ``(task type, index, "host:port")``."""
    config = _tf_config()
    me = (config.get("task", {}).get("type"), config.get("task", {}).get("index"))
    return [(kind, i, address) for kind, addresses in config.get("cluster", {}).items()
            for i, address in enumerate(addresses) if (kind, i) != me]


def _own_address() -> str:
    config = _tf_config()
    task = config.get("task", {})
    try:
        return config["cluster"][task["type"]][int(task["index"])]
    except (KeyError, IndexError, TypeError, ValueError):
        return "its address"


def _answers(address: str, timeout: float = 0.5) -> bool:
    import socket

    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        return True
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def cluster_wait(timeout: float):
    """Wait for every peer of the cluster, within ``timeout`` seconds and answering signals, before
    TensorFlow's own start.

    TensorFlow waits for absent peers inside C++ with no limit, holding Python's GIL (no Python thread or
    signal handler runs) and with its own SIGTERM handler in place (its preemption notifier): a worker
    whose peer never comes cannot be stopped but by SIGKILL. So the waiting is done here first, in
    Python: this worker listens on its own address (so that its peers see it) and connects to each
    peer's until all answer; past ``timeout`` it stops with an error naming those that never answered;
    SIGTERM or SIGINT end it at once with status 143 or 130. Then TensorFlow starts with every peer up."""
    import logging
    import socket
    import sys
    import threading
    import time

    peers = [(f"{k} {i} ({a})", a) for k, i, a in cluster_peers() if k in ("chief", "worker")]
    own = _own_address()
    log = logging.getLogger("ilsvrc_keras")
    log.info("waiting up to %g s for the cluster: %s (SIGTERM or Ctrl-C ends the wait)", timeout,
             ", ".join(n for n, _ in peers))
    main = threading.current_thread() is threading.main_thread()

    def stop(signum, frame):
        name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
        sys.stderr.write(f"error: interrupted ({name}) while waiting for the cluster; nothing was trained\n")
        sys.stderr.flush()
        raise SystemExit(143 if signum == signal.SIGTERM else 130)

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    done = threading.Event()
    acceptor = None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind(("", int(own.rpartition(":")[2])))
        except (OSError, ValueError) as exc:
            raise IlsvrcKerasError(f"this worker cannot listen on {own} (its address in TF_CONFIG): "
                                   f"{getattr(exc, 'strerror', None) or exc}") from None
        listener.listen(64)
        listener.settimeout(0.2)

        def accept():  # answer the peers' probes until TensorFlow takes the port
            while not done.is_set():
                try:
                    listener.accept()[0].close()
                except (socket.timeout, OSError):
                    continue

        acceptor = threading.Thread(target=accept, name="cluster-wait", daemon=True)
        acceptor.start()
        deadline = time.monotonic() + timeout
        waiting = list(peers)
        while waiting:
            waiting = [(n, a) for n, a in waiting if not _answers(a)]
            if waiting and time.monotonic() > deadline:
                raise IlsvrcKerasError(f"the cluster did not start within {timeout:g} s: "
                                       f"{', '.join(n for n, _ in waiting)} never answered (is every worker started, "
                                       "with the same TF_CONFIG cluster? --cluster-timeout sets the limit)")
            if waiting:
                time.sleep(0.5)
    finally:
        done.set()  # on every way out: the acceptor must not spin on a closed socket after an error
        if acceptor is not None:
            acceptor.join(timeout=2)
        listener.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    log.info("every worker answered; starting the cluster")
    try:
        yield
    except Exception as exc:
        if "could not start grpc server" in str(exc).lower():
            raise IlsvrcKerasError(f"this worker cannot listen on {own} (its address in TF_CONFIG): "
                                   "another process holds the port, or the address is not this machine's") from None
        raise


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
