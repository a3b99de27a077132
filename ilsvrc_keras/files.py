"""Files a run writes: whole or not at all."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import IlsvrcKerasError


def disk_full(exc, where, last=None):
    """An :class:`~ilsvrc_keras.IlsvrcKerasError` in the user's words when ``exc`` (an ``OSError`` or a
    TensorFlow error) says the disk is full (errno ENOSPC, or TensorFlow's "No space left"); else None.
    ``last``: the last complete checkpoint, which survives."""
    import errno
    import shutil

    full = getattr(exc, "errno", None) == errno.ENOSPC or "no space left" in str(exc).lower()
    if not full:
        return None
    target = Path(getattr(exc, "filename", None) or where)
    folder = target if target.is_dir() else target.parent
    try:
        free = f" ({shutil.disk_usage(folder).free / 1e6:.0f} MB free)"
    except OSError:
        free = ""
    tail = f"; the last complete checkpoint is {last}" if last else ""
    return IlsvrcKerasError(f"no space left on the disk of {folder}{free} while writing {target}{tail}; free some "
                            "space and rerun the same command")


def write_atomic(path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename: a reader (or a killed run)
    never sees half a file."""
    save_atomic(path, lambda tmp: Path(tmp).write_text(text))


# Image formats an overlay or a plot can be written as (Pillow's writers, by file extension).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


# What this package writes in the pictures it makes (PNG "Software" text, JPEG comment): the mark that lets a
# later run replace them, with --overwrite, and never a picture of the user's.
IMAGE_MARK = "ilsvrc-keras overlay"


def marked_image(path) -> bool:
    """Whether the picture at ``path`` carries :data:`IMAGE_MARK` (this package wrote it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            mark = im.info.get("Software") or im.info.get("comment") or b""
    except (OSError, UnidentifiedImageError, ValueError):
        return False
    return (mark.decode("utf8", "replace") if isinstance(mark, bytes) else str(mark)) == IMAGE_MARK


def image_output(path, *, sources=(), overwrite=None) -> Path:
    """``path`` checked as a place to write a picture, before any work is done: an image extension
    (:data:`IMAGE_EXTENSIONS`), not a folder, in a folder that exists or can be made and can be
    written. A bad one is one :class:`~ilsvrc_keras.IlsvrcKerasError` naming it and the fault.
    With ``overwrite`` given (a user's ``--out``), an existing file is replaced only if this package
    made it (:func:`marked_image`) and ``overwrite`` is true, and never one of ``sources``.

    >>> image_output("overlay.png").name
    'overlay.png'
    """

    path = Path(path)
    if path.is_dir():
        raise IlsvrcKerasError(f"{path} is a folder; name the image file to write (e.g. {path / 'overlay.png'})")
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise IlsvrcKerasError(f"{path}: the file name must end in an image extension "
                               f"({', '.join(IMAGE_EXTENSIONS)}), not {path.suffix or 'nothing'!r}")
    if overwrite is not None:
        check_output(path, "overlay", ours=marked_image(path), sources=sources, overwrite=overwrite, folder=False)
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
               "model.tflite", "model.labels.json", "model.onnx", "workers", "top_losses.png", "run.json")


@contextlib.contextmanager
def run_folder(out, record: dict, overwrite: bool = False, sources=(), lock: bool = True):
    """``out`` claimed for the run described by ``record`` (:func:`claim_run_folder`) and locked while the
    block runs: a second run into the same folder is refused by name while the first lives (an exclusive
    ``flock`` on the folder itself, released when the process ends however it ends). A run that fails before
    writing anything but its ``run.json`` takes that file back, and the folder if it made it: a refused run
    leaves nothing behind. ``lock=False`` for a cluster's non-chief workers, which share the chief's folder.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with run_folder(out, {"run": "demo"}):  # doctest: +ELLIPSIS
    ...     with run_folder(out, {"run": "demo"}):
    ...         pass
    Traceback (most recent call last):
    ilsvrc_keras.errors.IlsvrcKerasError: ... is in use by another run ...
    """
    check_output(out, "run", ours=True, sources=sources, overwrite=True)  # names, files, sources: nothing written
    out = Path(out)
    made = [p for p in (out, *out.parents) if not p.exists()]  # the folders this run makes, deepest first
    had_record = (out / RUN_FILE).exists()
    handle = _lock(out) if lock else None
    try:
        yield claim_run_folder(out, record, overwrite, sources)
    except BaseException:
        if not had_record:
            _take_back(out, made)
        raise
    finally:
        if handle is not None:
            os.close(handle)


def _lock(out: Path):
    import errno
    import fcntl

    writable_folder(out)
    handle = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(handle)
        if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
            raise IlsvrcKerasError(f"{out} is in use by another run that is still going; wait for it to end, or "
                                   "choose another folder (nothing was changed)") from None
        return None  # a file system without locks (some network mounts): the run goes on unlocked
    return handle


def _take_back(out: Path, made: list) -> None:
    """Remove what a run that wrote nothing else left: its run.json, its empty output folders, and the
    folders the run made. Anything else in ``out`` (a user's files, given overwrite) stays."""
    try:
        ours = [p for p in out.iterdir() if p.name in RUN_OUTPUTS]
        if any((p.is_file() and p.name != RUN_FILE) or (p.is_dir() and any(q.is_file() for q in p.rglob("*")))
               for p in ours):
            return  # the run got as far as writing: its files stay (a rerun resumes from them)
        for p in ours:
            for q in sorted(p.rglob("*"), reverse=True) if p.is_dir() else ():
                q.rmdir()
            p.rmdir() if p.is_dir() else p.unlink()
        for folder in made:
            folder.rmdir()
    except OSError:
        pass  # something appeared meanwhile, or the folder holds a user's files: they stay


def claim_run_folder(out, record: dict, overwrite: bool = False, sources=()) -> Path:
    """Make ``out`` the folder of the run described by ``record`` (model, classes, image size, data
    fingerprint...). A rerun with the same record resumes there. A folder holding another run of this
    package (its ``run.json`` says so) is refused with what differs, unless ``overwrite``, which removes
    that run's outputs (:data:`RUN_OUTPUTS`) and nothing else. A non-empty folder that is not a run folder
    is refused unless ``overwrite``, and even then nothing in it is touched: a file there with the name of
    one of the run's outputs is refused by name. ``sources`` (the data the run reads) cannot be ``out`` or
    inside it. Unwritable places fail here, before any model is built."""
    import json
    import shutil

    check_output(out, "run", ours=True, sources=sources, overwrite=True)  # names, files, sources
    out = Path(out)
    path = out / RUN_FILE
    record = json.loads(json.dumps({**written_by("run"), **record}, default=str))  # as it will read back
    previous = None
    if path.is_file():
        try:
            previous = json.loads(path.read_text())
        except ValueError:
            previous = {"unreadable": str(path)}
    elif out.is_dir() and any(out.iterdir()):
        clashes = sorted(name for name in RUN_OUTPUTS if (out / name).exists())
        if not overwrite:
            raise IlsvrcKerasError(f"{out} is not empty and is not a run folder of this package (no {RUN_FILE}); "
                                   "choose a new folder, or pass --overwrite / overwrite=True to write the run's "
                                   "files among its own (none of them is touched)")
        if clashes:
            raise IlsvrcKerasError(f"{out} holds {', '.join(clashes)}, which this run would write over but did not "
                                   "write itself; choose a new folder (nothing was changed)")
    out = writable_folder(out)
    same = previous is not None and _settings(previous) == _settings(record)
    if previous is not None and not same and is_record_of_a_run(previous):
        if not overwrite:
            differs = sorted(k for k in set(previous) | set(record) if previous.get(k) != record.get(k))
            shown = "; ".join(f"{k}: {_short(previous.get(k))} there, {_short(record.get(k))} now" for k in differs)
            raise IlsvrcKerasError(f"{out} holds another run ({shown}); choose another folder, or pass --overwrite / "
                                   "overwrite=True to replace it")
        for name in RUN_OUTPUTS:  # the previous run's own outputs, by name: nothing else in the folder
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    elif previous is not None and not same:
        raise IlsvrcKerasError(f"{path} is not a run record of this package; choose a new folder (nothing was "
                               "changed)")
    write_atomic(path, json.dumps(record, indent=2))
    return out


def is_record_of_a_run(record) -> bool:
    """Whether a ``run.json``'s content is a run of this package (marked, or from before the marker)."""
    return isinstance(record, dict) and bool(record.get(WRITTEN_BY) or "run" in record)


def is_run_folder(folder) -> bool:
    """Whether ``folder`` is a run folder of this package (its ``run.json`` says so)."""
    import json

    try:
        return is_record_of_a_run(json.loads((Path(folder) / RUN_FILE).read_text()))
    except (OSError, ValueError):
        return False


def _settings(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != WRITTEN_BY}  # run folders from before the marker resume too


def _short(value) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- outputs that cannot destroy ----------------------------------------------------------------------------

# The key every output of this package carries in its own JSON (an export's labels.json, a model folder's
# preprocessing.json, a run's run.json, prepared shards' dataset.json): "written_by": "ilsvrc-keras <kind>".
WRITTEN_BY = "written_by"


def written_by(kind: str) -> dict:
    return {WRITTEN_BY: f"ilsvrc-keras {kind}"}


def marked_as(json_path, kind: str) -> bool:
    """Whether ``json_path`` is this package's record of an output of ``kind``."""
    import json

    try:
        return json.loads(Path(json_path).read_text("utf8")).get(WRITTEN_BY) == f"ilsvrc-keras {kind}"
    except (OSError, ValueError, AttributeError):
        return False


def check_output(path, kind: str, *, ours: bool, sources=(), overwrite: bool = False, folder: bool = True,
                 inside_source: bool = True) -> Path:
    """``path`` checked as the target of an output of ``kind`` before any work is done, so that no command
    removes or overwrites a byte it did not write:

    - a name that cannot be an output (``.``, ``..``, ``/``, a file where a folder goes or the reverse) is refused;
    - a target that is one of ``sources`` (what the command reads) or holds one is refused (and one inside a
      source, unless ``inside_source``: an export inside its model folder is fine, shards inside the dataset
      they are made from are not);
    - an existing target is replaced only if ``ours`` (its own marker says it is a previous output of the
      same kind) and ``overwrite``; an empty folder is taken as it is; anything else is refused by name.

    The caller then writes aside and moves into place (:func:`replace_with`).
    """

    path = Path(path)
    if path.name in ("", ".", "..") or str(path) in ("/", os.sep):
        raise IlsvrcKerasError(f"{str(path)!r} cannot be the {kind} output: name a new "
                               f"{'folder' if folder else 'file'} (e.g. {kind.replace(' ', '-')}-out)")
    resolved = path.resolve()
    for source in sources:
        src = Path(source).resolve()
        if resolved == src or resolved in src.parents:
            what = "is" if resolved == src else "holds"
            raise IlsvrcKerasError(f"{path} {what} the {'source' if resolved == src else 'source ' + str(source)} "
                                   f"this {kind} reads; write it elsewhere (nothing was changed)")
        if not inside_source and src in resolved.parents:
            raise IlsvrcKerasError(f"{path} is inside {source}, which this {kind} reads; write it elsewhere "
                                   "(nothing was changed)")
    if not path.exists() and not path.is_symlink():
        return path
    if folder and not path.is_dir():
        raise IlsvrcKerasError(f"{path} is a file; the {kind} output is a folder (nothing was changed)")
    if not folder and path.is_dir():
        raise IlsvrcKerasError(f"{path} is a folder; the {kind} output is a file (nothing was changed)")
    if folder and not any(path.iterdir()):
        return path
    if not ours:
        raise IlsvrcKerasError(f"{path} exists and holds files this command did not write; choose a new "
                               f"{'folder' if folder else 'name'} (nothing was changed)")
    if not overwrite:
        raise IlsvrcKerasError(f"{path} holds a previous {kind}; pass --overwrite / overwrite=True to replace it")
    return path


def path_sources(*items) -> list:
    """The items that are paths on this disk (a dataset folder, a model folder), for :func:`check_output`."""
    return [item for item in items if isinstance(item, (str, os.PathLike)) and Path(item).exists()]


def replace_with(staged, path) -> None:
    """Move the complete output ``staged`` (a sibling of ``path``) to ``path``; a previous output there (checked
    by :func:`check_output`) is removed only once the new one is whole and in place."""
    import shutil

    staged, path = Path(staged), Path(path)
    if path.is_dir() and not path.is_symlink():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        os.replace(path, old)
        os.replace(staged, path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, path)
