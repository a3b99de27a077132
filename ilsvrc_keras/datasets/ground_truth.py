"""Ground truth of labeled image sets: ILSVRC's validation files and class-per-folder trees.

Ground truth for flat ILSVRC validation folders comes in three forms, all read here:
``LOC_val_solution.csv`` (Kaggle localization challenge: ``ImageId,PredictionString`` with
repeated ``wnid xmin ymin xmax ymax``), a text file with one label per line for
``ILSVRC2012_val_00000001`` onward (wnids, or the devkit's integer ILSVRC2012_IDs with the
devkit's ``meta.mat`` beside it), or a folder of the official Pascal-VOC XML box files.
Class-per-folder datasets name each class by its subfolder (wnids for ImageNet).
"""

from __future__ import annotations

import csv
import dataclasses
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional

from ..errors import DataError

IMAGE_EXTENSIONS = {".jpeg", ".jpg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
_VAL_ID = re.compile(r"ILSVRC2012_val_(\d+)")


@dataclasses.dataclass
class GroundTruth:
    """The label of an image and its boxes ``[(label, (xmin, ymin, xmax, ymax)), ...]``."""

    label: str
    boxes: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LabeledImages:
    """Image files with their labels (and boxes, where the ground truth has them)."""

    paths: list
    truths: list  # GroundTruth per path
    unlabeled: list = dataclasses.field(default_factory=list)  # images the ground truth does not name

    @property
    def labels(self) -> list:
        return [t.label for t in self.truths]

    def __len__(self):
        return len(self.paths)


def list_images(folder, recursive: bool = False) -> list:
    """Image files inside ``folder``, sorted by path; ``recursive``: in its subfolders too (hidden ones
    excepted, links to folders not followed), as keras' ``image_dataset_from_directory`` reads a class."""
    if not recursive:
        return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    import os

    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(top) / f for f in files if Path(f).suffix.lower() in IMAGE_EXTENSIONS]
    return sorted(p for p in found if p.is_file())


def read_loc_csv(path) -> dict:
    """``LOC_val_solution.csv`` (a UTF-8 BOM, as Excel writes, is fine). An image listed twice is one entry if
    the rows agree (their boxes joined), and an error naming it if they give different classes."""
    out = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header or [h.strip() for h in header[:2]] != ["ImageId", "PredictionString"]:
            raise DataError(f"{path}: expected the header 'ImageId,PredictionString' of LOC_val_solution.csv")
        for row in reader:
            if not row:
                continue
            if len(row) < 2:
                raise DataError(f"{path}: row {row[0][:40]!r} has no PredictionString")
            parts = row[1].split()
            if len(parts) % 5 or not parts:
                raise DataError(f"{path}: row {row[0]!r} is not a list of 'wnid xmin ymin xmax ymax'")
            try:
                boxes = [(parts[i], tuple(float(v) for v in parts[i + 1 : i + 5])) for i in range(0, len(parts), 5)]
            except ValueError:
                raise DataError(f"{path}: row {row[0]!r} has a box coordinate that is not a number "
                                f"(expected 'wnid xmin ymin xmax ymax', got {row[1][:60]!r})") from None
            previous = out.get(row[0])
            if previous is not None and previous.label != boxes[0][0]:
                raise DataError(f"{path}: image {row[0]!r} is listed twice with different classes "
                                f"({previous.label} and {boxes[0][0]}); keep one row")
            out[row[0]] = GroundTruth(boxes[0][0], (list(previous.boxes) if previous else []) + boxes)
    return out


def _devkit_ids_to_wnids(meta_mat: Path) -> dict:
    from scipy.io import loadmat

    synsets = loadmat(str(meta_mat), squeeze_me=True)["synsets"]
    return {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets}


def read_label_lines(path) -> dict:
    """One label per line for ``ILSVRC2012_val_00000001`` onward (wnids or devkit integer ids)."""
    path = Path(path)
    lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"{path}: the labels file is empty")
    odd = next((i for i, ln in enumerate(lines, 1) if len(ln.split()) != 1 or "\x00" in ln), None)
    if odd is not None:
        raise DataError(f"{path}: line {odd} is not one label ({lines[odd - 1][:40]!r}); a label-per-line file "
                        "holds one wnid (or devkit id) per line, LOC_val_solution.csv ends in .csv")
    if all(ln.isdigit() for ln in lines):
        meta = path.with_name("meta.mat")
        if not meta.is_file():
            raise DataError(
                f"{path}: integer labels are the devkit's ILSVRC2012_IDs; the devkit's meta.mat must lie "
                f"beside this file to map them to wnids"
            )
        ids = _devkit_ids_to_wnids(meta)
        unknown = sorted({int(ln) for ln in lines} - set(ids))
        if unknown:
            raise DataError(f"{path}: ids {unknown[:5]} are not in {meta}")
        lines = [ids[int(ln)] for ln in lines]
    return {f"ILSVRC2012_val_{i:08d}": GroundTruth(wnid) for i, wnid in enumerate(lines, start=1)}


def read_voc_folder(folder) -> dict:
    """The official ILSVRC Pascal-VOC XML files (one per image, boxes in original pixels)."""
    out = {}
    for xml in sorted(Path(folder).glob("*.xml")):
        try:
            root = ET.parse(xml).getroot()
            boxes = []
            for obj in root.iter("object"):
                b = obj.find("bndbox")
                boxes.append((obj.findtext("name"),
                              tuple(float(b.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))))
        except (ET.ParseError, AttributeError, TypeError, ValueError) as exc:
            raise DataError(f"{xml}: not a Pascal-VOC box file ({type(exc).__name__}: {exc})") from None
        if boxes:
            out[xml.stem] = GroundTruth(boxes[0][0], boxes)
    if not out:
        raise DataError(f"{folder}: no Pascal-VOC XML files with objects")
    return out


def read_ground_truth(labels) -> dict:
    """``image id (file stem) -> GroundTruth`` from any of the supported ground-truth forms."""
    labels = Path(labels)
    if labels.is_dir():
        return read_voc_folder(labels)
    if not labels.is_file():
        raise DataError(f"{labels}: labels file not found")
    try:
        if labels.suffix.lower() == ".csv":
            return read_loc_csv(labels)
        return read_label_lines(labels)
    except UnicodeDecodeError:
        raise DataError(f"{labels}: not a text file (LOC_val_solution.csv, or one label per line)") from None
    except csv.Error as exc:
        raise DataError(f"{labels}: not a CSV file ({exc})") from None


def labeled_images(data, labels=None, limit: Optional[int] = None) -> LabeledImages:
    """The images of an evaluation set with their ground truth.

    ``data`` is a flat folder of validation images (``labels`` then gives the ground truth) or a
    class-per-folder tree. ``limit`` keeps the first N images in sorted order.
    """
    data = Path(data)
    if not data.is_dir():
        raise DataError(f"{data}: no such folder")
    if labels is not None:
        truth = read_ground_truth(labels)
        paths, truths, unlabeled = [], [], []
        for p in list_images(data):
            key = p.stem if p.stem in truth else (_VAL_ID.search(p.stem) and _VAL_ID.search(p.stem).group(0))
            if key in truth:
                paths.append(p)
                truths.append(truth[key])
            else:
                unlabeled.append(str(p))
        if not paths:
            raise DataError(f"{data}: none of its images is named in {labels}")
        if unlabeled:
            import logging

            logging.getLogger(__name__).warning("%d images of %s are not in %s and are left out (first: %s)",
                                                len(unlabeled), data, labels, Path(unlabeled[0]).name)
    else:
        classes = sorted(d for d in data.iterdir() if d.is_dir())
        if not classes:
            raise DataError(f"{data}: neither class subfolders nor a labels file (--labels) to go with it")
        paths, truths, unlabeled = [], [], []
        for d in classes:
            for p in list_images(d):
                paths.append(p)
                truths.append(GroundTruth(d.name))
        if not paths:
            raise DataError(f"{data}: its class folders hold no images")
    if limit is not None:
        paths, truths = paths[:limit], truths[:limit]
    return LabeledImages([str(p) for p in paths], truths, unlabeled)

