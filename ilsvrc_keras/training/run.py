"""``train``: a zoo network trained on any dataset :func:`ilsvrc_keras.datasets.open_dataset`
reads, by the :class:`~ilsvrc_keras.training.Trainer`, ending in a model folder that
:func:`ilsvrc_keras.load` classifies with.

Output folder: ``history.csv`` (one row per epoch), ``tensorboard/``, ``checkpoints/``,
``model.keras`` with ``labels.json`` and ``preprocessing.json``, ``summary.json`` and
``curves.png``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional, Sequence

from ..checks import check, choice
from ..errors import ArgumentError
from ..files import path_sources, run_folder, write_atomic
from .strategy import PRECISIONS, check_machine, chief_task
from .trainer import RunConfig, RunResult, Trainer


def train(data, model: str, out, *, epochs: int = 10, batch_size: int = 128, image_size: Optional[int] = None,
          weights=None, val_data=None, val_fraction: float = 0.2, labels=None, seed: int = 0, data_dir=None, manual_dir=None,
          callbacks: Sequence = (), overwrite: bool = False, model_options: Optional[dict] = None,
          **options) -> RunResult:
    """Train a zoo network on a class-per-folder dataset, the raw ILSVRC layout, TFRecord shards,
    a TFDS dataset, arrays or a ``tf.data.Dataset`` (:func:`ilsvrc_keras.datasets.open_dataset`),
    validating on ``val_data`` or on ``val_fraction`` of ``data`` held out (0: no validation).

    ``options`` are :class:`RunConfig` fields (``lr``, ``optimizer``, ``schedule``,
    ``warmup_epochs``, ``label_smoothing``, ``augment``, ``progressive_from``, ...) and the
    :class:`Trainer`'s (``replicas``, ``xla``, ``precision``). ``model_options``: the network builder's own
    (:func:`ilsvrc_keras.create_model`'s keyword arguments: ``dropout``, a ResNet's ``activation="mish"`` and
    ``stem_pool="maxblur"``, ...), recorded in ``run.json`` and the card. ``callbacks``: Keras callbacks,
    run with the built-in ones. Rerunning with the same ``out`` and settings resumes; ``out`` holding
    a run of another model, classes, size, weights or data is refused unless ``overwrite=True``
    (``run.json`` records them). Returns the
    :class:`RunResult` (``result.to_dict()`` is also written to ``summary.json``).

    >>> import ilsvrc_keras
    >>> result = ilsvrc_keras.train("flowers/", "resnet18", "runs/r18", epochs=30, image_size=96,
    ...                             batch_size=64, lr=0.2, warmup_epochs=2)  # doctest: +SKIP
    >>> result.val_accuracy  # doctest: +SKIP
    0.8
    """
    from ..datasets import open_dataset
    from ..registry import check_image_size, get_spec, list_models
    from ..transforms import EvalTransform
    from ..zoo import builder_options, create_model

    if isinstance(data, str) and data in list_models() and not (isinstance(model, str) and model in list_models()):
        raise ArgumentError(f"train takes the data first, as fine_tune and evaluate do: train(data, model, out); "
                            f"got train({data!r}, {model!r}, ...)")
    spec = get_spec(model)
    check("epochs", epochs)
    if epochs == 0:
        raise ArgumentError("epochs is 0: nothing would be trained")
    check_image_size(spec, image_size)
    machine = {k: options.pop(k) for k in ("replicas", "xla", "precision", "cluster_timeout") if k in options}
    find = options.get("lr") == "find"  # read off the learning-rate finder's curve once the network is built
    if find:
        options["lr"] = None
        if (machine.get("replicas") or 1) > 1:
            raise ArgumentError("lr='find' probes on one device: give the rate, or leave out replicas")
    check("replicas", machine.get("replicas"), optional=True)
    choice("precision", machine.get("precision"), PRECISIONS, optional=True)
    # The network is built to end in logits below (classifier_activation=None): declared, not measured.
    config = RunConfig(out=str(out), epochs=epochs, batch_size=batch_size, seed=seed, from_logits=True, **options)
    config.validate()
    dataset = open_dataset(data, val_data, val_fraction=val_fraction, seed=seed, labels=labels, data_dir=data_dir,
                           manual_dir=manual_dir)
    size = int(image_size or spec.input_size)
    transform = EvalTransform(size, spec.crop_fraction, spec.preprocessing)
    check_machine(machine.get("replicas"))  # before the folder is claimed: a refused run leaves nothing
    unknown = sorted(set(model_options or {}) - set(builder_options(spec)))
    if unknown:
        raise ArgumentError(f"{model} has no option {', '.join(unknown)}; its options: "
                            f"{', '.join(sorted(builder_options(spec))) or 'none'}")
    record = {"run": "train", "model": model, "classes": list(dataset.class_names), "image_size": size,
              **({"model_options": dict(model_options)} if model_options else {}),
              "weights": str(weights) if weights else None, "data": dataset.fingerprint()}
    extra = {**({"aux_logits": True} if model == "googlenet" and config.aux_weight > 0 else {}),
             **(model_options or {})}
    # Under progressive resizing one network takes every size of the run.
    shape = (None, None, 3) if config.progressive_from else (size, size, 3)
    with run_folder(out, record, overwrite, sources=path_sources(data, val_data), lock=chief_task()), \
            Trainer(seed=seed, **machine) as trainer:
        # Logits: the loss folds the softmax in; the model folder records it (load() applies it).
        net = trainer.build(lambda: create_model(model, weights=weights, num_classes=len(dataset.class_names),
                                                 input_shape=shape, classifier_activation=None, **extra))
        found = _find_lr(net, dataset, transform, config) if find else None
        result = trainer.fit(net, dataset, transform, config, callbacks)
        result.lr_find = found
        result.unreadable, result.unlabeled = list(dataset.unreadable), list(dataset.unlabeled)
        card = {**spec.card(), "trained_on": str(data), "image_size": size,
                **({"model_options": dict(model_options)} if model_options else {})}
        finish_run(result, dataset.class_names, transform, card, trainer, config)
    return result


def _find_lr(net, dataset, transform, config: RunConfig) -> dict:
    """``config.lr`` set to the learning-rate finder's suggestion for this network on this data (its weights
    restored after the probe); what the finder read, for ``summary.json``."""
    from .lr_find import find_rate

    found = find_rate(net, dataset.train, transform, len(dataset.class_names), batch_size=config.batch_size,
                      seed=config.seed, augment=config.augment, progress=config.progress, optimizer=config.optimizer,
                      label_smoothing=config.label_smoothing, from_logits=True)
    config.lr = found.suggestion
    logging.getLogger("ilsvrc_keras").info("lr: %.3g, read off the learning-rate finder's curve (valley)", config.lr)
    return {"suggestion": found.suggestion, "steepest": found.steepest, "minimum": found.minimum,
            "steps": len(found.lrs)}


def finish_run(result: RunResult, class_names, transform, card: dict, trainer: Trainer, config: RunConfig) -> None:
    """The run's deliverables: the model folder (unless interrupted), the curves, ``summary.json``.
    Non-chief workers write theirs beside their checkpoints."""
    from ..model_folder import save_folder

    out = Path(result.out) if trainer.chief else trainer.checkpoint_dir(config)
    out.mkdir(parents=True, exist_ok=True)
    if not result.interrupted:
        save_folder(out, result.model, class_names, transform, card,
                    outputs="logits" if config.from_logits is not False else "probabilities")
        try:
            from ..plots import training_curves

            result.curves = str(training_curves(result.history, out / "curves.png"))
        except Exception as exc:  # a plot must never cost a finished run
            logging.getLogger("ilsvrc_keras").warning("could not draw the training curves (%s)", exc)
    write_atomic(out / "summary.json", json.dumps(result.to_dict(), indent=2))
