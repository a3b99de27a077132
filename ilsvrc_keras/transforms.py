"""The evaluation transform and its inverse, driven by a model's metadata.

Evaluation: resize the shorter side to ``round(size / crop_fraction)`` (bilinear with
antialiasing), center-crop ``size x size``, then the model's normalization. Classification,
evaluation and localization all use this one transform; localization maps boxes back to the
original image through :meth:`EvalTransform.crop_to_original`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from .registry import ModelSpec


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Where the center crop lies: the image is resized to ``resized`` ``(h, w)`` and the
    ``size x size`` crop starts at ``(top, left)`` of the resized image."""

    height: int
    width: int
    resized: tuple[int, int]
    top: int
    left: int
    size: int


# keras.applications.imagenet_utils' constants
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = np.array([0.485, 0.456, 0.406])
_TORCH_STD = np.array([0.229, 0.224, 0.225])


def _geometry_tf(height, width, size, crop_fraction):
    height = tf.cast(height, tf.float64)
    width = tf.cast(width, tf.float64)
    short = tf.round(tf.constant(size / crop_fraction, tf.float64))
    scale = short / tf.minimum(height, width)
    rh = tf.maximum(tf.cast(tf.round(height * scale), tf.int32), size)
    rw = tf.maximum(tf.cast(tf.round(width * scale), tf.int32), size)
    return rh, rw, (rh - size) // 2, (rw - size) // 2


@dataclasses.dataclass(frozen=True)
class EvalTransform:
    """Resize-and-center-crop plus normalization, as a callable usable eagerly or in tf.data.

    >>> import numpy as np
    >>> from ilsvrc_keras.transforms import EvalTransform
    >>> t = EvalTransform(size=128, crop_fraction=0.875, preprocessing="tf")
    >>> t(np.zeros((300, 200, 3), np.uint8)).shape
    TensorShape([128, 128, 3])
    """

    size: int
    crop_fraction: float = 0.875
    preprocessing: str = "caffe"

    @classmethod
    def for_spec(cls, spec: ModelSpec, size: int | None = None) -> "EvalTransform":
        return cls(size or spec.input_size, spec.crop_fraction, spec.preprocessing)

    def crop(self, image) -> tf.Tensor:
        """uint8 ``(H, W, 3)`` -> float32 ``(size, size, 3)`` in 0-255, not yet normalized."""
        image = tf.convert_to_tensor(image)
        shape = tf.shape(image)
        rh, rw, top, left = _geometry_tf(shape[0], shape[1], self.size, self.crop_fraction)
        resized = tf.image.resize(image, tf.stack([rh, rw]), method="bilinear", antialias=True)
        out = resized[top : top + self.size, left : left + self.size, :]
        return tf.ensure_shape(out, (self.size, self.size, 3))

    def normalize(self, pixels) -> tf.Tensor:
        """0-255 pixels (any dtype) -> the network's input range: what keras.applications'
        ``preprocess_input`` gives for the mode, as one multiply-add per channel (keras' own
        function, several passes over the batch, halved the training pipeline's images/s)."""
        x = tf.cast(pixels, tf.float32)
        if self.preprocessing == "caffe":  # BGR, ImageNet's mean pixel subtracted
            return x[..., ::-1] - tf.constant(_CAFFE_MEAN_BGR, tf.float32)
        if self.preprocessing == "tf":  # -1..1
            return x * (1 / 127.5) - 1.0
        if self.preprocessing == "torch":  # 0..1, then ImageNet's mean and std per channel
            return x * tf.constant(1 / (255 * _TORCH_STD), tf.float32) + tf.constant(-_TORCH_MEAN / _TORCH_STD,
                                                                                     tf.float32)
        from keras.applications import imagenet_utils

        return imagenet_utils.preprocess_input(x, mode=self.preprocessing)

    def __call__(self, image) -> tf.Tensor:
        return self.normalize(self.crop(image))

    def whole(self, image) -> tf.Tensor:
        """The whole image at the scale of :meth:`crop` (shorter side ``size / crop_fraction``,
        aspect kept, nothing cut off), normalized: for fully convolutional localization."""
        image = tf.convert_to_tensor(image)
        shape = tf.shape(image)
        rh, rw, _, _ = _geometry_tf(shape[0], shape[1], self.size, self.crop_fraction)
        return self.normalize(tf.image.resize(image, tf.stack([rh, rw]), method="bilinear", antialias=True))

    def whole_to_original(self, boxes, height: int, width: int) -> np.ndarray:
        """Boxes in :meth:`whole` pixels -> original pixels."""
        g = self.geometry(height, width)
        b = np.asarray(boxes, dtype=np.float64).copy()
        b[..., [0, 2]] *= width / g.resized[1]
        b[..., [1, 3]] *= height / g.resized[0]
        return b

    def squash(self, image) -> tf.Tensor:
        """The whole image resized to ``size x size`` (aspect not kept) and normalized: the view
        localization uses, so that parts of the object outside the center crop are still seen."""
        image = tf.convert_to_tensor(image)
        resized = tf.image.resize(image, (self.size, self.size), method="bilinear", antialias=True)
        return self.normalize(resized)

    def squash_to_original(self, boxes, height: int, width: int) -> np.ndarray:
        """Boxes in :meth:`squash` pixels -> original pixels."""
        b = np.asarray(boxes, dtype=np.float64).copy()
        b[..., [0, 2]] *= width / self.size
        b[..., [1, 3]] *= height / self.size
        return b

    def geometry(self, height: int, width: int) -> Geometry:
        rh, rw, top, left = (int(v) for v in _geometry_tf(height, width, self.size, self.crop_fraction))
        return Geometry(int(height), int(width), (rh, rw), top, left, self.size)

    def crop_to_original(self, boxes, height: int, width: int) -> np.ndarray:
        """Boxes ``[..., 4]`` as ``(xmin, ymin, xmax, ymax)`` in crop pixels -> original pixels."""
        g = self.geometry(height, width)
        b = np.asarray(boxes, dtype=np.float64).copy()
        sx, sy = width / g.resized[1], height / g.resized[0]
        b[..., [0, 2]] = (b[..., [0, 2]] + g.left) * sx
        b[..., [1, 3]] = (b[..., [1, 3]] + g.top) * sy
        b[..., [0, 2]] = np.clip(b[..., [0, 2]], 0, width)
        b[..., [1, 3]] = np.clip(b[..., [1, 3]], 0, height)
        return b

    def original_to_crop(self, boxes, height: int, width: int) -> np.ndarray:
        """The inverse of :meth:`crop_to_original` (boxes may then lie partly outside the crop)."""
        g = self.geometry(height, width)
        b = np.asarray(boxes, dtype=np.float64).copy()
        b[..., [0, 2]] = b[..., [0, 2]] * (g.resized[1] / width) - g.left
        b[..., [1, 3]] = b[..., [1, 3]] * (g.resized[0] / height) - g.top
        return b
