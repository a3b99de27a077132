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


@keras.saving.register_keras_serializable(package="ilsvrc_keras")
class PixelNormalization(keras.layers.Layer):
    """Raw 0-255 pixels (any dtype) -> a network's input: optional RGB -> BGR, then ``x * scale +
    offset`` per channel (what :class:`ilsvrc_keras.transforms.Normalization` computes in tf.data).
    Exports carry it so that their consumers feed raw pixels."""

    def __init__(self, scale, offset, reverse_channels=False, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset, self.reverse_channels = list(scale), list(offset), bool(reverse_channels)

    def call(self, inputs):
        x = tf.cast(inputs, "float32")
        if self.reverse_channels:
            x = x[..., ::-1]
        return x * tf.constant(self.scale, "float32") + tf.constant(self.offset, "float32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="float32")

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset,
                "reverse_channels": self.reverse_channels}
