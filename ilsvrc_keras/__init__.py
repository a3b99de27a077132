"""ilsvrc_keras: the ILSVRC milestone networks in Keras 3, with ImageNet evaluation,
localization, training and fine-tuning.

The public API is imported lazily so that ``import ilsvrc_keras`` (and the CLI's ``--help``)
does not pay TensorFlow's start-up time until a function that needs it is called.

>>> import ilsvrc_keras
>>> "resnet50" in ilsvrc_keras.list_models()
True
"""

import os

from ._lazy import exports

# Keep TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) off users' terminals.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

_EXPORTS = {
    "list_models": "registry",
    "get_spec": "registry",
    "ModelSpec": "registry",
    "create_model": "zoo",
    "get_preset": "presets",
    "list_presets": "presets",
    "Preset": "presets",
    "export": "serving",
    "load": "inference",
    "classify": "inference",
    "available_models": "discovery",
    "ModelChoice": "discovery",
    "Classifier": "inference",
    "Prediction": "labels",
    "evaluate": "evaluation",
    "localize": "localization",
    "train": "training",
    "Trainer": "training",
    "RunConfig": "training",
    "RunResult": "training",
    "open_dataset": "datasets",
    "fine_tune": "finetune",
    "FineTuneResult": "finetune",
    "lr_find": "finetune",
    "Localization": "localization",
    "load_image": "images",
    "IlsvrcKerasError": "errors",
    "ArgumentError": "errors",
    "ImageError": "errors",
    "UnknownModelError": "errors",
    "WeightsNotFoundError": "errors",
    "WeightsError": "errors",
    "DataError": "errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = exports(__name__, _EXPORTS)
