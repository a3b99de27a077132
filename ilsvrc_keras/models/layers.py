"""Layers that Keras does not ship but the milestone papers used, in ``keras.ops`` (any backend)."""

import keras
from keras import ops


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
        x = ops.cast(inputs, "float32")
        radius, channels = self.size // 2, inputs.shape[-1]
        # The sum of squares over each channel's window (tf.nn.local_response_normalization's
        # depth_radius = size // 2, zero beyond the edges): a sum of shifted slices of the padded squares.
        squares = ops.pad(ops.square(x), [[0, 0]] * (len(inputs.shape) - 1) + [[radius, radius]])
        window = sum(squares[..., i:i + channels] for i in range(2 * radius + 1))
        return ops.cast(x / ops.power(self.k + self.alpha * window, self.beta), inputs.dtype)

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
        x = ops.cast(inputs, "float32")
        if self.reverse_channels:
            x = ops.flip(x, axis=-1)
        return x * ops.convert_to_tensor(self.scale, "float32") + ops.convert_to_tensor(self.offset, "float32")

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape, dtype="float32")

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset,
                "reverse_channels": self.reverse_channels}


@keras.saving.register_keras_serializable(package="ilsvrc_keras")
class BlurPool2D(keras.layers.Layer):
    """Anti-aliased downsampling (Zhang 2019, "Making Convolutional Networks Shift-Invariant Again"): each
    channel blurred by the fixed binomial filter ``[1, 2, 1]^T [1, 2, 1] / 16`` (reflection padding), then
    subsampled by ``strides``. After a stride-1 max pool it is MaxBlurPool, XResNet's stem pool. No weights."""

    def __init__(self, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.strides = int(strides)

    def call(self, inputs):
        taps = ops.convert_to_tensor([1.0, 2.0, 1.0])
        kernel = ops.outer(taps, taps) / 16.0
        kernel = ops.tile(ops.reshape(kernel, (3, 3, 1, 1)), (1, 1, inputs.shape[-1], 1))
        x = ops.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="reflect")
        return ops.depthwise_conv(x, ops.cast(kernel, inputs.dtype), strides=self.strides, padding="valid")

    def compute_output_shape(self, input_shape):
        def out(n):
            return None if n is None else (n - 1) // self.strides + 1

        return (input_shape[0], out(input_shape[1]), out(input_shape[2]), input_shape[3])

    def get_config(self):
        return {**super().get_config(), "strides": self.strides}
