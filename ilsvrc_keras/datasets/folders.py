"""Class-per-folder trees and the raw ILSVRC layout (``val/`` flat with its ground truth) as file splits, each
file's header read once at the door."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from ..checks import check
from ..errors import DataError, ImageError
from .ground_truth import labeled_images, list_images
from .splits import ImageDataset, Split


def readable_images(files, plain: Optional[dict] = None) -> tuple:
    """``(readable, unreadable)``: the files among ``files`` whose header reads as an image within the
    limits (:func:`ilsvrc_keras.images.check_file`: a few KB each, about 30 us), and ``(path, reason)``
    of the others. Files that pass and still fail to decode (a truncated body) are skipped and
    counted by the pipelines. ``plain``: filled with ``{path: TensorFlow decodes it as load_image does}``."""
    from ..images import check_file

    good, bad = [], []
    for f in files:
        try:
            needs_pillow = check_file(f)[2]
            good.append(f)
            if plain is not None:
                plain[str(f)] = not needs_pillow
        except ImageError as exc:
            bad.append((str(f), str(exc)))
    return good, bad


def files_by_class(folder: Path, unreadable: Optional[list] = None, plain: Optional[dict] = None) -> dict:
    """``{class: [image files]}`` of a class-per-folder tree, unreadable files left out (and listed
    in ``unreadable``); a class with no image, or none that can be read, is a :class:`DataError`.
    ``plain``: see :func:`readable_images`."""
    classes = sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{folder}: no class subfolders")
    out = {}
    for d in classes:
        files = list_images(d, recursive=True)  # images in a class's subfolders belong to it (as in keras)
        if not files:
            raise DataError(f"{d}: class folder holds no images")
        out[d.name], bad = readable_images(files, plain)
        if not out[d.name]:
            raise DataError(f"{d}: none of its {len(files)} images can be read ({bad[0][1]}); "
                            "remove the class or replace its files")
        if unreadable is not None:
            unreadable += bad
    return out


def stratified_split(by_class: dict, val_fraction: float, seed: int = 0) -> tuple:
    """``{class: items}`` -> ``(train, val)`` dicts: per class (in sorted order), a seeded shuffle
    and ``round(n * val_fraction)`` items (at least one, none for a single item) held out;
    ``val_fraction=1`` holds out everything, ``0`` nothing."""
    import random

    rng = random.Random(seed)
    train, val = {}, {}
    for name in sorted(by_class):
        items = list(by_class[name])
        rng.shuffle(items)
        if val_fraction >= 1:
            n_val = len(items)
        elif val_fraction <= 0:
            n_val = 0
        else:
            n_val = max(1, round(len(items) * val_fraction)) if len(items) > 1 else 0
        val[name], train[name] = items[:n_val], items[n_val:]
    return train, val


def _file_split(files_by_class: dict, index: dict, plain: dict) -> Split:
    pairs = [(str(p), index[c]) for c in sorted(files_by_class) for p in files_by_class[c]]
    return Split([p for p, _ in pairs], [y for _, y in pairs], plain=[plain.get(p) for p, _ in pairs])


def folder_dataset(root, val_fraction: float = 0.2, seed: int = 0, labels=None) -> ImageDataset:
    """A class-per-folder (or ILSVRC) dataset as train/validation files.

    Layouts: ``root/train/<class>/`` with ``root/val/<class>/`` (or, for ILSVRC, ``root/val/`` flat
    with ``labels``: ``LOC_val_solution.csv`` or the devkit ground truth); ``root/<class>/`` alone,
    split per class (stratified) with ``val_fraction`` held out by a seeded shuffle; or a flat folder
    of validation images with ``labels`` (all of it validation: for evaluation).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    unreadable, unlabeled, plain = [], [], {}
    if (root / "train").is_dir():
        train_files = files_by_class(root / "train", unreadable, plain)
        class_names = sorted(train_files)
        index = {c: i for i, c in enumerate(class_names)}
        val_dir = root / "val"
        if labels is not None:
            val = _labeled_split(val_dir, labels, index, unreadable=unreadable, unlabeled=unlabeled)
        elif val_dir.is_dir():
            val_files = files_by_class(val_dir, unreadable, plain)
            unseen = sorted(set(val_files) - set(class_names))
            if unseen:
                raise DataError(f"{root}: validation classes not in train/: {unseen[:5]}")
            val = _file_split(val_files, index, plain)
        else:
            raise DataError(f"{root}: has train/ but neither val/ nor a labels file for the validation images")
        train = _file_split(train_files, index, plain)
    elif labels is not None:  # a flat folder of validation images and its ground truth
        items = labeled_images(root, labels)
        class_names = sorted(set(items.labels))
        val = _labeled_split(root, labels, {c: i for i, c in enumerate(class_names)}, items, unreadable, unlabeled)
        train = Split([], [])
    else:
        check("val_fraction", val_fraction)  # 0 trains on everything
        by_class = files_by_class(root, unreadable, plain)
        class_names = sorted(by_class)
        train_files, val_files = stratified_split(by_class, val_fraction, seed)
        index = {c: i for i, c in enumerate(class_names)}
        train, val = _file_split(train_files, index, plain), _file_split(val_files, index, plain)
    if len(class_names) < 2 and len(train):
        raise DataError(f"{root}: a classifier needs at least two classes, found {class_names}")
    if unreadable:
        import logging

        logging.getLogger(__name__).warning("%d unreadable files of %s are left out (%s)", len(unreadable),
                                            root, unreadable[0][1])
    return ImageDataset(train, val, class_names, str(root), unreadable, unlabeled)


def _labeled_split(folder: Path, labels, index: dict, items=None, unreadable=None, unlabeled=None) -> Split:
    items = items or labeled_images(folder, labels)
    unseen = sorted({t for t in items.labels if t not in index})
    if unseen:
        raise DataError(f"{labels}: classes not in train/: {unseen[:5]}")
    plain = {}
    good, bad = readable_images(items.paths, plain)
    good = set(good)
    if not good:
        raise DataError(f"{folder}: none of its {len(items.paths)} labeled images can be read ({bad[0][1]})")
    keep = [i for i, p in enumerate(items.paths) if p in good]
    if unreadable is not None:
        unreadable += bad
    if unlabeled is not None:
        unlabeled += items.unlabeled
    return Split([items.paths[i] for i in keep], [index[items.truths[i].label] for i in keep],
                 boxes=[items.truths[i].boxes for i in keep], plain=[plain.get(str(items.paths[i])) for i in keep])
