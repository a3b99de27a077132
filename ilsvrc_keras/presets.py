"""The zoo's presets by name: every set of published weights (:mod:`ilsvrc_keras.preset_table`) registered
as a :class:`~ilsvrc_keras.preset.Preset`, and :func:`get_preset`, which takes a zoo name (its default
preset), ``arch.tag`` (``"resnet50.keras_in1k"``) or a model folder (:mod:`ilsvrc_keras.model_folder`).
:func:`ilsvrc_keras.load` opens any of them through it. Adding a second set of weights for an
architecture is one row of the table, or one :func:`register_preset`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from .errors import IlsvrcKerasError, UnknownModelError
from .model_folder import MODEL_FILE, is_model_folder, read_folder
from .preset import Preset, WeightsSource  # noqa: F401  (the types the zoo's presets are made of)
from .preset_table import zoo_presets
from .registry import get_spec, list_models

# --- the zoo's presets -------------------------------------------------------------------------------------

_PRESETS: dict[str, Preset] = {}
_DEFAULT: dict[str, str] = {}  # arch -> the preset its bare name means


def register_preset(preset: Preset, default: bool = False) -> Preset:
    """Add a zoo preset (``arch.tag``); the first of an architecture (or ``default=True``) is what the
    bare architecture name means."""
    get_spec(preset.arch)  # the architecture must exist
    if preset.name in _PRESETS:
        raise ValueError(f"preset {preset.name!r} registered twice")
    _PRESETS[preset.name] = preset
    if default or preset.arch not in _DEFAULT:
        _DEFAULT[preset.arch] = preset.name
    return preset


def list_presets(arch: Optional[str] = None) -> list[str]:
    """The zoo's presets (``arch.tag``), oldest architecture first. ``arch``: those that build it, and
    those its publisher names after it (``resnet50.tv_in1k`` builds ``resnet50b``).

    >>> from ilsvrc_keras.presets import list_presets
    >>> list_presets("resnet50")
    ['resnet50.keras_in1k', 'resnet50.tv2_in1k', 'resnet50.tv_in1k']
    """
    order = {name: i for i, name in enumerate(list_models())}
    names = [n for n, p in _PRESETS.items() if arch is None or p.arch == arch or n.startswith(f"{arch}.")]
    return sorted(names, key=lambda n: (order.get(_PRESETS[n].arch, 0), n))


def imagenet_preset(arch: str) -> Optional[Preset]:
    """The default preset of ``arch``, or None where no weights are published for it."""
    name = _DEFAULT.get(arch)
    return _PRESETS[name] if name else None


def zoo_preset(name: str) -> tuple[Optional[Preset], str]:
    """``(preset, architecture)`` of a zoo name (its default preset, None where none is published) or of a
    zoo preset ``arch.tag``; any other name raises :class:`UnknownModelError` with the closest names.

    >>> from ilsvrc_keras.presets import zoo_preset
    >>> zoo_preset("resnet50.tv2_in1k")[1]
    'resnet50b'
    """
    key = os.fspath(name)
    if key in list_models():
        return imagenet_preset(key), key
    if key in _PRESETS:
        return _PRESETS[key], _PRESETS[key].arch
    arch, _, tag = key.partition(".")
    if tag and arch in list_models():
        raise UnknownModelError(f"{arch} has no preset {tag!r}; its presets: "
                                f"{', '.join(list_presets(arch)) or 'none (no weights are published for it)'}")
    get_spec(key)  # raises UnknownModelError with the closest names
    raise AssertionError("unreachable")  # pragma: no cover


def published_under(arch: str) -> Optional[Preset]:
    """The published preset named after ``arch`` that builds another architecture, for an architecture
    with no weights of its own: torchvision's AlexNet (``alexnet.tv_in1k``, the 2014 "One weird trick"
    network) for ``alexnet``, its GoogLeNet with batch normalization for ``googlenet``. What a user who
    asks :func:`ilsvrc_keras.load` for "googlenet" wants to see with; ``create_model`` still builds the paper's."""
    names = [n for n in list_presets() if n.startswith(f"{arch}.") and _PRESETS[n].arch != arch]
    return _PRESETS[names[0]] if names else None


def preset_for_file(path) -> Optional[Preset]:
    """The zoo preset whose weights file (with or without its top) has ``path``'s name, if any."""
    name = Path(path).name
    for preset in _PRESETS.values():
        if preset.weights and name in (preset.weights.file_name, preset.weights.notop_file_name):
            return preset
    return None


def get_preset(name) -> Preset:
    """A zoo name (its default preset), ``arch.tag``, or a model folder -> its :class:`Preset`.
    A zoo architecture without published weights has a preset with ``weights=None`` (its paper's
    preprocessing): random weights, or weights you give."""
    key = os.fspath(name)
    if key in _PRESETS:
        return _PRESETS[key]
    if is_model_folder(key):
        return read_folder(key)
    arch, _, tag = key.partition(".")
    zoo_name = key in list_models() or (tag and arch in list_models())
    if not zoo_name and (os.path.sep in key or os.path.exists(key)):
        raise IlsvrcKerasError(f"{key}: not a model folder (no {MODEL_FILE} inside)")
    preset, arch = zoo_preset(key)  # an unknown tag or name raises with what there is
    return preset or published_under(arch) or _untrained(arch)


def _untrained(arch: str) -> Preset:
    spec = get_spec(arch)
    return Preset(arch, "untrained", spec.input_size, spec.crop_fraction, spec.preprocessing)


for _preset, _default in zoo_presets():
    register_preset(_preset, _default)
