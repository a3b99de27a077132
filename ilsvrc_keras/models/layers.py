"""Layers that Keras does not ship but the milestone papers used."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="ilsvrc_keras")
class LocalResponseNormalization(keras.layers.Layer):
    """Cross-channel local response normalization (Krizhevsky et al. 2012, section 3.3).

    ``b = a / (k + alpha * sum_{window of n channels} a^2) ** beta`` with the paper's
    ``k=2, n=5, alpha=1e-4, beta=0.75``. AlexNet, ZFNet and GoogLeNet use it; it has no weights.
    """

    def __init__(self, size=5, k=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        self.size, self.k, self.alpha, self.beta = size, k, alpha, beta

    def call(self, inputs):
        # Computed in float32: alpha * sum(a^2) underflows in float16 under mixed precision.
        x = tf.cast(inputs, tf.float32)
        y = tf.nn.local_response_normalization(
            x, depth_radius=self.size // 2, bias=self.k, alpha=self.alpha, beta=self.beta
        )
        return tf.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "k": self.k, "alpha": self.alpha, "beta": self.beta}
