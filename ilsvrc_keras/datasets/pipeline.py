"""The tf.data pipelines of training and evaluation, from any split of
:mod:`ilsvrc_keras.datasets.splits` and a transform.

Training: random-resized crops (or AlexNet/VGG-style scale jittering: :class:`Augment`) decoded
straight from the JPEG bytes where the split holds files or bytes (only the crop's pixels are
decoded), flips, optional RandAugment/MixUp/CutMix, all seeded per example by ``(seed, epoch,
position)`` so that a resumed epoch replays exactly. Evaluation: the model's evaluation transform,
the very pixels :func:`ilsvrc_keras.classify` sees. Undecodable images are dropped, never fatal;
each batch carries weights (0 marks padding) so callers count what was skipped.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

# Cached training images keep a shorter side of this many times the input size (see cache.py).
TRAIN_CACHE_SCALE = 1.25


# libjpeg's accurate integer IDCT, Pillow's: TensorFlow's default (the fast one) put plain JPEG pixels up to
# 7 grey levels away from what classify() reads.
DCT = "INTEGER_ACCURATE"
# Training crops need no parity with classify(): the fast IDCT and plain chroma upsampling decode them sooner.
TRAIN_DCT = "INTEGER_FAST"


def _bytes(contents) -> bytes:
    # tf.numpy_function hands a string scalar over as a 0-d numpy object array
    return contents.item() if isinstance(contents, np.ndarray) else bytes(contents)


def _inspect(contents):
    from ..images import inspect_encoded

    h, w, slow = inspect_encoded(_bytes(contents))
    return np.int32(h), np.int32(w), np.bool_(slow)


def _pillow(contents):
    from ..images import load_image

    return load_image(_bytes(contents))


def inspect_image(contents):
    """Inside tf.data: ``(height, width, needs_pillow)`` from the header, with the limits of
    :func:`ilsvrc_keras.load_image` checked before anything is decoded (a failing image is an error
    that the pipelines' ``ignore_errors`` turns into a skipped, counted item)."""
    import tensorflow as tf

    h, w, slow = tf.numpy_function(_inspect, [contents], [tf.int32, tf.int32, tf.bool], stateful=False)
    h.set_shape([])
    w.set_shape([])
    slow.set_shape([])
    return h, w, slow


def _decode(contents, slow):
    import tensorflow as tf

    def pillow():
        return tf.numpy_function(_pillow, [contents], tf.uint8, stateful=False)

    def tensorflow():
        return tf.cond(tf.io.is_jpeg(contents),
                       lambda: tf.io.decode_jpeg(contents, channels=3, dct_method=DCT),
                       lambda: tf.io.decode_image(contents, channels=3, expand_animations=False, dtype=tf.uint8))

    image = tf.cond(slow, pillow, tensorflow)
    image.set_shape([None, None, 3])
    return image


def decode_image(contents, plain=None):
    """Encoded bytes -> uint8 ``(H, W, 3)`` inside tf.data: the same pixels as
    :func:`ilsvrc_keras.load_image` gives ``classify`` (EXIF orientation, transparency on white,
    CMYK, 16-bit, any format Pillow reads) under the same limits (:func:`inspect_image`). Plain RGB
    and gray JPEGs and PNGs decode in TensorFlow; the rest through Pillow. ``plain``: what the header
    read at the door said (see :func:`needs_pillow`)."""
    return _decode(contents, needs_pillow(contents, plain))


def needs_pillow(contents, plain=None, check_size: bool = True):
    """Inside tf.data: whether ``contents`` must be decoded through Pillow. ``plain`` (an int tensor): 1 where
    the file's header was read at the door and TensorFlow decodes it as :func:`ilsvrc_keras.load_image` does,
    0 where it does not, -1 (or None) where it is unknown: then the header is read here (:func:`inspect_image`,
    in Python). A file taken as plain still has its size checked against the limits, in TensorFlow
    (``check_size=False``: the caller checks it, from a header it reads anyway)."""
    import tensorflow as tf

    if plain is None:
        return inspect_image(contents)[2]

    def known():
        if not check_size:
            return tf.equal(plain, 0)
        with tf.control_dependencies([_within_limits(contents, plain)]):
            return tf.equal(plain, 0)

    return tf.cond(plain >= 0, known, lambda: inspect_image(contents)[2])


def _within_limits(contents, plain, jpeg_shape=None):
    """An assertion (an error the pipelines' ``ignore_errors`` turns into a skipped item) that a file the door
    found plain (``plain`` 1: a JPEG or PNG that TensorFlow decodes) has at most ``MAX_PIXELS``, read from its
    header in TensorFlow: the door's check, again, for a file changed since. Files decoded through Pillow are
    checked there. ``jpeg_shape``: a JPEG's shape, already read."""
    import tensorflow as tf

    from ..images import MAX_PIXELS

    def jpeg():
        shape = tf.cast(tf.io.extract_jpeg_shape(contents) if jpeg_shape is None else jpeg_shape, tf.int64)
        return shape[0] * shape[1]

    if jpeg_shape is not None:
        return tf.debugging.assert_less_equal(jpeg(), tf.constant(MAX_PIXELS, tf.int64), message="image too large")

    def png():  # IHDR: width and height, big-endian, at bytes 16-23
        raw = tf.cast(tf.io.decode_raw(tf.strings.substr(contents, 16, 8), tf.uint8), tf.int64)
        width = ((raw[0] * 256 + raw[1]) * 256 + raw[2]) * 256 + raw[3]
        return width * (((raw[4] * 256 + raw[5]) * 256 + raw[6]) * 256 + raw[7])

    pixels = tf.cond(tf.equal(plain, 1), lambda: tf.cond(tf.io.is_jpeg(contents), jpeg, png),
                     lambda: tf.constant(0, tf.int64))
    return tf.debugging.assert_less_equal(pixels, tf.constant(MAX_PIXELS, tf.int64), message="image too large")



def encoded_bytes(payload, kind: str):
    """A ``"file"`` or ``"encoded"`` split's payload as the image's encoded bytes (see splits.KINDS)."""
    import tensorflow as tf

    return tf.io.read_file(payload) if kind == "file" else payload


CROP_SCALE = (0.08, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)


def random_crop_window(shape, seed, scale=CROP_SCALE, ratio=CROP_RATIO):
    """Inception-style random-resized-crop window ``(offset_y, offset_x, height, width)`` for an
    image of ``shape`` ``(height, width, channels)`` (area ``scale`` of the image, aspect ``ratio``; the whole image when
    sampling fails), drawn statelessly from ``seed`` (a ``[2]`` int tensor)."""
    import tensorflow as tf

    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.cast(shape, tf.int32), bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
        min_object_covered=0.0, aspect_ratio_range=ratio, area_range=scale, max_attempts=10,
        use_image_if_no_bounding_boxes=True)
    return tf.stack([begin[0], begin[1], size[0], size[1]])


def scale_jitter_window(shape, seed, jitter):
    """The crops of AlexNet, VGG and the ResNet paper as a window ``(offset_y, offset_x, height,
    width)`` of an image of ``shape``: the shorter side resized to ``r`` times the input size, ``r``
    uniform in ``jitter`` (VGG's [256, 512] at 224 px: ``(256/224, 512/224)``), then a random square
    of the input size. In the original's pixels that square has side ``shorter / r`` (the whole
    shorter side when ``r < 1``), so only the window is decoded, as with :func:`random_crop_window`."""
    import tensorflow as tf

    height, width = tf.cast(shape[0], tf.int32), tf.cast(shape[1], tf.int32)
    short = tf.minimum(height, width)
    r = tf.random.stateless_uniform([], seed, jitter[0], jitter[1])
    side = tf.clip_by_value(tf.cast(tf.round(tf.cast(short, tf.float32) / r), tf.int32), 1, short)
    u = tf.random.stateless_uniform([2], seed + 7, 0.0, 1.0)
    offset_y = tf.cast(u[0] * tf.cast(height - side + 1, tf.float32), tf.int32)
    offset_x = tf.cast(u[1] * tf.cast(width - side + 1, tf.float32), tf.int32)
    return tf.stack([tf.minimum(offset_y, height - side), tf.minimum(offset_x, width - side), side, side])


def decode_random_crop(contents, seed, augment: Optional["Augment"] = None, plain=None, size: Optional[int] = None):
    """Encoded bytes -> the random crop as uint8, its window picked by ``augment``
    (:meth:`Augment.window`; default: Inception's random-resized crop). Plain JPEGs decode only the
    crop (``decode_and_crop_jpeg``, the fast IDCT), and where the crop is at least 2, 4 or 8 times ``size``
    (the size it is resized to next) at 1/2, 1/4 or 1/8 of the scale (libjpeg's scaled IDCT: a fraction of
    the work, and no finer detail lost than the resize would drop). Other files (ImageNet has PNGs named
    .JPEG and CMYK JPEGs, phones EXIF-rotated ones) are decoded whole as :func:`decode_image` does, then
    cropped. ``plain``: see :func:`needs_pillow`."""
    import tensorflow as tf

    window_fn = (augment or Augment()).window
    slow = needs_pillow(contents, plain, check_size=False)

    def jpeg():
        shape = tf.io.extract_jpeg_shape(contents)
        with tf.control_dependencies([_within_limits(contents, plain, shape)]):
            window = window_fn(shape, seed)

        def at(ratio):
            def crop():
                scaled = tf.maximum(window // ratio, [0, 0, 1, 1])
                return tf.image.decode_and_crop_jpeg(contents, scaled, channels=3, ratio=ratio, dct_method=TRAIN_DCT,
                                                     fancy_upscaling=False)
            return crop

        if not size:
            return at(1)()
        side = tf.minimum(window[2], window[3])
        scale = tf.add_n([tf.cast(side >= k * size, tf.int32) for k in (2, 4, 8)])
        return tf.switch_case(scale, [at(1), at(2), at(4), at(8)])

    def other():
        checked = [] if plain is None else [_within_limits(contents, plain)]  # inspected: already checked
        with tf.control_dependencies(checked):
            image = _decode(contents, slow)
        window = window_fn(tf.shape(image), seed)
        return tf.image.crop_to_bounding_box(image, window[0], window[1], window[2], window[3])

    image = tf.cond(tf.logical_and(tf.io.is_jpeg(contents), tf.logical_not(slow)), jpeg, other)
    image.set_shape([None, None, 3])
    return image


@dataclasses.dataclass
class Augment:
    """Training augmentation options (a random crop and flip always). The crop is Inception's
    random-resized crop: ``crop_scale`` is its range of crop areas; the paper's (0.08, 1) suits long
    ImageNet schedules, short runs on small datasets learn faster with a milder (0.25-0.35, 1). With
    ``scale_jitter=(lo, hi)`` it is the older crop of AlexNet (256 px images, 224 crops:
    ``(256/224, 256/224)``), VGG (``(256/224, 512/224)``) and ResNet (``(256/224, 480/224)``): the
    shorter side resized to a random multiple in [lo, hi] of the input size, then a random square
    crop (:func:`scale_jitter_window`)."""

    crop_scale: tuple = CROP_SCALE
    scale_jitter: Optional[tuple] = None
    randaugment: bool = False
    mixup: float = 0.0   # Beta(alpha, alpha) of MixUp; 0 = off
    cutmix: float = 0.0  # Beta(alpha, alpha) of CutMix; 0 = off

    def window(self, shape, seed):
        """The training crop's window ``(offset_y, offset_x, height, width)`` in an image of ``shape``."""
        if self.scale_jitter:
            return scale_jitter_window(shape, seed, tuple(self.scale_jitter))
        return random_crop_window(shape, seed, tuple(self.crop_scale))

    @property
    def cache_scale(self) -> float:
        """The shorter side, as a multiple of the input size, of training images kept in memory:
        enough that a jittered crop is never cut from a shrunken copy."""
        return max(TRAIN_CACHE_SCALE, max(self.scale_jitter) if self.scale_jitter else 0.0)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _batches(ds, batch_size: int, num_classes: int, training: bool):
    """Batch and pad the last batch to ``batch_size`` with zero-weight examples: static shapes for
    XLA, and no image is dropped (the weights say which examples are real). Evaluation batches
    also carry each example's position in the split (-1 for padding)."""
    import tensorflow as tf

    def pad(*batch):
        n = batch_size - tf.shape(batch[0])[0]
        # Only the last batch is short: the others pass as they are (a pad of nothing still copies the images).
        x = tf.cond(n > 0, lambda: tf.pad(batch[0], [[0, n], [0, 0], [0, 0], [0, 0]]), lambda: batch[0])
        x = tf.ensure_shape(x, [batch_size, None, None, 3])
        y = tf.ensure_shape(tf.pad(batch[1], [[0, n], [0, 0]]), [batch_size, num_classes])
        w = tf.ensure_shape(tf.pad(batch[2], [[0, n]]), [batch_size])
        if training:
            return x, y, w
        return x, y, w, tf.ensure_shape(tf.pad(batch[3], [[0, n]], constant_values=-1), [batch_size])

    return ds.batch(batch_size).map(pad)


def make_dataset(split, transform, batch_size: int, num_classes: int, *, training: bool, seed: int = 0,
                 epoch: int = 0, skip: int = 0, augment: Optional[Augment] = None, shard: tuple = (1, 0),
                 class_weights: Optional[list] = None, size: Optional[int] = None, normalize: bool = True,
                 repeat: bool = False):
    """tf.data over a split: ``(images, one-hot labels, weights)`` batches of ``batch_size`` for
    training, ``(images, one-hot labels, weights, positions)`` for evaluation.

    Training: the split's shuffle seeded by ``(seed, epoch)`` (a resumed epoch replays the same
    order and ``skip`` jumps over the examples already trained on), the crop of ``augment``, a flip,
    optional RandAugment/MixUp/CutMix, at ``size`` px (progressive resizing; default the
    transform's). Weights above 0 mark real examples (1, or the example's ``class_weights`` entry).
    ``shard=(n, i)``: every n-th example from the i-th (one shard per worker). ``normalize=False``: the
    images stay 0-255 pixels (uint8, or float32 after RandAugment, MixUp or CutMix) for a step that
    normalizes them on its device (the Trainer's: a quarter of the bytes to move, and the host's cores
    left to decoding); the transform's ``normalize`` is what it applies. ``repeat``: training batches without
    end, pass after pass over the split in one pipeline (the crops differ from pass to pass: each example's seed
    counts on), for a consumer that wants steps rather than epochs (the learning-rate finder).

    >>> from ilsvrc_keras.datasets import open_dataset, make_dataset
    >>> from ilsvrc_keras.transforms import EvalTransform
    >>> ds = open_dataset("flowers/")  # doctest: +SKIP
    >>> x, y, w = next(iter(make_dataset(ds.train, EvalTransform(96, 0.875, "tf"), 32, 5,
    ...                                  training=True)))  # doctest: +SKIP
    """
    import tensorflow as tf

    augment = augment or Augment()
    weights = tf.constant(class_weights if class_weights is not None else [1.0] * num_classes, tf.float32)
    kind = split.kind
    size = int(size or transform.size) if training else transform.size
    ds = split.make(training, seed * 100003 + epoch, shard)
    ds = (ds.repeat() if training and repeat else ds).enumerate().skip(skip)
    known = _door_table(split)

    def pixels(payload, plain):  # the whole image, uint8
        return payload if kind == "decoded" else decode_image(encoded_bytes(payload, kind), plain)

    def load(i, item):
        payload, label = item
        plain = known.lookup(payload) if known is not None else None
        if training:
            s = tf.stack([tf.cast(seed * 7919 + epoch, tf.int64), i])
            if kind in ("file", "encoded"):
                image = decode_random_crop(encoded_bytes(payload, kind), s, augment, plain, size)
            else:
                image = payload
                window = augment.window(tf.shape(image), s)
                image = tf.image.crop_to_bounding_box(image, window[0], window[1], window[2], window[3])
            # Back to uint8 at once: the flip, the batching and the prefetch buffers then move a
            # quarter of the bytes (about 10% more images/s at 224 px); normalization comes per batch.
            # Bilinear weights are convex: the resize stays in 0-255, so +0.5 and a cast round it in one pass.
            image = tf.cast(tf.image.resize(image, (size, size), method="bilinear") + 0.5, tf.uint8)
            image = tf.image.stateless_random_flip_left_right(image, seed=s + 1)
            return image, tf.one_hot(label, num_classes), tf.gather(weights, label)
        image = payload if kind == "cropped" else transform.crop(pixels(payload, plain))
        return image, tf.one_hot(label, num_classes), tf.constant(1.0), i

    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).ignore_errors()
    ds = _batches(ds, batch_size, num_classes, training)
    if training and (augment.randaugment or augment.mixup or augment.cutmix):
        ds = ds.map(lambda x, y, w: (tf.cast(x, tf.float32), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and augment.randaugment:
        import keras

        rand_augment = keras.layers.RandAugment(value_range=(0, 255), seed=seed)
        ds = ds.map(lambda x, y, w: (rand_augment(x, training=True), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and (augment.mixup or augment.cutmix):
        ds = ds.map(_mix(augment, seed), num_parallel_calls=tf.data.AUTOTUNE)
    if normalize:
        ds = ds.map(lambda x, *rest: (transform.normalize(x), *rest), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _door_table(split):
    """A file split's ``plain`` flags (what the door read in each header) as a table from path to 1, 0 or -1
    (unknown), or None where the split has none."""
    import tensorflow as tf

    if split.kind != "file" or getattr(split, "plain", None) is None:
        return None
    keys = tf.constant([str(p) for p in split.items] or [""])
    values = tf.constant([-1 if v is None else int(v) for v in split.plain] or [-1], tf.int64)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), default_value=-1)


def _mix(augment: Augment, seed: int):
    """MixUp or CutMix on a batch (one of them per batch when both are on), labels mixed alike."""
    import keras
    import tensorflow as tf

    layers = []
    if augment.mixup:
        layers.append(keras.layers.MixUp(alpha=augment.mixup, seed=seed))
    if augment.cutmix:
        layers.append(keras.layers.CutMix(factor=augment.cutmix, seed=seed))

    def mix(x, y, w):
        out = [layer({"images": x, "labels": y}, training=True) for layer in layers]
        if len(out) == 1:
            return out[0]["images"], out[0]["labels"], w
        pick = tf.random.uniform([], seed=seed) < 0.5
        return (tf.where(pick, out[0]["images"], out[1]["images"]),
                tf.where(pick, out[0]["labels"], out[1]["labels"]), w)

    return mix
