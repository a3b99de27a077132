"""The normalization and the evaluation transform (and its inverse), driven by a preset's numbers.

:class:`Normalization` is the per-channel ``(x - mean) / std`` of 0-255 RGB pixels (and the channel
order the network takes) as data: the training and evaluation pipelines apply it in tf.data, and
exports put it inside the graph as a Keras layer (:meth:`Normalization.layer`), so that a served
model takes raw pixels.

Evaluation: resize the shorter side to ``round(size / crop_fraction)`` (bilinear with
antialiasing), center-crop ``size x size``, then the model's normalization. Classification,
evaluation and localization all use this one transform; localization maps boxes back to the
original image through :meth:`EvalTransform.crop_to_original`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ._lazy import tf  # TensorFlow loads on first use: the zoo builds on any Keras backend
from .errors import IlsvrcKerasError


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


@dataclasses.dataclass(frozen=True)
class Normalization:
    """``(pixel - mean) / std`` per channel on 0-255 RGB pixels; ``channel_order="bgr"`` then
    reverses the channels (Caffe's networks). ``mean`` and ``std`` are given in RGB order.

    >>> from ilsvrc_keras.transforms import Normalization
    >>> Normalization.named("tf")
    Normalization(mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5), channel_order='rgb', name='tf')
    """

    mean: tuple = (0.0, 0.0, 0.0)
    std: tuple = (1.0, 1.0, 1.0)
    channel_order: str = "rgb"
    name: str = "custom"

    @classmethod
    def named(cls, name: str) -> "Normalization":
        """keras.applications' ``preprocess_input`` modes as numbers: ``caffe``, ``tf``, ``torch``
        (and ``raw``: the pixels as they are)."""
        if isinstance(name, Normalization):
            return name
        try:
            return NORMALIZATIONS[name]
        except (KeyError, TypeError):

            raise IlsvrcKerasError(f"unknown normalization {name!r}; known: {', '.join(NORMALIZATIONS)}, "
                                   "or give mean, std and channel_order") from None

    @classmethod
    def from_dict(cls, d) -> "Normalization":
        try:
            n = cls(tuple(float(v) for v in d["mean"]), tuple(float(v) for v in d["std"]),
                    str(d.get("channel_order", "rgb")), str(d.get("name", "custom")))
        except (KeyError, TypeError, ValueError) as exc:
            raise IlsvrcKerasError(f"a normalization needs mean and std (3 numbers each): {exc}") from None
        if len(n.mean) != 3 or len(n.std) != 3 or min(n.std) <= 0 or n.channel_order not in ("rgb", "bgr"):
            raise IlsvrcKerasError(f"bad normalization {d!r}: 3 means, 3 positive stds, channel_order rgb or bgr")
        return n

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "channel_order": self.channel_order,
                "name": self.name}

    def _scale_offset(self):
        scale = np.array([1.0 / s for s in self.std], np.float64)
        offset = np.array([-m / s for m, s in zip(self.mean, self.std)], np.float64)
        if self.channel_order == "bgr":
            scale, offset = scale[::-1], offset[::-1]
        return scale.astype(np.float32), offset.astype(np.float32)

    def __call__(self, pixels) -> tf.Tensor:
        """0-255 RGB pixels (any dtype, channels last) -> the network's input, as one multiply-add
        per channel (keras' ``preprocess_input``, several passes over the batch, halved the training
        pipeline's images/s)."""
        x = tf.cast(pixels, tf.float32)
        if self.channel_order == "bgr":
            x = x[..., ::-1]
        scale, offset = self._scale_offset()
        return x * tf.constant(scale) + tf.constant(offset)

    def layer(self, name: str = "normalization"):
        """The same as a Keras layer (serializable), for graphs that take raw pixels."""
        from .models.layers import PixelNormalization

        scale, offset = self._scale_offset()
        return PixelNormalization(scale.tolist(), offset.tolist(), self.channel_order == "bgr", name=name)


# keras.applications.imagenet_utils' constants, as numbers on 0-255 RGB pixels.
NORMALIZATIONS = {
    "caffe": Normalization((123.68, 116.779, 103.939), (1.0, 1.0, 1.0), "bgr", "caffe"),
    "tf": Normalization((127.5, 127.5, 127.5), (127.5, 127.5, 127.5), "rgb", "tf"),
    "torch": Normalization((0.485 * 255, 0.456 * 255, 0.406 * 255), (0.229 * 255, 0.224 * 255, 0.225 * 255),
                           "rgb", "torch"),
    "raw": Normalization((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "rgb", "raw"),
}


INTERPOLATIONS = ("bilinear", "bicubic")


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
    preprocessing: object = "caffe"  # a Normalization, or the name of one (NORMALIZATIONS)
    # The resize filter the weights were evaluated with: torchvision's "bilinear", timm's often "bicubic".
    interpolation: str = "bilinear"

    def __post_init__(self):
        object.__setattr__(self, "preprocessing", Normalization.named(self.preprocessing))
        if self.interpolation not in INTERPOLATIONS:

            raise IlsvrcKerasError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, "
                                   f"not {self.interpolation!r}")

    @property
    def normalization(self) -> Normalization:
        return self.preprocessing

    def crop(self, image) -> tf.Tensor:
        """uint8 ``(H, W, 3)`` -> float32 ``(size, size, 3)`` in 0-255, not yet normalized."""
        image = tf.convert_to_tensor(image)
        shape = tf.shape(image)
        rh, rw, top, left = _geometry_tf(shape[0], shape[1], self.size, self.crop_fraction)
        resized = self._resize(image, tf.stack([rh, rw]))
        out = resized[top : top + self.size, left : left + self.size, :]
        return tf.ensure_shape(out, (self.size, self.size, 3))

    def _resize(self, image, shape) -> tf.Tensor:
        resized = tf.image.resize(image, shape, method=self.interpolation, antialias=True)
        # Bicubic overshoots at edges; Pillow (timm's resize) clips to the pixel range, and so does this.
        return resized if self.interpolation == "bilinear" else tf.clip_by_value(resized, 0.0, 255.0)

    def normalize(self, pixels) -> tf.Tensor:
        """0-255 pixels (any dtype) -> the network's input range (:class:`Normalization`)."""
        return self.preprocessing(pixels)

    def __call__(self, image) -> tf.Tensor:
        return self.normalize(self.crop(image))

    def whole(self, image) -> tf.Tensor:
        """The whole image at the scale of :meth:`crop` (shorter side ``size / crop_fraction``,
        aspect kept, nothing cut off), normalized: for fully convolutional localization."""
        image = tf.convert_to_tensor(image)
        shape = tf.shape(image)
        rh, rw, _, _ = _geometry_tf(shape[0], shape[1], self.size, self.crop_fraction)
        return self.normalize(self._resize(image, tf.stack([rh, rw])))

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
        resized = self._resize(image, (self.size, self.size))
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
