"""Optimizers Keras 3 does not have, as Keras optimizers (any backend, any ``tf.distribute`` strategy):
:class:`RAdam`, with Lookahead built in (RAdam + Lookahead is "Ranger", the optimizer of fastai's Imagenette
records). :func:`~ilsvrc_keras.training.make_optimizer` builds them by name (``"radam"``, ``"ranger"``).
"""

from __future__ import annotations

from typing import Optional

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ilsvrc_keras")
class RAdam(keras.optimizers.Optimizer):
    """Rectified Adam (Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and Beyond"): Adam
    whose adaptive step is rectified by how well its second-moment estimate is known yet, and is plain
    momentum (bias-corrected) while it is not (``rho_t <= 5``): Adam's warmup built in. The update rule of
    PyTorch's ``torch.optim.RAdam``.

    ``lookahead_steps``: Lookahead (Zhang et al., 2019) over it: every ``lookahead_steps`` updates the weights
    move back to ``slow + lookahead_alpha * (fast - slow)``, which becomes the new slow copy. RAdam with
    Lookahead (6 steps, 0.5) is Ranger.

    >>> import keras
    >>> w = keras.Variable([1.0, 2.0])
    >>> opt = RAdam(0.1)
    >>> opt.build([w])
    >>> _ = opt.apply_gradients([(keras.ops.convert_to_tensor([0.5, -0.5]), w)])
    >>> [round(float(v), 3) for v in keras.ops.convert_to_numpy(w)]  # at first, momentum SGD: 0.1 x gradient
    [0.95, 2.05]
    """

    def __init__(self, learning_rate=1e-3, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
                 lookahead_steps: Optional[int] = None, lookahead_alpha: float = 0.5, name: str = "radam",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.lookahead_steps, self.lookahead_alpha = lookahead_steps, lookahead_alpha

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.lookahead_steps:
            self._slow = self.add_optimizer_variables(var_list, "slow")
            for slow, variable in zip(self._slow, var_list):
                slow.assign(variable)  # Lookahead's slow copy starts at the weights

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr, g = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(g, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(g), v), 1 - beta_2))
        beta_1_power, beta_2_power = ops.power(beta_1, step), ops.power(beta_2, step)
        m_hat = ops.divide(m, 1 - beta_1_power)
        rho_inf = 2 / (1 - beta_2) - 1
        rho = rho_inf - 2 * step * beta_2_power / (1 - beta_2_power)
        rect = ops.sqrt(ops.maximum((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho), 0.0))
        # torch's arrangement of epsilon: added to sqrt(v) before v's bias correction
        adaptive = rect * m_hat * ops.sqrt(1 - beta_2_power) / (ops.sqrt(v) + self.epsilon)
        self.assign_sub(variable, lr * ops.where(rho > 5, adaptive, m_hat))
        if self.lookahead_steps:
            slow = self._slow[index]
            sync = ops.cast(ops.equal((self.iterations + 1) % self.lookahead_steps, 0), dtype)
            moved = slow + sync * self.lookahead_alpha * (variable - slow)
            self.assign(slow, moved)
            self.assign(variable, variable + sync * (moved - variable))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "lookahead_steps": self.lookahead_steps, "lookahead_alpha": self.lookahead_alpha}
