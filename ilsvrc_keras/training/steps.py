"""The per-replica training and evaluation steps, public so that a custom loop can use them.

XLA: each replica's forward and backward pass is one ``tf.function(jit_compile=True)`` called inside
``strategy.run``; the optimizer's all-reduce and update run outside it (Keras 3's
``fit(jit_compile=True)`` does not compile under tf.distribute). Default: on for GPUs, off on CPUs,
where XLA was measured slower than the default kernels.
"""

from __future__ import annotations

from typing import Optional

from ..models.common import ends_in_logits


def make_train_step(strategy, model, optimizer, *, global_batch_size: int, label_smoothing: float = 0.0,
                    aux_weight: float = 0.3, xla: bool = False, loss_scale: bool = False,
                    from_logits: Optional[bool] = None, accumulate_steps: int = 1, clip_norm: Optional[float] = None,
                    normalize=None):
    """A ``tf.function`` that trains ``model`` on one distributed batch ``(x, one-hot y, weights)``
    and returns ``(mean loss, correct, seen, stop)``: the first three over the real (weight > 0)
    examples of all replicas; ``stop``, how many workers asked to stop. Call it as
    ``step(batch, stop)`` with ``stop`` 1.0 where this worker has been told to stop (SIGTERM) and 0.0
    otherwise: the flag travels in the step's one all-reduce, so every worker learns of a preemption
    after the same step and they all checkpoint there (none is left waiting in a collective).

    The loss of each example is weighted (class weights; 0 for padding) and summed over the global
    batch, then divided by ``global_batch_size``, so gradients all-reduced across replicas equal
    one device's on the same batch. Extra outputs (GoogLeNet's auxiliary classifiers) add
    ``aux_weight`` times their loss; model losses (regularizers) are added once.
    ``loss_scale``: the optimizer is a ``LossScaleOptimizer`` (fp16). ``from_logits``: whether the
    model ends in logits (the zoo's training networks do: a softmax folded into the loss is exact
    where a softmax's probabilities underflow); None reads it from the model's last layer.

    ``accumulate_steps`` and ``clip_norm``: see :class:`_Updates`. ``normalize``: a function applied to
    ``x`` first, on the replica's device (the batches then come as 0-255 pixels:
    :func:`~ilsvrc_keras.datasets.make_dataset` with ``normalize=False``).

    >>> import keras, tensorflow as tf
    >>> from ilsvrc_keras.training import make_optimizer, make_train_step
    >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(2, activation="softmax")])
    >>> opt = make_optimizer("sgd", 0.1)
    >>> step = make_train_step(tf.distribute.get_strategy(), model, opt, global_batch_size=4)
    >>> loss, correct, seen, stop = step((tf.zeros([4, 8, 8, 3]), tf.one_hot([0, 1, 0, 1], 2), tf.ones([4])),
    ...                                  tf.constant(0.0))
    >>> float(seen), float(stop)
    (4.0, 0.0)
    """
    import tensorflow as tf

    logits = ends_in_logits(model) if from_logits is None else from_logits
    forward_backward = _forward_backward(strategy, model, optimizer, float(global_batch_size), logits,
                                         label_smoothing, aux_weight, loss_scale, normalize)

    # No autograph: the step has no tensor-dependent Python control flow, and converting Keras'
    # layers cost about 1 s of tracing per step function here (Keras' own fit skips it too).
    compiled = tf.function(forward_backward, jit_compile=xla, autograph=False)

    updates = _Updates(strategy, optimizer, model.trainable_variables, accumulate_steps, clip_norm, loss_scale)

    def replica_step(x, y, w, stop, apply):
        loss_sum, grads, correct = compiled(x, y, w)
        updates.take(grads, apply)
        # The worker's stop flag once (on its first replica), so that the sum counts workers.
        first = tf.cast(tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group
                                 % local_replicas, 0), tf.float32)
        seen = tf.reduce_sum(tf.cast(w > 0, tf.float32))
        return tf.stack([tf.cast(loss_sum, tf.float32), correct, seen, stop * first])

    try:
        local_replicas = max(1, len(strategy.extended.worker_devices))  # this worker's replicas
    except RuntimeError:  # the default strategy (no tf.distribute scope): one replica
        local_replicas = 1

    def step_function(apply: bool):
        @tf.function(autograph=False)
        def step(batch, stop=tf.constant(0.0)):
            # One all-reduce for the four figures (MultiWorkerMirroredStrategy reduces one tensor at a time).
            sums = strategy.reduce("SUM", strategy.run(
                replica_step, args=(*batch, tf.cast(stop, tf.float32), apply)), axis=None)
            return sums[0] / tf.maximum(sums[2], 1.0), sums[1], sums[2], sums[3]
        return step

    updating = step_function(True)
    if accumulate_steps <= 1:
        return updating
    adding, calls = step_function(False), [0]

    def train_step(batch, stop=tf.constant(0.0)):
        # Which of the two compiled steps runs is decided here, outside the graph, so that no collective
        # sits in a conditional; a resumed run starts a fresh accumulation window.
        calls[0] += 1
        return (updating if calls[0] % accumulate_steps == 0 else adding)(batch, stop)

    return train_step


def _forward_backward(strategy, model, optimizer, global_batch: float, logits: bool, label_smoothing: float,
                      aux_weight: float, loss_scale: bool, normalize=None):
    """One replica's pass: ``(x, y, w) -> (summed loss of the real examples, gradients, correct)``, the loss
    weighted per example and divided by the global batch (see :func:`make_train_step`)."""
    import keras
    import tensorflow as tf

    def per_example_loss(y, p):
        return keras.losses.categorical_crossentropy(y, tf.cast(p, tf.float32), from_logits=logits,
                                                     label_smoothing=label_smoothing)

    def forward_backward(x, y, w):
        if normalize is not None:
            x = normalize(x)
        with tf.GradientTape() as tape:
            out = model(x, training=True)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            per_ex = per_example_loss(y, outs[0])
            for aux in outs[1:]:
                per_ex += aux_weight * per_example_loss(y, aux)
            loss = tf.reduce_sum(per_ex * w) / global_batch
            if model.losses:
                loss += tf.add_n(model.losses) / strategy.num_replicas_in_sync
            scaled = optimizer.scale_loss(loss) if loss_scale else loss
        grads = tape.gradient(scaled, model.trainable_variables)
        real = tf.cast(w > 0, tf.float32)  # w carries class weights; padding has 0
        correct = tf.reduce_sum(real * tf.cast(tf.equal(tf.argmax(outs[0], -1), tf.argmax(y, -1)), tf.float32))
        return tf.reduce_sum(per_ex * real), grads, correct

    return forward_backward


class _Updates:
    """How a step's gradients become optimizer updates. ``accumulate_steps``: one update every N steps, with
    the mean of their gradients (kept per replica in between), so N steps of batch B make the update of one
    step of batch N x B. ``clip_norm``: the update's gradient, summed over every replica, scaled to at most
    that global norm. Both are done here rather than by Keras' optimizer arguments, which under
    ``tf.distribute`` clip each replica's share before the sum and cannot accumulate (their update sits in a
    conditional that would hold the all-reduce)."""

    def __init__(self, strategy, optimizer, variables, accumulate_steps: int = 1, clip_norm: Optional[float] = None,
                 loss_scale: bool = False):
        import tensorflow as tf

        from ..errors import ArgumentError

        if clip_norm is not None and loss_scale:
            raise ArgumentError("clip_norm with fp16 loss scaling is not supported: train in bf16 or fp32")
        self.optimizer, self.variables = optimizer, variables
        self.accumulate_steps, self.clip_norm = accumulate_steps, clip_norm
        self.sums = []
        if accumulate_steps > 1:
            with strategy.scope():  # each replica's own running sum of its gradients (read where it was written)
                self.sums = [tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False,
                                         synchronization=tf.VariableSynchronization.ON_READ,
                                         aggregation=tf.VariableAggregation.SUM) for v in variables]

    def take(self, grads, apply: bool) -> None:
        """In a replica: add ``grads`` to the running sums, or (``apply``) update with their mean."""
        import tensorflow as tf

        if not self.sums:
            return self._update(grads)
        if not apply:
            for acc, g in zip(self.sums, grads):
                acc.assign_add(g)
            return None
        mean = [(acc + g) / self.accumulate_steps for acc, g in zip(self.sums, grads)]
        for acc in self.sums:
            acc.assign(tf.zeros_like(acc))
        return self._update(mean)

    def _update(self, grads) -> None:
        import tensorflow as tf

        if self.clip_norm is not None:
            context = tf.distribute.get_replica_context()
            total, _ = tf.clip_by_global_norm(context.all_reduce("SUM", grads), self.clip_norm)
            # The optimizer sums the replicas' gradients: each hands it its share of the clipped total.
            grads = [g / context.num_replicas_in_sync for g in total]
        self.optimizer.apply_gradients(zip(grads, self.variables))  # all-reduces across replicas


def make_eval_step(strategy, model, from_logits: Optional[bool] = None, normalize=None):
    """A ``tf.function`` that runs ``model`` in inference mode on one distributed evaluation batch
    ``(x, one-hot y, weights, positions)`` and returns, gathered from every replica (and worker),
    ``(probabilities, true class, weights, positions)`` as tensors: what
    :class:`ilsvrc_keras.evaluation.Evaluator` accumulates. The first output is the prediction
    (auxiliary heads are ignored); logits (``from_logits``, None: read from the model) go through
    a softmax. ``normalize``: as :func:`make_train_step`'s."""
    import tensorflow as tf

    logits = ends_in_logits(model) if from_logits is None else from_logits

    def replica_eval(x, y, w, i):
        out = model(x if normalize is None else normalize(x), training=False)
        p = tf.cast(out[0] if isinstance(out, (list, tuple)) else out, tf.float32)
        if logits:
            p = tf.nn.softmax(p, axis=-1)
        # One float32 matrix per replica: a single all-gather (MultiWorkerMirroredStrategy gathers
        # one tensor at a time); class indices and positions stay exact below 2**24.
        extra = tf.stack([tf.cast(tf.argmax(y, -1), tf.float32), w, tf.cast(i, tf.float32)], axis=1)
        return tf.concat([p, extra], axis=1)

    @tf.function(autograph=False)
    def eval_step(batch):
        rows = strategy.gather(strategy.run(replica_eval, args=batch), axis=0)
        return (rows[:, :-3], tf.cast(rows[:, -3], tf.int32), rows[:, -2], tf.cast(rows[:, -1], tf.int64))

    return eval_step
