"""What this machine has, and which network to use when none is named: the zoo's weights files found
here (:func:`weights_report`, :func:`download_weights`), the models :func:`ilsvrc_keras.load` can open
(:func:`available_models`) and the default network (:func:`default_model`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Optional, Sequence, Union

from .errors import IlsvrcKerasError, WeightsNotFoundError
from .model_folder import is_model_folder
from .preset import Preset
from .presets import get_preset, imagenet_preset, list_presets, preset_for_file
from .registry import get_spec
from .weights import find_local_weights, hash_matches, is_offline, resolve_imagenet_weights

MODELS_DIR_ENV = "ILSVRC_KERAS_MODELS_DIR"

DOWNLOAD_DEFAULT = "resnet50"  # a strong network keras can download: 22.9% top-1 error (10-crop)
EMBEDDED_DEFAULT = "mobilenet_0.25_128"  # its weights are inside the package (weights/embedded)


def strength(preset: Preset) -> float:
    """How good a zoo preset is, for choosing among them: its publisher's top-1 accuracy, else its
    architecture's paper's (100 - reported top-1 error), else 0."""
    if preset.published_top1:
        return float(preset.published_top1)
    spec = get_spec(preset.arch)
    return (100.0 - spec.reported_top1_error) / 100 if spec.reported_top1_error is not None else 0.0


def user_name(preset: Preset) -> str:
    """The shortest name that means ``preset``: its architecture's where it is that architecture's default."""
    return preset.arch if imagenet_preset(preset.arch) is preset else preset.name


def default_model(offline: Optional[bool] = None) -> tuple[str, str]:
    """``(zoo name or preset, why)``: the strongest preset whose ImageNet weights are on this machine (highest
    published top-1); where none is, ResNet-50, which keras downloads, or, with downloads off, the
    MobileNet-0.25 inside the package. ``fine_tune``, ``classify`` and the CLI use it when no model is named,
    and say which it was.

    >>> from ilsvrc_keras.discovery import default_model
    >>> default_model()  # doctest: +SKIP
    ('resnet50b', 'the strongest network whose ImageNet weights are on this machine')
    """
    local = [get_preset(n) for n in list_presets()
             if any(find_local_weights(get_preset(n), top, embedded=False) is not None for top in (True, False))]
    if local:
        return user_name(max(local, key=strength)), "the strongest network whose ImageNet weights are on this machine"
    if is_offline() if offline is None else offline:
        return EMBEDDED_DEFAULT, ("no ImageNet weights are on this machine and downloads are off: the network "
                                  "inside the package")
    return DOWNLOAD_DEFAULT, "no ImageNet weights are on this machine; keras downloads them"



def choose_default_model(weights=None) -> str:
    """The default network's zoo name, said on the ``ilsvrc_keras`` logger (the CLI shows it). A weights
    file belongs to one network: keras' file names say which (``mobilenet_2_5_128_tf.h5``); any other
    file needs the network named."""
    if weights not in (None, "imagenet"):
        owner = preset_for_file(weights)
        if owner is None:
            raise IlsvrcKerasError(f"weights {weights} given without the network they belong to: name it with "
                                   "--model / model=")
        name, why = user_name(owner), f"the network whose ImageNet weights file {Path(weights).name} is"
    else:
        name, why = default_model()
    logging.getLogger("ilsvrc_keras").info("model: %s (%s; name another with --model / model=)", name, why)
    return name


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    """A model :func:`load` can open on this machine, as listed by :func:`available_models`.

    ``key`` is what :func:`load` takes (a registry name or a model folder's path); ``source`` is
    ``"local"`` (ImageNet weights on this machine), ``"download"`` (keras would fetch them) or
    ``"folder"`` (a model folder written by :func:`ilsvrc_keras.fine_tune` or ``train``).
    """

    key: str
    title: str
    source: str
    card: dict
    weights: Optional[str] = None


def _model_folders(dirs) -> list[Path]:
    found = []
    for d in dirs:
        d = Path(d).expanduser()
        if is_model_folder(d):
            found.append(d)
        elif d.is_dir():
            found += sorted(p for p in d.iterdir() if is_model_folder(p))
    return found


def _folder_choice(folder: Path) -> Optional[ModelChoice]:
    try:
        preset = get_preset(folder)
    except (OSError, IlsvrcKerasError):
        return None  # a half-written or foreign folder is not offered
    card = preset.card()
    base = card.get("fine_tuned_from") or card.get("family") or "trained"
    return ModelChoice(str(folder), f"{folder.name} ({base}, {len(preset.labels)} classes)", "folder", card)


def available_models(models_dirs: Sequence[Union[str, os.PathLike]] = (),
                     offline: Optional[bool] = None) -> list[ModelChoice]:
    """The models :func:`load` can open here, best first.

    Registry networks whose ImageNet weights are on this machine (``$ILSVRC_KERAS_WEIGHTS_DIR`` or
    keras' cache) come first, most accurate (lowest reported top-1 error) first; then model
    folders found in ``models_dirs`` and ``$ILSVRC_KERAS_MODELS_DIR`` (``os.pathsep``-separated;
    a folder of model folders or one model folder); then, unless offline (``offline=None`` reads
    ``$ILSVRC_KERAS_OFFLINE``), networks whose weights keras would download. The first entry is
    therefore the best choice that works without a download.

    >>> import ilsvrc_keras
    >>> [c.key for c in ilsvrc_keras.available_models(offline=True)]  # doctest: +SKIP
    ['mobilenet_0.25_128']
    """
    offline = is_offline() if offline is None else offline
    local, remote = [], []
    for preset in sorted((get_preset(n) for n in list_presets()), key=strength, reverse=True):
        card, key = preset.card(), user_name(preset)
        year = get_spec(preset.arch).year
        title = f"{key} ({year}, {strength(preset):.1%} top-1)" if strength(preset) else f"{key} ({year})"
        path = find_local_weights(preset)
        if path is not None:
            local.append(ModelChoice(key, title, "local", card, str(path)))
        elif not offline:
            remote.append(ModelChoice(key, title + " - download", "download", card))
    env_dirs = [d for d in os.environ.get(MODELS_DIR_ENV, "").split(os.pathsep) if d]
    folders = [c for c in map(_folder_choice, _model_folders([*models_dirs, *env_dirs])) if c is not None]
    return local + folders + remote


def weights_report(names=None, check_hash: bool = True) -> list[dict]:
    """Each zoo preset's weights file (``names``: presets or zoo names; default: all): where it comes from,
    whether it is on this machine, its size, and whether it has its publisher's hash (``None`` where the
    publisher states none). What ``ilsvrc-keras weights list`` prints.

    >>> from ilsvrc_keras.discovery import weights_report
    >>> [r["preset"] for r in weights_report(["resnet18"])]
    ['resnet18.tv_in1k']
    """
    rows = []
    for name in names or list_presets():
        preset = get_preset(name)
        if preset.weights is None or preset.folder:
            raise WeightsNotFoundError(f"{name}: no published weights file (see ilsvrc-keras models)")
        path = find_local_weights(preset)
        rows.append({"preset": preset.name, "arch": preset.arch, "publisher": preset.weights.publisher,
                     "file_name": preset.weights.file_name, "url": preset.weights.url,
                     "hash": preset.weights.file_hash, "path": str(path) if path else None,
                     "size": path.stat().st_size if path else None,
                     "hash_ok": hash_matches(path, preset.weights.file_hash) if path and check_hash else None})
    return rows


def download_weights(names) -> list[dict]:
    """Fetch the weights files of ``names`` (presets or zoo names) into keras' cache for later offline use,
    each checked against its publisher's hash; a file already here is not fetched again.
    What ``ilsvrc-keras weights download`` runs."""
    done = []
    for name in names:
        preset = get_preset(name)
        if preset.weights is None or preset.folder:
            raise WeightsNotFoundError(f"{name}: no published weights file to download (see ilsvrc-keras models)")
        was_here = find_local_weights(preset) is not None
        path = resolve_imagenet_weights(preset)
        done.append({"preset": preset.name, "path": str(path), "size": path.stat().st_size,
                     "downloaded": not was_here})
    return done
