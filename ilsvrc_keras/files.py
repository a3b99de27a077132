"""Files a run writes: whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: a reader (or a killed run)
    never sees half a file."""
    save_atomic(path, lambda tmp: Path(tmp).write_text(text))


# Image formats an overlay or a plot can be written as (Pillow's writers, by file extension).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def image_output(path) -> Path:
    """``path`` checked as a place to write a picture, before any work is done: an image extension
    (:data:`IMAGE_EXTENSIONS`), not a folder, in a folder that exists or can be made and can be
    written. A bad one is one :class:`~ilsvrc_keras.IlsvrcKerasError` naming it and the fault.

    >>> image_output("overlay.png").name
    'overlay.png'
    """
    from .errors import IlsvrcKerasError

    path = Path(path)
    if path.is_dir():
        raise IlsvrcKerasError(f"{path} is a folder; name the image file to write (e.g. {path / 'overlay.png'})")
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise IlsvrcKerasError(f"{path}: the file name must end in an image extension "
                               f"({', '.join(IMAGE_EXTENSIONS)}), not {path.suffix or 'nothing'!r}")
    writable_folder(path.parent if str(path.parent) else ".")
    if path.exists() and not os.access(path, os.W_OK):
        raise IlsvrcKerasError(f"cannot write {path}: the file is read-only")
    return path


def save_atomic(path, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file over ``path``: a killed run leaves the
    old file or the new one, never half of one. The temporary name keeps the extension (image and
    plot writers choose the format from it, Keras wants ``.weights.h5``)."""
    path = Path(path)
    tmp = path.with_name(f".tmp{os.getpid()}.{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def writable_folder(folder) -> Path:
    """``folder``, created if need be; a file there, or a place that cannot be written, is one
    :class:`~ilsvrc_keras.IlsvrcKerasError` before any work is done."""
    from .errors import IlsvrcKerasError

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise IlsvrcKerasError(f"{folder} is a file; the output must be a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IlsvrcKerasError(f"cannot create the output folder {folder}: {exc.strerror}") from None
    # Try it: permission bits say nothing to root, nor of read-only mounts and pseudo file systems.
    import tempfile

    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as exc:
        raise IlsvrcKerasError(f"cannot write in the output folder {folder}: {exc.strerror}") from None
    return folder


RUN_FILE = "run.json"
# What a run folder holds besides run.json: removed by overwrite=True, never anything else.
RUN_OUTPUTS = ("checkpoints", "tensorboard", "history.csv", "summary.json", "report.json", "curves.png",
               "confusion_matrix.png", "model.keras", "labels.json", "preprocessing.json", "savedmodel",
               "model.tflite", "model.labels.json", "model.onnx", "run.json")


def claim_run_folder(out, record: dict, overwrite: bool = False) -> Path:
    """Make ``out`` the folder of the run described by ``record`` (model, classes, image size, data
    fingerprint...). A rerun with the same record resumes there; a folder holding another run (or
    outputs of an unknown one) is refused with what differs, unless ``overwrite``, which removes that
    run's outputs first. Unwritable places fail here, before any model is built."""
    import json
    import shutil

    from .errors import IlsvrcKerasError

    out = writable_folder(out)
    record = json.loads(json.dumps(record, default=str))  # as it will read back
    path = out / RUN_FILE
    previous = None
    if path.is_file():
        try:
            previous = json.loads(path.read_text())
        except ValueError:
            previous = {"unreadable": str(path)}
    elif any((out / name).exists() for name in RUN_OUTPUTS):
        previous = {"unknown": "outputs of a run that did not record its settings"}
    if previous is not None and previous != record:
        if not overwrite:
            differs = sorted(k for k in set(previous) | set(record) if previous.get(k) != record.get(k))
            shown = "; ".join(f"{k}: {_short(previous.get(k))} there, {_short(record.get(k))} now" for k in differs)
            raise IlsvrcKerasError(f"{out} holds another run ({shown}); choose another folder, or pass --overwrite / "
                                   "overwrite=True to replace it")
        for name in RUN_OUTPUTS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    write_atomic(path, json.dumps(record, indent=2))
    return out


def _short(value) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
