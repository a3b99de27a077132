"""Weakly supervised localization: class activation maps and the ILSVRC box for each class.

A classification network localizes without any box training: the class activation map of a class
shows where the evidence for it lies, and a box around its strongest region is the network's
answer to the ILSVRC localization task.

Methods:
- ``"gradcam"`` (Selvaraju et al. 2017), ``"gradcam++"`` (Chattopadhyay et al. 2018) and
  ``"scorecam"`` (Wang et al. 2020) through tf-keras-vis, on pre-softmax scores
  (``ReplaceToLinear``), at the registry's ``explain_layer``;
- ``"cam"`` (Zhou et al. 2016) for networks that end in global average pooling: the classifier's
  weights applied to the last feature map.

The classes come from the usual center-crop classification. The heat map is computed on a
``region`` of the image: ``"crop"`` (default) is the classification crop; ``"image"`` the whole
image at the same scale, aspect kept (for objects the crop cuts off); ``"full"`` the whole image
squashed to the input size. ``scale`` runs the heat map at a multiple of the input size: the
network's last feature map is coarse (4x4 cells for MobileNet at 128 px), and at twice the size
its cells are half as large, which gives tighter boxes. The default (``scale=None``) uses 2 where
the network takes any input size and 1 for fixed-size heads (VGG, AlexNet, ZFNet).

Heat map to box (:func:`heatmap_to_box`): keep the pixels at or above ``threshold`` times the
map's maximum and box them all (``component="all"``) or only the largest connected region
(``"largest"``). Boxes and heat maps are returned in the original image's pixels.

The defaults were chosen on the 100 ILSVRC2012 validation images of the development assets with
MobileNet-0.25 (docs/benchmarks.md has the sweep): Grad-CAM, crop, scale 2, threshold 0.3, all
pixels. Moving the threshold by 0.05 moved GT-known localization by 1-3 points there; 100 images
cannot resolve finer differences, so the defaults are a plateau, not a peak.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import warnings
import weakref
from typing import TYPE_CHECKING, Optional, Sequence

import numpy as np

from ._lazy import tf
from .checks import check, choice
from .errors import ArgumentError, IlsvrcKerasError
from .images import ImageInput, load_image

if TYPE_CHECKING:
    from .inference import Classifier

METHODS = ("gradcam", "gradcam++", "scorecam", "cam")
REGIONS = ("image", "crop", "full")
# Chosen on the 100 ILSVRC2012 validation images of the development assets (docs/benchmarks.md has the sweep).
DEFAULT_METHOD = "gradcam"
DEFAULT_REGION = "crop"
DEFAULT_THRESHOLD = 0.3
DEFAULT_COMPONENT = "all"
DEFAULT_SCALE = None  # 2 where the network takes any input size, else 1


@dataclasses.dataclass
class Localization:
    """One class's answer: its label, probability, box and heat map, in original image pixels."""

    label: str
    name: str
    probability: float
    box: tuple  # (xmin, ymin, xmax, ymax)
    heatmap: np.ndarray  # (H, W) float32 in [0, 1]

    def to_dict(self) -> dict:
        return {"label": self.label, "name": self.name, "probability": self.probability,
                "box": [round(float(v), 1) for v in self.box]}


def heatmap_to_box(heatmap, threshold: float = DEFAULT_THRESHOLD, component: str = DEFAULT_COMPONENT):
    """Box ``(xmin, ymin, xmax, ymax)`` (pixel edges) around the hot region of ``heatmap``.

    Pixels at or above ``threshold * max`` are kept; ``component="largest"`` boxes the largest
    8-connected region of them, ``"all"`` boxes every kept pixel. A map with no signal gives the
    whole map.

    >>> import numpy as np
    >>> m = np.zeros((10, 10)); m[2:5, 3:8] = 1.0
    >>> heatmap_to_box(m, 0.5)
    (3.0, 2.0, 8.0, 5.0)
    """
    from scipy import ndimage

    m = np.asarray(heatmap, dtype=np.float32)
    h, w = m.shape
    peak = float(m.max()) if m.size else 0.0
    if not np.isfinite(peak) or peak <= 0:
        return (0.0, 0.0, float(w), float(h))
    mask = m >= threshold * peak
    if component == "largest":
        labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
        if n > 1:
            sizes = ndimage.sum_labels(mask, labels, index=np.arange(1, n + 1))
            mask = labels == (1 + int(np.argmax(sizes)))
    elif component != "all":
        raise ValueError(f"component must be 'largest' or 'all', not {component!r}")
    ys, xs = np.nonzero(mask)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


class Localizer:
    """Class activation maps and boxes for one :class:`Classifier` (visualizers built once)."""

    def __init__(self, classifier: "Classifier", explain_layer: Optional[str] = None):
        self.clf = classifier
        self.layer = explain_layer or classifier.card.get("explain_layer") or _last_4d_layer(classifier.model)
        self._models = {classifier.transform.size: classifier.model}
        self._visualizers = {}
        self._cam_parts = {}

    def view_transform(self, scale: Optional[float] = DEFAULT_SCALE):
        """The classifier's transform at ``scale`` times its input size (same crop, more pixels)."""
        scale = self.resolve_scale(scale)
        return dataclasses.replace(self.clf.transform, size=int(round(self.clf.transform.size * scale)))

    def resolve_scale(self, scale: Optional[float]) -> float:
        """``scale`` itself, or for ``None`` 2 where the network accepts a larger input, else 1."""
        if scale is not None:
            if not 0.25 <= scale <= 8:
                raise IlsvrcKerasError(f"scale must lie between 0.25 and 8, not {scale}")
            return float(scale)
        try:
            self._model(int(round(self.clf.transform.size * 2)))
            return 2.0
        except IlsvrcKerasError:
            return 1.0

    def _model(self, size):
        """The network at input ``size``: the same weights in a copy built for the larger input.

        A larger input gives a finer feature map (MobileNet at 128 px has 4x4 cells), hence finer
        heat maps. Only networks that end in global pooling accept another size."""
        if size not in self._models:  # size None: any input shape
            import keras

            model = self.clf.model
            try:
                copy = keras.models.clone_model(model, input_tensors=keras.Input((size, size, 3)))
                copy.set_weights(model.get_weights())
            except ValueError as exc:
                raise IlsvrcKerasError(
                    f"{self.clf.name} cannot run at {size} px (a fixed-size classifier head?); use scale=1 ({exc})"
                ) from None
            self._models[size] = copy
        return self._models[size]

    # -- heat maps on preprocessed batches ---------------------------------------------------------
    def heatmaps(self, batch, class_indices: Sequence[int], method: str = DEFAULT_METHOD) -> np.ndarray:
        """``(N, S, S)`` maps in [0, 1] for preprocessed inputs ``batch`` (``(N, S, S, 3)``, S the
        input size times a scale) and one class each."""

        choice("method", method, METHODS)
        with warnings.catch_warnings():
            # tf-keras-vis and keras.Model(model.inputs, ...) pass inputs as lists, which Keras 3
            # accepts with a UserWarning on every call.
            warnings.simplefilter("ignore", UserWarning)
            return self._heatmaps(np.asarray(batch, np.float32), class_indices, method)

    def _heatmaps(self, batch, class_indices, method):
        # Square views of the model's own size share one network; other shapes use a copy that
        # takes any size (built once).
        size = batch.shape[1] if batch.shape[1] == batch.shape[2] else None
        if method == "cam":
            return self._cam(batch, list(class_indices))
        from tf_keras_vis.utils.scores import CategoricalScore

        vis = self._visualizer(method, size)
        kwargs = {"max_N": None} if method == "scorecam" else {}
        # Score-CAM runs model.predict, whose progress bar would land on stdout.
        with contextlib.redirect_stdout(io.StringIO()):
            maps = vis(CategoricalScore([int(c) for c in class_indices]), batch, penultimate_layer=self.layer,
                       seek_penultimate_conv_layer=False, **kwargs)
        maps = np.nan_to_num(np.asarray(maps, np.float32).reshape(len(batch), *batch.shape[1:3]))
        return np.clip(maps, 0.0, 1.0)

    def _visualizer(self, method, size):
        if (method, size) not in self._visualizers:
            from tf_keras_vis.gradcam import Gradcam
            from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
            from tf_keras_vis.scorecam import Scorecam
            from tf_keras_vis.utils.model_modifiers import ReplaceToLinear

            cls = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "scorecam": Scorecam}[method]
            if self.clf.outputs == "logits":  # what trained and fine-tuned networks end in
                self._visualizers[method, size] = cls(self._model(size), clone=False)
            else:  # a network ending in its softmax: explain a linear copy (the classifier keeps its own)
                self._visualizers[method, size] = cls(self._model(size), model_modifier=ReplaceToLinear(), clone=True)
        return self._visualizers[method, size]

    def _cam(self, batch, class_indices):
        size = batch.shape[1] if batch.shape[1] == batch.shape[2] else None
        if size not in self._cam_parts:
            self._cam_parts[size] = _cam_parts(self._model(size), self.layer)
        features_model, weights = self._cam_parts[size]
        features = features_model(batch, training=False)
        w = tf.gather(weights, class_indices, axis=1)  # (C, N)
        cams = tf.nn.relu(tf.einsum("nhwc,cn->nhw", tf.cast(features, tf.float32), w))
        cams = tf.image.resize(cams[..., None], batch.shape[1:3], method="bilinear")[..., 0]
        peak = tf.reduce_max(cams, axis=(1, 2), keepdims=True)
        return (cams / tf.maximum(peak, 1e-12)).numpy()

    # -- images ------------------------------------------------------------------------------------
    def localize(self, image: ImageInput, top: int = 5, method: str = DEFAULT_METHOD,
                 threshold: float = DEFAULT_THRESHOLD, region: str = DEFAULT_REGION,
                 scale: Optional[float] = DEFAULT_SCALE, component: str = DEFAULT_COMPONENT,
                 classes: Optional[Sequence[int]] = None) -> list[Localization]:
        """Top-``top`` classes of ``image`` (or the given ``classes``: output indices, labels or
        names), each with its box and heat map."""
        check_options(top=top, method=method, threshold=threshold, region=region, scale=scale, component=component)
        array = load_image(image)
        probs = self.clf.predict([array])[0]
        if classes is not None:
            classes = [self.clf.index(c) if isinstance(c, str) else int(c) for c in classes]
        else:
            classes = [int(i) for i in np.argsort(-probs, kind="stable")[:max(1, min(top, len(probs)))]]
        maps, boxes = self.maps_and_boxes(array, classes, method, threshold, region, scale, component)
        h, w = array.shape[:2]
        return [
            Localization(self.clf.class_labels[c][0], self.clf.class_labels[c][1], float(probs[c]),
                         tuple(float(v) for v in box), self._to_original(m, h, w, region, scale))
            for c, m, box in zip(classes, maps, boxes)
        ]

    def maps_and_boxes(self, array: np.ndarray, classes: Sequence[int], method: str = DEFAULT_METHOD,
                       threshold: float = DEFAULT_THRESHOLD, region: str = DEFAULT_REGION,
                       scale: Optional[float] = DEFAULT_SCALE, component: str = DEFAULT_COMPONENT):
        """Heat maps (the view's pixels) and boxes (original pixels) of ``classes`` for one image."""
        if region not in REGIONS:
            raise IlsvrcKerasError(f"unknown region {region!r}; choose from {', '.join(REGIONS)}")
        t = self.view_transform(scale)
        view, to_original = {"image": (t.whole, t.whole_to_original), "crop": (t, t.crop_to_original),
                             "full": (t.squash, t.squash_to_original)}[region]
        batch = np.repeat(view(array).numpy()[None], len(classes), axis=0)
        maps = self.heatmaps(batch, classes, method)
        boxes = np.array([heatmap_to_box(m, threshold, component) for m in maps])
        return maps, to_original(boxes, *array.shape[:2])

    def _to_original(self, heatmap, h, w, region, scale):
        """A map over the network's view -> a map over the original image (zero outside the crop)."""
        if region in ("full", "image"):
            return tf.image.resize(heatmap[..., None], (h, w), method="bilinear")[..., 0].numpy()
        g = self.view_transform(scale).geometry(h, w)
        canvas = np.zeros(g.resized, np.float32)
        canvas[g.top:g.top + g.size, g.left:g.left + g.size] = heatmap
        return tf.image.resize(canvas[..., None], (h, w), method="bilinear")[..., 0].numpy()


def _last_4d_layer(model):
    for layer in reversed(model.layers):
        if len(getattr(layer, "output", None).shape or ()) == 4:
            return layer.name
    raise IlsvrcKerasError(f"{model.name} has no convolutional feature map to explain")


def _cam_parts(model, layer_name):
    """For CAM: a model up to the explained feature map, and the classifier's ``(C, classes)`` weights.

    Only valid where the layers after that feature map are global average pooling, dropout,
    reshapes, activations and one dense (or 1x1 convolution) classifier."""
    import keras

    names = [layer.name for layer in model.layers]
    after = model.layers[names.index(layer_name) + 1:]
    passive = ("GlobalAveragePooling2D", "Dropout", "Reshape", "Activation", "Flatten")
    weighted = [layer for layer in after if layer.weights]
    kinds = {layer.__class__.__name__ for layer in after} - set(passive) - {"Dense", "Conv2D"}
    if (len(weighted) != 1 or kinds or not any(isinstance(layer, keras.layers.GlobalAveragePooling2D)
                                               for layer in after)):
        raise IlsvrcKerasError(
            f"method 'cam' needs a network that ends in global average pooling and one classifier layer; "
            f"{model.name} does not (use gradcam)"
        )
    kernel = np.asarray(weighted[0].weights[0])
    features = keras.Model(model.inputs, model.get_layer(layer_name).output)
    return features, tf.constant(kernel.reshape(-1, kernel.shape[-1]), tf.float32)


_LOCALIZERS: "weakref.WeakKeyDictionary[Classifier, Localizer]" = weakref.WeakKeyDictionary()


def check_options(top: int = 5, method: str = DEFAULT_METHOD, threshold: float = DEFAULT_THRESHOLD,
                  region: str = DEFAULT_REGION, scale: Optional[float] = DEFAULT_SCALE,
                  component: str = DEFAULT_COMPONENT, **unknown) -> dict:
    """The localization options, each checked (an :class:`~ilsvrc_keras.ArgumentError` naming the
    first bad one), before any network is loaded."""

    if unknown:
        raise ArgumentError(f"unknown localization option(s) {', '.join(sorted(unknown))}; they are top, method, "
                            "threshold, region, scale and component")
    return {"top": check("top", top), "method": choice("method", method, METHODS),
            "threshold": check("threshold", threshold), "region": choice("region", region, REGIONS),
            "scale": check("scale", scale, optional=True),
            "component": choice("component", component, ("all", "largest"))}


def localizer_for(model=None, weights=None) -> Localizer:
    """The cached :class:`Localizer` of a model (loaded through :func:`ilsvrc_keras.load`)."""
    from .inference import load

    clf = load(model, weights)
    if clf not in _LOCALIZERS:
        _LOCALIZERS[clf] = Localizer(clf)
    return _LOCALIZERS[clf]


def localize(image: ImageInput, model=None, weights=None, method: str = DEFAULT_METHOD,
             top: int = 5, threshold: float = DEFAULT_THRESHOLD, region: str = DEFAULT_REGION,
             scale: Optional[float] = DEFAULT_SCALE, component: str = DEFAULT_COMPONENT):
    """ILSVRC localization of one image: for each of the top-``top`` classes its label,
    probability, heat map and box, in the original image's pixels. ``model``: as
    :func:`ilsvrc_keras.load` takes it (None: the default network). ``method``, ``region``,
    ``scale``, ``threshold`` and ``component`` are described in :mod:`ilsvrc_keras.localization`.

    >>> import ilsvrc_keras
    >>> found = ilsvrc_keras.localize("dog.jpg", model="mobilenet_0.25_128",
    ...                               weights="mobilenet_2_5_128_tf.h5", top=1)  # doctest: +SKIP
    >>> found[0].name, found[0].box  # doctest: +SKIP
    ('Maltese dog', (52.0, 31.0, 410.0, 370.0))
    """
    check_options(top, method, threshold, region, scale, component)
    return localizer_for(model, weights).localize(image, top=top, method=method, threshold=threshold,
                                                  region=region, scale=scale, component=component)
