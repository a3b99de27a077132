"""``fine_tune``: adapt a pretrained zoo network to a new dataset in one call.

Two phases on the training engine (same strategy, XLA, precision and resumable folders as
``ilsvrc-keras train``):

1. **head**: a new head (global average pooling, dropout, dense) trained on the frozen backbone
   at a high learning rate;
2. **whole network**: the backbone unfrozen (all of it, or its top ``unfreeze`` layers) at a lower
   learning rate with linear warmup and cosine decay.

In phase 1 the whole backbone is frozen, BatchNorm included, so it costs one forward pass per
image. In phase 2 BatchNorm layers train on the new data's batch statistics (``train_bn=True``, as
fastai does): with them frozen, whole-network Adam at 1e-3 first wrecked MobileNet's features on
flowers (val 0.55 -> 0.27 in an epoch with plain ``fit``) and ended lower (0.74 against 0.78). Their
moving statistics then follow the new data with momentum ``bn_momentum=0.9``: Keras' pretrained
networks use 0.99, which after a short epoch still holds half of ImageNet's statistics, so the first
whole-network epochs were judged with the wrong ones (on ELPV's solar cells: val 0.69 -> 0.31).
Each phase keeps its best validation epoch; the run ends with the best weights of all, so it never
ends below its peak. Output: ``model.keras``, ``labels.json``, ``preprocessing.json``, ``history.csv``,
``report.json``, ``curves.png``, ``confusion_matrix.png`` (and optionally a SavedModel and TFLite).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from .errors import DataError, IlsvrcKerasError


@dataclasses.dataclass
class FineTuneResult:
    """What :func:`fine_tune` returns: the trained model and everything known about it."""

    model: object
    class_names: list
    history: list          # one dict per epoch, both phases, with a "phase" key
    metrics: dict          # val accuracy, top-k, per-class precision/recall/F1, confusion matrix
    paths: dict            # output files
    seconds: float

    @property
    def val_accuracy(self) -> float:
        return self.metrics["accuracy"]

    def summary(self) -> dict:
        return {"val_accuracy": self.val_accuracy, "epochs": len(self.history), "seconds": round(self.seconds, 1),
                "classes": self.class_names, "out": self.paths.get("out"), "metrics": self.metrics}


# --- data --------------------------------------------------------------------------------------------


def _encode_arrays(images) -> list:
    """Images in memory -> PNG bytes, so that they take the same (decode, crop) path as files."""
    from PIL import Image

    from .images import load_image

    out = []
    for im in images:
        buf = io.BytesIO()
        Image.fromarray(load_image(np.asarray(im) if not isinstance(im, Image.Image) else im)).save(buf, "PNG",
                                                                                                  compress_level=1)
        out.append(buf.getvalue())
    return out


def _from_tensors(images, labels, class_names):
    from .data import Split

    labels = [int(v) for v in np.asarray(labels).reshape(-1)]
    if len(labels) != len(images):
        raise DataError(f"{len(images)} images but {len(labels)} labels")
    contents = _encode_arrays(images)
    return Split([f"<array {i}>" for i in range(len(contents))], labels, contents)


def _from_tf_dataset(ds):
    images, labels = [], []
    for image, label in ds.as_numpy_iterator():
        images.append(image)
        labels.append(int(np.asarray(label).reshape(-1)[0]) if np.asarray(label).ndim else int(label))
    return images, labels


def _split_stratified(split, val_fraction, seed):
    from .data import Split, stratified_split

    by_class = {}
    for i, label in enumerate(split.labels):
        by_class.setdefault(label, []).append(i)
    train, val = stratified_split(by_class, val_fraction, seed)

    def take(groups):
        ids = sorted(i for items in groups.values() for i in items)
        return Split([split.paths[i] for i in ids], [split.labels[i] for i in ids],
                     [split.contents[i] for i in ids] if split.contents is not None else None)

    return take(train), take(val)


def resolve_data(data, val_data=None, class_names=None, val_fraction=0.2, seed=0, data_dir=None):
    """Any supported ``data`` (and ``val_data``) -> a :class:`ilsvrc_keras.data.FileDataset`."""
    from .data import FileDataset, image_folder_dataset

    if isinstance(data, (str, os.PathLike)) and Path(data).is_dir():
        ds = image_folder_dataset(data, val_fraction=val_fraction, seed=seed)
        if val_data is not None:
            val = resolve_data(val_data, class_names=ds.class_names, val_fraction=val_fraction, seed=seed)
            unseen = sorted(set(val.class_names) - set(ds.class_names))
            if unseen:
                raise DataError(f"validation data has classes the training data lacks: {unseen[:5]}")
            index = {c: i for i, c in enumerate(ds.class_names)}
            from .data import Split

            merged = Split(val.train.paths + val.val.paths,
                           [index[val.class_names[y]] for y in val.train.labels + val.val.labels])
            train = Split(ds.train.paths + ds.val.paths, ds.train.labels + ds.val.labels)
            return FileDataset(train, merged, ds.class_names, ds.root)
        return ds
    if isinstance(data, (str, os.PathLike)) and os.path.sep not in str(data) and not Path(data).exists():
        return _tfds(str(data), class_names, val_fraction, seed, data_dir)
    if isinstance(data, (str, os.PathLike)):
        raise DataError(f"{data}: no such folder")
    if isinstance(data, tuple) and len(data) == 2:
        images, labels = data
    elif hasattr(data, "as_numpy_iterator"):
        images, labels = _from_tf_dataset(data)
    else:
        raise DataError("data must be a folder, a TFDS name, a tf.data.Dataset of (image, label) or (x, y) arrays")
    if class_names is None:
        class_names = [str(i) for i in range(int(np.max(labels)) + 1)]
    train = _from_tensors(images, labels, class_names)
    if val_data is not None:
        vi, vl = val_data if isinstance(val_data, tuple) else _from_tf_dataset(val_data)
        val = _from_tensors(vi, vl, class_names)
    else:
        train, val = _split_stratified(train, val_fraction, seed)
    if max(train.labels + val.labels) >= len(class_names):
        raise DataError(f"labels go up to {max(train.labels + val.labels)} but only {len(class_names)} class names")
    if len(set(train.labels)) < 2:
        raise DataError("a classifier needs at least two classes in the training data")
    return FileDataset(train, val, list(class_names), "<memory>")


def _tfds(name, class_names, val_fraction, seed, data_dir):
    from .records import tfds_builder

    builder = tfds_builder(name, data_dir)
    label_feature = builder.info.features["label"]
    names = class_names or list(label_feature.names)
    splits = list(builder.info.splits)
    ds = builder.as_dataset(split=splits[0], as_supervised=True)
    images, labels = _from_tf_dataset(ds)
    val = None
    if "validation" in splits or "test" in splits:
        val = _from_tf_dataset(builder.as_dataset(split="validation" if "validation" in splits else "test",
                                                  as_supervised=True))
    return resolve_data((images, labels), val, names, val_fraction, seed)


# --- model --------------------------------------------------------------------------------------------


def build_classifier(model_name: str, num_classes: int, weights, size: int, dropout: float):
    """Backbone (ImageNet weights, no top) + global average pooling + dropout + dense softmax."""
    import keras

    from .zoo import create_model

    backbone = create_model(model_name, weights=weights, include_top=False, input_shape=(size, size, 3))
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(backbone.output)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", dtype="float32", name="head_predictions")(x)
    return keras.Model(backbone.input, out, name=f"{model_name}_finetuned")


HEAD_LAYERS = frozenset({"head_pool", "head_dropout", "head_predictions"})  # named in build_classifier


def set_trainable(model, phase: str, unfreeze: Union[str, int] = "all", train_bn: bool = False,
                  bn_momentum: Optional[float] = None) -> None:
    """Phase "head": only the head trains. Phase "all": the backbone too (all of it, or its last
    ``unfreeze`` weighted layers). BatchNorm layers train (batch statistics, as fastai does) in
    both phases when ``train_bn``, their moving statistics updated with ``bn_momentum`` where
    given; otherwise they stay frozen in inference mode."""
    head = HEAD_LAYERS
    backbone = [layer for layer in model.layers if layer.name not in head]
    weighted = [layer for layer in backbone if layer.weights]
    if phase == "head":
        open_layers = {layer.name for layer in weighted if train_bn and layer.__class__.__name__ == "BatchNormalization"}
    elif unfreeze == "all":
        open_layers = {layer.name for layer in weighted}
    else:
        n = int(unfreeze)
        if n < 0:
            raise IlsvrcKerasError(f"unfreeze must be 'all' or a number of layers >= 0, not {unfreeze}")
        open_layers = {layer.name for layer in weighted[len(weighted) - n:]} if n else set()
    for layer in backbone:
        is_bn = layer.__class__.__name__ == "BatchNormalization"
        layer.trainable = layer.name in open_layers and (train_bn or not is_bn)
        if is_bn and layer.trainable and bn_momentum is not None:
            layer.momentum = bn_momentum
    for layer in model.layers:
        if layer.name in head:
            layer.trainable = True


# --- the call ------------------------------------------------------------------------------------------


def fine_tune(data, model: str = "mobilenet_0.25_128", weights="imagenet", out=None, *, val_data=None,
              class_names: Optional[Sequence[str]] = None, data_dir=None, val_fraction: float = 0.2,
              head_epochs: int = 3, epochs: int = 7, batch_size: int = 32, image_size: Optional[int] = None,
              crop_fraction: Optional[float] = None,
              head_lr: float = 3e-3, lr: float = 1e-3, optimizer: str = "adam", head_optimizer: str = "adam",
              weight_decay: float = 0.0,
              warmup_epochs: float = 1.0, unfreeze: Union[str, int] = "all", train_bn: bool = True,
              bn_momentum: Optional[float] = 0.9,
              dropout: float = 0.2, label_smoothing: float = 0.1, augment=None,
              class_weight: Union[None, str, dict] = None, patience: Optional[int] = None,
              precision: Optional[str] = None, xla: Optional[bool] = None, replicas: Optional[int] = None,
              seed: int = 0, export: Sequence[str] = (), progress: bool = True) -> FineTuneResult:
    """Fine-tune a pretrained zoo network on ``data`` and return a :class:`FineTuneResult`.

    ``data``: a class-per-folder directory (``train/`` + ``val/``, or one tree split with
    ``val_fraction`` held out, seeded and stratified), a TFDS name (``"tf_flowers"``, with
    ``data_dir``), a ``tf.data.Dataset`` of ``(image, label)``, or ``(x, y)`` arrays; ``val_data``
    the same. ``head_epochs`` at ``head_lr`` train the new head; ``epochs`` at ``lr`` (warmup,
    cosine) train the unfrozen network; its BatchNorm layers train (``train_bn``) with moving
    statistics of momentum ``bn_momentum`` (``None``: the network's own).
    ``class_weight="balanced"`` weights the loss by inverse class frequency. Rerunning with the
    same ``out`` resumes. ``export`` may name
    ``"savedmodel"`` and ``"tflite"``.

    >>> import ilsvrc_keras
    >>> result = ilsvrc_keras.fine_tune("../shared/assets/flowers", model="mobilenet_0.25_128",
    ...     weights="../shared/assets/weights/mobilenet_2_5_128_tf_no_top.h5",
    ...     out="runs/flowers")  # doctest: +SKIP
    >>> result.val_accuracy  # doctest: +SKIP
    0.88
    """
    from .data import Augment
    from .engine import RunConfig, run_training
    from .registry import get_spec
    from .transforms import EvalTransform

    started = time.perf_counter()
    spec = get_spec(model)
    dataset = resolve_data(data, val_data, class_names, val_fraction, seed, data_dir)
    names = list(dataset.class_names)
    if len(dataset.val) == 0:
        raise DataError("the validation split is empty; give val_data or more images per class")
    size = int(image_size or spec.input_size)
    transform = EvalTransform(size, crop_fraction or spec.crop_fraction, spec.preprocessing)
    out = Path(out or Path("runs") / f"{model}-finetuned")
    out.mkdir(parents=True, exist_ok=True)
    weights_path = _resolve_backbone_weights(spec, weights)
    class_weights = _class_weights(class_weight, dataset.train.labels, names)
    # Milder crops than ImageNet's (0.08, 1): a few epochs on a small dataset learn faster from them.
    augment = augment if augment is not None else Augment(crop_scale=(0.35, 1.0))

    def build():
        return build_classifier(model, len(names), weights_path, size, dropout)

    common = dict(batch_size=batch_size, weight_decay=weight_decay, momentum=0.9,
                  label_smoothing=label_smoothing, precision=precision, xla=xla, replicas=replicas, seed=seed,
                  progress=progress, restore_best=True, patience=patience, class_weights=class_weights,
                  augment=augment, schedule="cosine", checkpoint_every=10_000)
    history = []
    card = {**spec.card(), "fine_tuned_from": model, "classes": names}

    # Phase 1: the head on the frozen backbone.
    phase1 = out / "phase1-head"
    if head_epochs > 0:
        def build_head():
            m = build()
            set_trainable(m, "head", train_bn=False)  # a frozen backbone costs a forward pass only
            return m

        s1 = run_training(build_head, dataset, transform,
                          RunConfig(out=str(phase1), epochs=head_epochs, lr=head_lr, warmup_epochs=0,
                                    optimizer=head_optimizer, **common),
                          card=card)
        history += [{"phase": "head", **r} for r in _rows(phase1)]
        if s1.get("interrupted"):
            raise KeyboardInterrupt("interrupted in the head phase; rerun the same call to resume")

    # Phase 2: the whole network (or its top layers), lower rate, warmup and cosine decay.
    phase2 = out / "phase2-all"
    final_dir = phase2
    if epochs > 0:
        def build_all():
            m = build()
            if head_epochs > 0:
                m.load_weights(phase1 / "model.keras")
            set_trainable(m, "all", unfreeze, train_bn, bn_momentum)
            return m

        s2 = run_training(build_all, dataset, transform,
                          RunConfig(out=str(phase2), epochs=epochs, lr=lr, warmup_epochs=warmup_epochs,
                                    optimizer=optimizer, **common),
                          card=card)
        history += [{"phase": "all", **r} for r in _rows(phase2)]
        if s2.get("interrupted"):
            raise KeyboardInterrupt("interrupted in the whole-network phase; rerun the same call to resume")
    else:
        final_dir = phase1
    if head_epochs > 0 and epochs > 0:
        final_dir = _better_phase(phase1, phase2)

    import keras

    from .inference import load

    for name in ("model.keras", "labels.json", "preprocessing.json"):
        shutil.copy(final_dir / name, out / name)
    trained = keras.models.load_model(out / "model.keras", compile=False)
    metrics = _validation_report(load(out), dataset, names)
    paths = _write_outputs(out, history, metrics, names)
    exported = export_model(trained, out, export, transform) if export else {}
    paths.update(exported)
    seconds = time.perf_counter() - started
    result = FineTuneResult(trained, names, history, metrics, {"out": str(out), **paths}, seconds)
    settings = dict(head_epochs=head_epochs, epochs=epochs, batch_size=batch_size, image_size=size,
                    crop_fraction=transform.crop_fraction, head_lr=head_lr, lr=lr, optimizer=optimizer,
                    head_optimizer=head_optimizer, weight_decay=weight_decay, warmup_epochs=warmup_epochs,
                    unfreeze=unfreeze, train_bn=train_bn, bn_momentum=bn_momentum, dropout=dropout,
                    label_smoothing=label_smoothing, augment=dataclasses.asdict(augment),
                    class_weight=class_weight, patience=patience, seed=seed)
    report = {**result.summary(), "model": model, "phase_kept": final_dir.name, "settings": settings}
    # Settings may hold numpy numbers (class weights computed by the caller): written as plain numbers.
    (out / "report.json").write_text(json.dumps(report, indent=2,
                                                default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    return result


def _rows(folder: Path) -> list:
    from .engine import _read_history

    return _read_history(folder / "history.csv")


def _better_phase(phase1: Path, phase2: Path) -> Path:
    def best(folder):
        s = json.loads((folder / "summary.json").read_text())
        return s.get("best_val_top1") or 0.0

    return phase2 if best(phase2) >= best(phase1) else phase1


def _resolve_backbone_weights(spec, weights):
    """The backbone's ImageNet weights: keras' no-top file, or the full file already on disk (the
    loader matches layers by name, so the classifier's extra layers are simply not used)."""
    if weights != "imagenet":
        return weights
    from .weights import find_local_weights, resolve_imagenet_weights

    return (find_local_weights(spec, include_top=False) or find_local_weights(spec, include_top=True)
            or resolve_imagenet_weights(spec, include_top=False))


def _class_weights(class_weight, labels, names):
    if class_weight is None:
        return None
    counts = np.bincount(np.asarray(labels), minlength=len(names)).astype(np.float64)
    if class_weight == "balanced":
        w = counts.sum() / (len(names) * np.maximum(counts, 1))
        return [float(v) for v in w]
    if isinstance(class_weight, dict):
        index = {n: i for i, n in enumerate(names)}
        w = np.ones(len(names))
        for k, v in class_weight.items():
            i = index[k] if k in index else int(k)
            w[i] = float(v)
        return [float(v) for v in w]
    raise IlsvrcKerasError("class_weight must be None, 'balanced' or a {class: weight} dict")


def _validation_report(clf, dataset, names) -> dict:
    from .data import eval_dataset
    from .metrics import confusion_matrix, per_class_report, topk_correct

    split = dataset.val
    probs, seen = [], []
    if split.contents is None:
        for idx, batch in eval_dataset(split.paths, clf.transform, 64):
            probs.append(clf.predict_batch(batch))
            seen.append(idx.numpy())
    else:
        for i in range(0, len(split.contents), 64):
            probs.append(clf.predict(split.contents[i:i + 64]))
            seen.append(np.arange(i, min(i + 64, len(split.contents))))
    probs = np.concatenate(probs)
    seen = np.concatenate(seen)
    y = np.asarray(split.labels)[seen]
    pred = probs.argmax(1)
    matrix = confusion_matrix(y, pred, len(names))
    k = min(5, len(names) - 1) if len(names) > 2 else None
    metrics = {"n": int(len(y)), "accuracy": round(float((pred == y).mean()), 4),
               "per_class": per_class_report(matrix, names), "confusion_matrix": matrix.tolist(),
               "skipped": [split.paths[i] for i in sorted(set(range(len(split))) - set(seen.tolist()))]}
    if k and k > 1:
        metrics[f"top{k}_accuracy"] = round(float(topk_correct(probs, y, k).mean()), 4)
    return metrics


def _write_outputs(out: Path, history, metrics, names) -> dict:
    from .engine import _write_history
    from .plots import confusion_matrix_png, training_curves

    rows = [{"epoch": i + 1, **{k: v for k, v in r.items() if k != "epoch"}, "phase_epoch": r["epoch"]}
            for i, r in enumerate(history)]
    _write_history(out / "history.csv", rows)
    paths = {"model": str(out / "model.keras"), "labels": str(out / "labels.json"),
             "preprocessing": str(out / "preprocessing.json"), "history": str(out / "history.csv"),
             "report": str(out / "report.json")}
    try:
        paths["curves"] = str(training_curves(rows, out / "curves.png"))
        paths["confusion_matrix"] = str(confusion_matrix_png(np.array(metrics["confusion_matrix"]), names,
                                                             out / "confusion_matrix.png"))
    except Exception as exc:  # a plot must never cost a finished run
        print(f"warning: could not draw the report plots ({exc})", file=sys.stderr)
    return paths


def export_model(model, out: Path, formats, transform) -> dict:
    """Export for serving: ``"savedmodel"`` (``model.export``, takes normalized input) and
    ``"tflite"`` (from that SavedModel)."""
    paths = {}
    formats = set(formats)
    unknown = formats - {"savedmodel", "tflite"}
    if unknown:
        raise IlsvrcKerasError(f"unknown export formats {sorted(unknown)}: savedmodel, tflite")
    saved = out / "savedmodel"
    model.export(str(saved), format="tf_saved_model", verbose=False)
    paths["savedmodel"] = str(saved)
    if "tflite" in formats:
        import tensorflow as tf

        tflite = tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert()
        (out / "model.tflite").write_bytes(tflite)
        paths["tflite"] = str(out / "model.tflite")
    return paths
