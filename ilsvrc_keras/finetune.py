"""``fine_tune``: adapt a pretrained zoo network to a new dataset in one call, composed of parts a
user can also call by hand (fastai's ``freeze`` / ``fit`` / ``unfreeze`` / ``fit``):

1. :func:`build_classifier`: the pretrained backbone (no top) + a new head (global average
   pooling, dropout, dense);
2. :func:`freeze`, then :meth:`Trainer.fit <ilsvrc_keras.training.Trainer.fit>` at a high learning
   rate: the head learns on the frozen backbone;
3. :func:`unfreeze` (all of it, its top ``N`` layers, or from a named layer on), then ``fit`` again
   at a lower rate with linear warmup and cosine decay;
4. the better phase's best weights, the report (:func:`write_report`), the model folder.

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
import json
import logging
import time
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from .checks import check, choice
from .errors import ArgumentError, DataError, IlsvrcKerasError
from .files import path_sources, run_folder
from .interpretation import most_confused, named
from .serving import EXPORT_FORMATS, EXPORT_NAMES
from .training.strategy import DEFAULT_CLUSTER_TIMEOUT, check_machine, chief_task


@dataclasses.dataclass
class FineTuneResult:
    """What :func:`fine_tune` returns: the trained model and everything known about it.
    ``interrupted``: the run stopped on SIGTERM/SIGINT after checkpointing (rerun the same call to
    resume); ``metrics`` is then empty."""

    model: object
    class_names: list
    history: list          # one dict of numbers per epoch, both phases, with "phase" and "phase_epoch"
    metrics: dict          # val accuracy, top-k, per-class precision/recall/F1, confusion matrix
    paths: dict            # output files
    seconds: float
    interrupted: bool = False
    phases: dict = dataclasses.field(default_factory=dict)  # each phase's RunResult.to_dict()

    @property
    def val_accuracy(self) -> Optional[float]:
        return self.metrics.get("accuracy")

    def summary(self) -> dict:
        return {"val_accuracy": self.val_accuracy, "epochs": len(self.history), "seconds": round(self.seconds, 1),
                "classes": self.class_names, "out": self.paths.get("out"), "interrupted": self.interrupted,
                "metrics": self.metrics}

    def _repr_html_(self) -> str:
        """A notebook shows the result as its figures: accuracy, the curves, the confusion matrix, the top
        losses and the most confused pairs, the pictures inline."""
        import base64
        import html

        out = html.escape(str(self.paths.get("out", "")))
        if self.interrupted:
            return f"<p><b>fine_tune</b> into <code>{out}</code>: interrupted; run the same call to resume.</p>"
        parts = [f"<p><b>fine_tune</b> into <code>{out}</code>: validation accuracy <b>{self.val_accuracy:.1%}</b> "
                 f"on {self.metrics.get('n')} images, {len(self.history)} epochs in {self.seconds:.0f} s</p>"]
        for key in ("curves", "confusion_matrix", "top_losses"):
            path = self.paths.get(key)
            if path and Path(path).is_file():
                data = base64.b64encode(Path(path).read_bytes()).decode()
                parts.append(f'<img src="data:image/png;base64,{data}" alt="{key}" style="max-width:49%">')
        pairs = self.metrics.get("most_confused") or []
        if pairs:
            rows = "".join(f"<tr><td>{html.escape(p['true'])}</td><td>{html.escape(p['predicted'])}</td>"
                           f"<td>{p['count']}</td></tr>" for p in pairs)
            parts.append(f"<table><tr><th>true</th><th>predicted</th><th>images</th></tr>{rows}</table>")
        return "\n".join(parts)


# --- the classifier and its parts ------------------------------------------------------------------------


# Fine-tuning crops: milder than ImageNet's (0.08, 1); a few epochs on a small dataset learn faster from them.
CROP_SCALE = (0.35, 1.0)
NEW_HEAD_LAYERS = frozenset({"head_pool", "head_dropout", "head_predictions"})  # named in build_classifier


def build_classifier(model_name: str, num_classes: int, weights, size: int, dropout: float = 0.2):
    """Backbone (``weights``: a file, ``"imagenet"`` or None; no top) + global average pooling +
    dropout + a dense layer giving logits (the loss and :class:`ilsvrc_keras.Classifier` apply the
    softmax), named ``head_*``.

    >>> from ilsvrc_keras.finetune import build_classifier
    >>> model = build_classifier("resnet18", 5, None, 96)
    >>> model.output_shape
    (None, 5)
    """
    import keras

    from .zoo import create_model

    backbone = create_model(model_name, weights=weights, include_top=False, input_shape=(size, size, 3))
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(backbone.output)
    x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    out = keras.layers.Dense(num_classes, dtype="float32", name="head_predictions")(x)
    return keras.Model(backbone.input, out, name=f"{model_name}_finetuned")


def _is_bn(layer) -> bool:
    return layer.__class__.__name__ == "BatchNormalization"


def _set(model, open_layers: set, train_bn: bool, bn_momentum: Optional[float]) -> None:
    for layer in model.layers:
        if layer.name in NEW_HEAD_LAYERS:
            layer.trainable = True
            continue
        layer.trainable = layer.name in open_layers and (train_bn or not _is_bn(layer))
        if _is_bn(layer) and layer.trainable and bn_momentum is not None:
            layer.momentum = bn_momentum


def freeze(model, train_bn: bool = False, bn_momentum: Optional[float] = None) -> None:
    """Only the head trains (and BatchNorm, with ``train_bn``; frozen, the backbone costs only its
    forward pass)."""
    bns = {layer.name for layer in model.layers if _is_bn(layer)} if train_bn else set()
    _set(model, bns, train_bn, bn_momentum)


def unfreeze(model, layers: Union[str, int] = "all", *, from_layer: Optional[str] = None, train_bn: bool = True,
             bn_momentum: Optional[float] = 0.9) -> None:
    """Open the backbone: all of it (``layers="all"``), its last ``layers`` weighted layers, or every
    layer from ``from_layer`` (a layer name: a stage boundary such as ``"conv5_block1_1_conv"``) on.
    BatchNorm trains with ``train_bn`` (its moving statistics with momentum ``bn_momentum``; None:
    the network's own), else stays in inference mode."""
    backbone = [layer for layer in model.layers if layer.name not in NEW_HEAD_LAYERS]
    weighted = [layer for layer in backbone if layer.weights]
    if from_layer is not None:
        names = [layer.name for layer in backbone]
        if from_layer not in names:
            raise IlsvrcKerasError(f"from_layer {from_layer!r} is not a layer of {model.name}")
        opened = {layer.name for layer in backbone[names.index(from_layer):]}
    elif layers == "all":
        opened = {layer.name for layer in weighted}
    elif isinstance(layers, (int, np.integer)) and not isinstance(layers, bool) and layers >= 0:
        opened = {layer.name for layer in weighted[len(weighted) - int(layers):]} if layers else set()
    else:
        raise IlsvrcKerasError(f"unfreeze must be 'all' or a number of layers >= 0, not {layers!r}")
    _set(model, opened, train_bn, bn_momentum)


_open_backbone = unfreeze  # fine_tune's argument of the same name hides the function there


def discriminative_rates(model, lr_mult: float, groups: int = 2) -> Optional[dict]:
    """fastai's discriminative rates (``slice(lr / lr_mult, lr)``) as ``RunConfig.lr_multipliers``: the
    backbone's weighted layers cut into ``groups`` runs of equal length, the earliest training at
    ``1 / lr_mult`` of the rate and each later group ``lr_mult ** (1 / groups)`` times faster, the new
    head at the rate itself. Early filters are general and need little change; the last ones are the
    most specific to ImageNet. ``lr_mult=1``: None (one rate for all).

    >>> from ilsvrc_keras.finetune import build_classifier, discriminative_rates
    >>> rates = discriminative_rates(build_classifier("resnet18", 5, None, 64), 100)
    >>> rates["conv1_conv"], rates["conv5_block2_2_conv"], "head_predictions" in rates
    (0.01, 0.1, False)
    """
    check("lr_mult", lr_mult)
    if lr_mult == 1:
        return None
    weighted = [layer.name for layer in model.layers if layer.name not in NEW_HEAD_LAYERS and layer.weights]
    per = len(weighted) / groups
    return {name: float(lr_mult ** (-(groups - int(i // per)) / groups)) for i, name in enumerate(weighted)}


def class_weights_for(class_weight, labels, names) -> Optional[list]:
    """Loss weight per class: ``"balanced"`` (inverse frequency), a ``{class: weight}`` dict, or None."""
    if class_weight is None:
        return None
    if class_weight == "balanced":
        if labels is None:
            raise DataError("class_weight='balanced' needs the training labels, which this data source does not "
                            "list; pass a {class: weight} dict")
        counts = np.bincount(np.asarray(labels), minlength=len(names)).astype(np.float64)
        return [float(v) for v in counts.sum() / (len(names) * np.maximum(counts, 1))]
    if isinstance(class_weight, dict):
        index = {n: i for i, n in enumerate(names)}
        w = np.ones(len(names))
        for k, v in class_weight.items():
            w[index[k] if k in index else int(k)] = float(v)
        return [float(v) for v in w]
    raise IlsvrcKerasError("class_weight must be None, 'balanced' or a {class: weight} dict")


# --- the call ------------------------------------------------------------------------------------------


FIND = "find"  # a rate given as this word is read off the learning-rate finder's curve


@dataclasses.dataclass
class FineTuneConfig:
    """:func:`fine_tune`'s training settings (its keyword arguments of the same names, documented there),
    checked by :meth:`validate`; what ``report.json`` records under ``settings``. Beside it, the data,
    the network, the machine and the output folder are :func:`fine_tune`'s own arguments.

    >>> FineTuneConfig(epochs=3, lr_mult=100).validate().lr_mult
    100
    >>> FineTuneConfig(head_lr=-1).validate()
    Traceback (most recent call last):
    ...
    ilsvrc_keras.errors.ArgumentError: head_lr must be a number in (0, inf), not -1
    """

    head_epochs: int = 3
    epochs: int = 7
    batch_size: int = 32
    image_size: Optional[int] = None
    crop_fraction: Optional[float] = None
    head_lr: Union[float, str] = 3e-3
    lr: Union[float, str] = 1e-3
    lr_mult: float = 1.0
    optimizer: str = "adam"
    head_optimizer: str = "adam"
    weight_decay: float = 0.0
    warmup_epochs: float = 1.0
    unfreeze: Union[str, int] = "all"
    train_bn: bool = True
    bn_momentum: Optional[float] = 0.9
    dropout: float = 0.2
    label_smoothing: float = 0.1
    augment: Optional[object] = None
    class_weight: Union[None, str, dict] = None
    patience: Optional[int] = None
    seed: int = 0
    progress: bool = True

    def validate(self) -> "FineTuneConfig":
        """Every setting in its range (one :class:`~ilsvrc_keras.ArgumentError` naming the first that is
        not), before any data is read or model built. Returns the config."""
        from .training.schedules import OPTIMIZERS

        for name in ("head_epochs", "epochs", "batch_size", "weight_decay", "warmup_epochs", "dropout",
                     "label_smoothing", "lr_mult"):
            check(name, getattr(self, name))
        for name in ("head_lr", "lr"):  # a rate, or "find": read off the learning-rate finder's curve
            if getattr(self, name) != FIND:
                check(name, getattr(self, name))
        for name in ("patience", "crop_fraction", "bn_momentum"):
            check(name, getattr(self, name), optional=True)
        if self.head_epochs + self.epochs == 0:
            raise ArgumentError("head_epochs and epochs are both 0: nothing would be trained")
        check("image_size", self.image_size, optional=True)  # and the architecture's minimum, once it is known
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("head_optimizer", self.head_optimizer, OPTIMIZERS)
        if self.unfreeze != "all":
            check("unfreeze", self.unfreeze)
        if self.class_weight is not None and not isinstance(self.class_weight, dict):
            choice("class_weight", self.class_weight, ("balanced",))
        return self

    @property
    def finds(self) -> bool:
        return FIND in (self.head_lr, self.lr)

    def settings(self, **resolved) -> dict:
        """What ``report.json`` records: every setting but ``progress``, with ``resolved`` (the image
        size, crop and augmentation the run settled on, the rates the finder read) over the given ones."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("progress",)}
        return {**out, **resolved}


def lr_find(data, model=None, weights="imagenet", *, phase: str = "head", start_lr: float = 1e-7,
            end_lr: float = 10.0, steps: int = 100, batch_size: int = 32, image_size: Optional[int] = None,
            optimizer: str = "adam", label_smoothing: float = 0.1, preset=None, labels=None,
            val_fraction: float = 0.2, seed: int = 0, out=None, overwrite: Optional[bool] = None,
            progress: bool = True):
    """fastai's learning-rate finder on your data: up to ``steps`` training steps while the rate grows
    exponentially from ``start_lr`` to ``end_lr``, the loss at each, and the rate read off the smoothed
    curve (:class:`~ilsvrc_keras.training.lr_find.LRFinderResult`: ``suggestion`` by fastai's valley rule,
    ``steepest``, ``minimum``). Nothing is disturbed: the probed model gets its weights back (BatchNorm
    statistics included) and the probe trains with an optimizer of its own.

    ``model``: a zoo name or preset (the network :func:`fine_tune` would build: its pretrained backbone and
    a new head for ``data``'s classes), or a ``keras.Model`` of yours with ``preset`` naming its
    preprocessing. ``phase``: ``"head"`` probes with the backbone frozen (the rate for ``head_lr``),
    ``"all"`` with every layer training (for ``lr``). ``out``: also draw the curve there (PNG).

    >>> import ilsvrc_keras
    >>> found = ilsvrc_keras.lr_find("flowers/", model="mobilenet_0.25_128", out="lr.png")  # doctest: +SKIP
    >>> found.suggestion  # doctest: +SKIP
    0.0033
    """
    import keras

    from .datasets import Augment, open_dataset
    from .models.common import ends_in_logits
    from .presets import get_preset
    from .registry import check_image_size, get_spec
    from .training.lr_find import find_rate
    from .transforms import EvalTransform

    choice("phase", phase, ("head", "all"))
    check("batch_size", batch_size)
    user_model = isinstance(model, keras.Model)
    if user_model and preset is None:
        raise ArgumentError("lr_find of a keras.Model needs preset= (a zoo name or arch.tag) for its size and "
                            "normalization")
    if user_model:
        name, p = preset, get_preset(preset)
        check_image_size(get_spec(p.arch), image_size)
    else:
        name, p, _ = _network(model, weights, image_size)
    size = int(image_size or (model.inputs[0].shape[1] if user_model and model.inputs[0].shape[1] else p.size))
    if out is not None:
        from .files import image_output

        image_output(out, overwrite=overwrite)  # a bad place to draw fails before the probe, not after
    dataset = open_dataset(data, val_fraction=val_fraction, seed=seed, labels=labels)
    names = list(dataset.class_names)
    transform = EvalTransform(size, p.crop_fraction, p.normalization, p.interpolation)
    keras.utils.set_random_seed(seed)
    net = model if user_model else build_classifier(name, len(names), weights, size)
    if not user_model:
        freeze(net) if phase == "head" else unfreeze(net)
    result = find_rate(net, dataset.train, transform, len(names), batch_size=batch_size, seed=seed,
                       augment=Augment(crop_scale=CROP_SCALE), progress=progress, steps=steps, start_lr=start_lr,
                       end_lr=end_lr, optimizer=optimizer, label_smoothing=label_smoothing,
                       from_logits=True if not user_model else ends_in_logits(net))
    if out is not None:
        from .plots import lr_find_png

        result.plot = str(lr_find_png(result, out, overwrite=overwrite))
    return result


def fine_tune(data, model: Optional[str] = None, weights="imagenet", out=None, *, val_data=None,
              class_names: Optional[Sequence[str]] = None, data_dir=None, val_fraction: float = 0.2,
              head_epochs: int = 3, epochs: int = 7, batch_size: int = 32, image_size: Optional[int] = None,
              crop_fraction: Optional[float] = None, head_lr: Union[float, str] = 3e-3, lr: Union[float, str] = 1e-3,
              lr_mult: float = 1.0, optimizer: str = "adam", head_optimizer: str = "adam", weight_decay: float = 0.0,
              warmup_epochs: float = 1.0, unfreeze: Union[str, int] = "all", train_bn: bool = True,
              bn_momentum: Optional[float] = 0.9, dropout: float = 0.2, label_smoothing: float = 0.1, augment=None,
              class_weight: Union[None, str, dict] = None, patience: Optional[int] = None,
              precision: Optional[str] = None, xla: Optional[bool] = None, replicas: Optional[int] = None,
              cluster_timeout: float = DEFAULT_CLUSTER_TIMEOUT, labels=None,
              seed: int = 0, export: Sequence[str] = (), progress: bool = True,
              callbacks: Sequence = (), overwrite: bool = False) -> FineTuneResult:
    """Fine-tune a pretrained zoo network on ``data`` and return a :class:`FineTuneResult`.

    ``data`` (and ``val_data``): anything :func:`ilsvrc_keras.datasets.open_dataset` reads: a
    class-per-folder directory (``train/`` + ``val/``, or one tree split with ``val_fraction``
    held out, seeded and stratified), a folder written by ``ilsvrc-keras prepare``, a TFDS name
    (``"tf_flowers"``, with ``data_dir``; streamed), ``(x, y)`` arrays, or a ``tf.data.Dataset`` of
    ``(image, label)``, batched or not (``keras.utils.image_dataset_from_directory``).
    ``head_epochs`` at ``head_lr`` train the new head; ``epochs`` at ``lr`` (warmup, cosine) train the
    unfrozen network; its BatchNorm layers train (``train_bn``) with moving statistics of momentum
    ``bn_momentum`` (``None``: the network's own). ``lr_mult``: discriminative rates in that phase
    (fastai's ``slice(lr / lr_mult, lr)``, :func:`discriminative_rates`): the backbone's first half trains at
    ``lr / lr_mult``, its second half at ``lr / sqrt(lr_mult)``, the head at ``lr``; 1 (the default): one
    rate for all. The training settings are a :class:`FineTuneConfig`. ``class_weight="balanced"`` weights the loss by
    inverse class frequency. ``callbacks``: Keras callbacks, run across both phases as one training
    (epochs numbered on from the head phase's). Rerunning with the same ``out`` and settings resumes;
    ``out`` holding a run of another model, classes, size, weights or data is refused unless
    ``overwrite=True``.
    ``export`` may name ``"savedmodel"`` and ``"tflite"`` (:func:`ilsvrc_keras.export`: raw pixels in).
    ``labels``: the ground truth of a flat ``val/`` folder (the raw ILSVRC layout: ``train/<wnid>/`` + ``val/`` +
    ``LOC_val_solution.csv``), as :func:`ilsvrc_keras.train` takes it.
    ``cluster_timeout``: with ``TF_CONFIG`` naming a cluster, seconds to wait for the other workers before
    giving up with an error naming those that never answered.
    ``model=None``: the strongest network whose ImageNet weights are on this machine, else ResNet-50
    (:func:`ilsvrc_keras.discovery.default_model`); the choice is logged and in ``report.json``.

    >>> import ilsvrc_keras
    >>> result = ilsvrc_keras.fine_tune("flowers/", model="mobilenet_0.25_128", out="runs/flowers",
    ...                                 head_lr="find")  # doctest: +SKIP
    >>> result.val_accuracy  # doctest: +SKIP
    0.765
    """
    from .datasets import Augment, open_dataset
    from .training import Trainer
    from .transforms import EvalTransform

    started = time.perf_counter()
    given = locals()
    config = FineTuneConfig(**{f.name: given[f.name] for f in dataclasses.fields(FineTuneConfig)}).validate()
    _check_run(val_fraction, replicas, precision, export, config)
    model, preset, spec = _network(model, weights, image_size)
    dataset = open_dataset(data, val_data, class_names=class_names, val_fraction=val_fraction, seed=seed,
                           labels=labels, data_dir=data_dir)
    names = list(dataset.class_names)
    if len(dataset.val) == 0:
        raise DataError("the validation split is empty; give val_data or more images per class")
    size = int(image_size or preset.size)
    transform = EvalTransform(size, crop_fraction or preset.crop_fraction, preset.normalization, preset.interpolation)
    out = Path(out or Path("runs") / f"{model}-finetuned")
    record = {"run": "fine_tune", "model": model, "classes": names, "image_size": size, "weights": str(weights),
              "data": dataset.fingerprint()}
    check_machine(replicas)  # before the folder is claimed: a refused run leaves nothing
    config.augment = augment if augment is not None else Augment(crop_scale=CROP_SCALE)
    class_weights = class_weights_for(class_weight, dataset.train.labels, names)
    with run_folder(out, record, overwrite, sources=path_sources(data, val_data), lock=chief_task()), \
            Trainer(replicas=replicas, precision=precision, xla=xla, seed=seed,
                    cluster_timeout=cluster_timeout) as trainer:
        net = trainer.build(lambda: build_classifier(model, len(names), weights, size, dropout))
        run = _Phases(trainer, net, dataset, transform, out, config, class_weights)
        phases = run.fit(callbacks)
        history = _history(phases)
        stopped = trainer.interruption.requested and len(phases) < (bool(head_epochs) + bool(epochs))
        if not phases or stopped or any(r.interrupted for r in phases.values()):
            return FineTuneResult(net, names, history, {}, {"out": str(out)}, time.perf_counter() - started, True,
                                  {k: r.to_dict() for k, r in phases.items()})
        kept = _keep_better_phase(net, phases)
        ev = trainer.evaluate(top=min(5, max(1, len(names) - 1)), track_losses=True)
        return _finish(run, ev, spec, model, kept, export, phases, started)


def _check_run(val_fraction, replicas, precision, export, config: FineTuneConfig) -> None:
    """fine_tune's arguments beside its :class:`FineTuneConfig`: the data split, the machine, the exports."""
    from .training.strategy import PRECISIONS

    check("val_fraction", val_fraction)
    check("replicas", replicas, optional=True)
    choice("precision", precision, PRECISIONS, optional=True)
    if config.finds and (replicas or 1) > 1:
        raise ArgumentError("lr='find' probes on one device: give the rates, or leave out replicas")
    unknown = sorted(set(export or ()) - set(EXPORT_FORMATS))
    if unknown:
        raise ArgumentError(f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(EXPORT_FORMATS)}")


def _network(model, weights, image_size):
    """``(name, preset, spec)`` of the network to fine-tune: ``model`` or the default one, its weights' own
    preprocessing (a zoo name or an ``arch.tag``), ``image_size`` checked against its architecture."""
    from .discovery import choose_default_model
    from .presets import get_preset
    from .registry import check_image_size, get_spec, list_models

    model = model or choose_default_model(weights)
    preset = get_preset(model)
    spec = get_spec(preset.arch)
    check_image_size(spec, image_size)
    if preset.weights is not None and preset.arch != model and model in list_models():
        model = preset.name  # a bare "googlenet" means the published GoogLeNet here (googlenet.tv_in1k)
    return model, preset, spec


def _finish(run, ev, spec, model, kept, export, phases, started) -> FineTuneResult:
    """The finished run's deliverables, written while its folder is still locked: the model folder, the
    report and its plots, the exports, ``report.json``."""
    from .evaluation import skipped_items
    from .model_folder import save_folder
    from .serving import export as export_to

    out, net, names, transform = run.out, run.net, list(run.dataset.class_names), run.transform
    report = ev.report(names)
    if "warning" in report:
        logging.getLogger("ilsvrc_keras").warning("warning: %s", report["warning"])
    served = run.trainer.val_split
    losses = named(ev.losses.top(), names, served.paths)
    metrics = {**report, "skipped": skipped_items(run.dataset.val, ev, served),
               "unreadable": [path for path, _ in run.dataset.unreadable],
               "most_confused": most_confused(ev.matrix, names), "top_losses": losses}
    card = {**spec.card(), "fine_tuned_from": model, "classes": names}
    paths = {"out": str(out), **save_folder(out, net, names, transform, card, outputs="logits")}
    paths.update(write_report(out, _history(phases), metrics, names))
    gallery = _top_losses_gallery(out, net, names, transform, losses, served, model)
    if gallery:
        paths["top_losses"] = gallery
    for fmt in export or ():
        # the run folder is this run's: a previous export inside it is replaced
        paths[fmt] = export_to(out, out / EXPORT_NAMES[fmt], format=fmt, overwrite=True)["path"]
    result = FineTuneResult(net, names, _history(phases), metrics, paths, time.perf_counter() - started, False,
                            {k: r.to_dict() for k, r in phases.items()})
    config = run.config
    settings = config.settings(image_size=transform.size, crop_fraction=transform.crop_fraction,
                               augment=dataclasses.asdict(config.augment), **run.rates)
    _write_json(out / "report.json", {**result.summary(), "model": model, "phase_kept": kept, "settings": settings,
                                      "phases": result.phases, **({"lr_find": run.found} if run.found else {})})
    return result


def _top_losses_gallery(out: Path, net, names, transform, losses: list, served, model: str) -> Optional[str]:
    """``top_losses.png``: the validation images the network got most confidently wrong, with the Grad-CAM
    of the class it chose (none when it got none wrong). A picture never costs a finished run."""
    from .inference import Classifier
    from .interpretation import images_of, top_losses_png

    if not losses:
        return None
    try:
        clf = Classifier(net, transform, [(n, n) for n in names], model, outputs="logits")
        return str(top_losses_png(losses, images_of(losses, served), clf, out / "top_losses.png", overwrite=True))
    except Exception as exc:
        logging.getLogger("ilsvrc_keras").warning("could not draw the top losses (%s)", exc)
        return None


class _Phases:
    """The two phases of one fine_tune run: head on the frozen backbone, then the unfrozen network. The
    rates given as ``"find"`` are read off the finder's curve as each phase starts (``rates``: what they
    became, ``found``: the curves' readings)."""

    def __init__(self, trainer, net, dataset, transform, out: Path, config: FineTuneConfig, class_weights):
        self.trainer, self.net, self.dataset, self.transform, self.out = trainer, net, dataset, transform, out
        self.config, self.class_weights = config, class_weights
        self.rates, self.found = {}, {}

    def fit(self, callbacks: Sequence) -> dict:
        """Each phase's RunResult by name. The user's callbacks hear both as one training (one
        CallbackList, epochs numbered on)."""
        import keras

        from .training import Continued

        c, trainer, net = self.config, self.trainer, self.net
        user = keras.callbacks.CallbackList(list(callbacks), add_history=False, add_progbar=False)
        head, whole = c.head_epochs, c.epochs
        phases = {}
        first = Continued(user, 0, begin=True, end=not whole)
        if head:
            freeze(net)
            phases["head"] = trainer.fit(net, self.dataset, self.transform, self._run_config(
                "head", head, self._rate("head_lr"), c.head_optimizer, warmup_epochs=0), [first])
            if first.stopped and whole:  # the user's EarlyStopping (or any callback) ended the training
                user.on_train_end(phases["head"].history[-1] if phases["head"].history else None)
        # A signal during the head phase's last validation stops here too, not one step into the next phase.
        if whole and not (head and phases["head"].interrupted) and not trainer.interruption.requested \
                and not first.stopped:
            _open_backbone(net, c.unfreeze, train_bn=c.train_bn, bn_momentum=c.bn_momentum)
            phases["all"] = trainer.fit(net, self.dataset, self.transform, self._run_config(
                "all", whole, self._rate("lr"), c.optimizer, warmup_epochs=c.warmup_epochs, epoch_offset=head,
                lr_multipliers=discriminative_rates(net, c.lr_mult)),
                [Continued(user, head, begin=not head, end=True)])
        return phases

    def _run_config(self, phase: str, epochs: int, lr: float, optimizer: str, **extra):
        from .training import RunConfig

        c = self.config
        return RunConfig(out=str(self.out), epochs=epochs, lr=lr, optimizer=optimizer, phase=phase,
                         batch_size=c.batch_size, weight_decay=c.weight_decay, momentum=0.9,
                         label_smoothing=c.label_smoothing, seed=c.seed, progress=c.progress, restore_best=True,
                         patience=c.patience, class_weights=self.class_weights, augment=c.augment,
                         schedule="cosine", checkpoint_every=10_000,
                         from_logits=True, **extra)  # build_classifier ends in logits

    def _rate(self, name: str) -> float:
        """The setting ``name``; given as ``"find"``, the learning-rate finder's suggestion on the network
        as it is now (its weights restored after the probe)."""
        c = self.config
        if getattr(c, name) != FIND:
            return getattr(c, name)
        from .training.lr_find import find_rate

        found = find_rate(self.net, self.dataset.train, self.transform, len(self.dataset.class_names),
                          batch_size=c.batch_size, seed=c.seed, augment=c.augment, progress=c.progress,
                          optimizer=c.head_optimizer if name == "head_lr" else c.optimizer,
                          label_smoothing=c.label_smoothing, from_logits=True)
        self.rates[name] = found.suggestion
        self.found[name] = {"suggestion": found.suggestion, "steepest": found.steepest, "minimum": found.minimum,
                            "steps": len(found.lrs)}
        logging.getLogger("ilsvrc_keras").info("%s: %.3g, read off the learning-rate finder's curve (valley)",
                                               name, found.suggestion)
        return found.suggestion


def _history(phases: dict) -> list:
    """Both phases' rows, numbered on across them (``phase_epoch`` keeps each phase's own)."""
    rows = [r for result in phases.values() for r in result.history]
    return [{**r, "epoch": i + 1, "phase_epoch": r["epoch"]} for i, r in enumerate(rows)]


def _keep_better_phase(net, phases: dict) -> str:
    """End with the best weights of all: the head phase's best when it beat the whole network's."""
    if len(phases) < 2 or (phases["all"].best_val_accuracy or 0.0) >= (phases["head"].best_val_accuracy or 0.0):
        return list(phases)[-1]
    net.load_weights(phases["head"].best_weights)
    return "head"


def write_report(out: Path, history: list, metrics: dict, names) -> dict:
    """``history.csv``'s pictures and the validation report's: ``curves.png`` and
    ``confusion_matrix.png`` (a plot never costs a finished run: a failure is a warning)."""
    from .plots import confusion_matrix_png, training_curves

    paths = {"history": str(out / "history.csv"), "report": str(out / "report.json")}
    try:
        paths["curves"] = str(training_curves(history, out / "curves.png"))
        paths["confusion_matrix"] = str(confusion_matrix_png(np.array(metrics["confusion_matrix"]), names,
                                                             out / "confusion_matrix.png"))
    except Exception as exc:  # a plot must never cost a finished run
        logging.getLogger("ilsvrc_keras").warning("could not draw the report plots (%s)", exc)
    return paths


def _write_json(path: Path, obj) -> None:
    from .files import write_atomic

    # Settings may hold numpy numbers (class weights computed by the caller): written as plain numbers.
    write_atomic(path, json.dumps(obj, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
