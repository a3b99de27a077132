"""Exports for serving that take raw pixels: the normalization and the softmax are inside the graph.

``export(model, path, format=...)`` writes a TensorFlow SavedModel, a TFLite (LiteRT) flatbuffer or an
ONNX file whose input is the center crop of a photo as RGB pixels, ``uint8`` ``(N, size, size, 3)``
(0-255), and whose output is the class probabilities. A consumer needs no knowledge of the network's
caffe / tf / torch preprocessing (the pitfall of keras#10279): resize the shorter side to
``round(size / crop_fraction)``, cut the center ``size x size``, feed the bytes. A ``labels.json``
beside it (inside a SavedModel's folder; ``NAME.labels.json`` beside a file) holds the classes in
output order (``{"label", "name"}``) and those crop numbers.
See ``docs/deploy-tflite.md`` for a consumer with nothing but ``tensorflow`` (or ``ai-edge-litert``)
and Pillow.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import IlsvrcKerasError
from .files import check_output, marked_as, replace_with, writable_folder, write_atomic, written_by
from .model_folder import pixels_model

EXPORT_FORMATS = ("savedmodel", "tflite", "onnx")
# File (or folder) names fine_tune and the CLI give each format inside a model folder.
EXPORT_NAMES = {"savedmodel": "savedmodel", "tflite": "model.tflite", "onnx": "model.onnx"}


def serving_model(classifier):
    """:func:`pixels_model` of a :class:`~ilsvrc_keras.Classifier`'s network, size and normalization."""
    return pixels_model(classifier.model, classifier.transform.normalization, classifier.transform.size,
                        classifier.outputs, name=f"{classifier.model.name}_serving")


def export(model=None, path=None, *, format: str = "savedmodel", weights=None, preset=None,
           class_names=None, overwrite: bool = False) -> dict:
    """Export ``model`` for serving with raw pixels in (see the module's text).

    Args:
        model: a zoo name or ``arch.tag`` (ImageNet weights), a model folder, an
            :class:`ilsvrc_keras.Classifier`, or a ``keras.Model`` with ``preset`` (whose size and
            normalization it takes) and ``class_names``. None: the default network.
        path: where to write: a folder for ``"savedmodel"``, a file for ``"tflite"`` and ``"onnx"``.
        format: ``"savedmodel"``, ``"tflite"`` or ``"onnx"`` (Keras' ``model.export``; needs the
            ``tf2onnx`` and ``onnx`` packages: ``pip install ilsvrc-keras[onnx]``).
        weights: another weights file for a zoo network.
        overwrite: replace a previous export at ``path`` (its labels file says it is one). Nothing else is
            ever replaced: a folder or file this function did not write, the model folder being exported,
            or a folder holding it, is refused before any work.

    Returns ``{"format", "path", "labels", "input": {...}}``. Nothing is left half-written: each
    file appears whole or not at all.

    >>> import ilsvrc_keras
    >>> ilsvrc_keras.export("mobilenet_0.25_128", "exports/mobilenet.tflite", format="tflite")  # doctest: +SKIP
    {'format': 'tflite', 'path': 'exports/mobilenet.tflite', ...}
    """
    if format not in EXPORT_FORMATS:
        raise IlsvrcKerasError(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if path is None:
        raise IlsvrcKerasError("export needs a path to write to")
    path = Path(path)
    labels_path = (path / "labels.json") if format == "savedmodel" else path.with_suffix(".labels.json")
    sources = [model] if isinstance(model, (str, os.PathLike)) and Path(model).exists() else []
    check_output(path, f"{format} export", ours=marked_as(labels_path, "export"), sources=sources,
                 overwrite=overwrite, folder=format == "savedmodel")
    if format != "savedmodel":  # the file's labels beside it: ours too, or nothing
        check_output(labels_path, f"{format} export", ours=marked_as(labels_path, "export"), sources=sources,
                     overwrite=overwrite, folder=False)
    writable_folder(path.parent)
    clf = _classifier(model, weights, preset, class_names)
    serving = serving_model(clf)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as tmp:
        staged = Path(tmp) / path.name
        if format == "savedmodel":
            serving.export(str(staged), format="tf_saved_model", verbose=False)
            _write_labels(staged / "labels.json", clf)
        elif format == "tflite":
            saved = Path(tmp) / "savedmodel"
            serving.export(str(saved), format="tf_saved_model", verbose=False)
            import tensorflow as tf

            staged.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert())
        else:
            _export_onnx(serving, staged)
        if format != "savedmodel":
            _write_labels(Path(tmp) / labels_path.name, clf)
        replace_with(staged, path)
        if format != "savedmodel":
            os.replace(Path(tmp) / labels_path.name, labels_path)
    return {"format": format, "path": str(path), "labels": str(labels_path), "model": clf.name, **_signature(clf)}


def _signature(clf) -> dict:
    size = clf.transform.size
    return {"input": {"name": "pixels", "shape": [None, size, size, 3], "dtype": "uint8", "channels": "RGB",
                      "resize_shorter_side_to": round(size / clf.transform.crop_fraction), "center_crop": size},
            "output": {"shape": [None, clf.num_classes], "meaning": "probabilities"}}


def _classifier(model, weights, preset, class_names):
    from .inference import Classifier, load

    if hasattr(model, "layers") and hasattr(model, "outputs"):  # a keras.Model
        if preset is None:
            raise IlsvrcKerasError("exporting a keras.Model needs preset= (a zoo name or a Preset) for its size and "
                                   "normalization")
        from .models.common import ends_in_logits
        from .presets import Preset, get_preset

        preset = preset if isinstance(preset, Preset) else get_preset(preset)
        labels = [(str(c), str(c)) for c in class_names] if class_names is not None else preset.class_labels()
        outputs = "logits" if ends_in_logits(model) else "probabilities"
        return Classifier(model, preset.transform(model.inputs[0].shape[1] or None), labels, model.name,
                          outputs=outputs)
    return load(model, weights)


def _export_onnx(serving, path: Path) -> None:
    try:
        import onnx  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as exc:
        raise IlsvrcKerasError(
            f"ONNX export needs the tf2onnx and onnx packages ({exc.name} is not installed): "
            "pip install 'ilsvrc-keras[onnx]' (or tf2onnx onnx)") from None
    import numpy as np

    serving(np.zeros((1, *serving.inputs[0].shape[1:]), np.uint8))  # Keras' ONNX export wants a called model
    serving.export(str(path), format="onnx", verbose=False)


def _write_labels(path: Path, clf) -> None:
    classes = [{"label": lab, "name": name} for lab, name in clf.class_labels]
    # written_by marks the export as this package's: a later export may replace it (with overwrite), nothing else.
    write_atomic(path, json.dumps({**written_by("export"), "model": clf.name, **_signature(clf), "classes": classes},
                                  indent=1))
