"""The data front door as a matrix: every kind of training data against every kind of validation data, each
cell opened and served (one training and one validation batch) or refused by name; then every entry point
that takes data (fine_tune, train, evaluate, prepare, the CLI) on a spread of the combinations."""

import json

import numpy as np
import pytest
from PIL import Image

import ilsvrc_keras
from ilsvrc_keras import DataError
from ilsvrc_keras.datasets import make_dataset, open_dataset, prepare
from ilsvrc_keras.transforms import EvalTransform

from conftest import flower_subset, local_tfds

CLASSES = ["daisy", "rose", "tulip"]
WNIDS = {"daisy": "n11939491", "rose": "n04971313", "tulip": "n12057211"}  # for the raw ILSVRC layout


def _arrays(folder, size=40):
    x, y = [], []
    for label, c in enumerate(CLASSES):
        for p in sorted((folder / c).iterdir()):
            x.append(np.asarray(Image.open(p).convert("RGB").resize((size, size))))
            y.append(label)
    return np.stack(x), np.array(y)


@pytest.fixture(scope="module")
def kinds(flowers, tmp_path_factory):
    """One source of each kind: training kinds and validation kinds (all with the same three classes)."""
    import tensorflow as tf

    root = tmp_path_factory.mktemp("matrix")
    train = flower_subset(flowers, root / "train", CLASSES, 8)
    val = root / "val"
    for c in CLASSES:
        (val / c).mkdir(parents=True)
        for p in sorted((flowers / c).iterdir())[20:23]:
            (val / c / p.name).write_bytes(p.read_bytes())
    prepare(train, root / "train-shards", val_fraction=0.25, progress=False)
    prepare(val, root / "val-shards", val_fraction=0.0, progress=False)
    # the raw ILSVRC layout: train/<wnid>/ folders, val/ flat, and the ground truth of val/
    raw = root / "ilsvrc"
    rows = ["ImageId,PredictionString"]
    for c in CLASSES:
        (raw / "train" / WNIDS[c]).mkdir(parents=True)
        for p in sorted((train / c).iterdir()):
            (raw / "train" / WNIDS[c] / p.name).write_bytes(p.read_bytes())
        (raw / "val").mkdir(exist_ok=True)
        for p in sorted((val / c).iterdir()):
            (raw / "val" / p.name).write_bytes(p.read_bytes())
            rows.append(f"{p.stem},{WNIDS[c]} 0 0 10 10")
    (raw / "LOC_val_solution.csv").write_text("\n".join(rows) + "\n")
    local_tfds("MatrixFlowers", train, CLASSES, root / "tfds")
    tx, ty = _arrays(train)
    vx, vy = _arrays(val)
    unbatched = tf.data.Dataset.from_tensor_slices((tx, ty))
    return {
        "root": root, "tfds": root / "tfds", "train": train, "val": val, "raw": raw, "arrays": (tx, ty), "val_arrays": (vx, vy),
        "dataset": unbatched, "batched": tf.data.Dataset.from_tensor_slices((vx, vy)).batch(4),
    }


TRAIN_KINDS = ["folder", "ilsvrc", "shards", "tfds", "arrays", "dataset"]
VAL_KINDS = ["none", "fraction", "folder", "shards", "arrays", "batched dataset"]


def _train(kinds, kind):
    return {"folder": kinds["train"], "ilsvrc": kinds["raw"], "shards": kinds["root"] / "train-shards",
            "tfds": "matrix_flowers", "arrays": kinds["arrays"], "dataset": kinds["dataset"]}[kind]


def _val(kinds, kind):
    return {"none": None, "fraction": None, "folder": kinds["val"], "shards": kinds["root"] / "val-shards",
            "arrays": kinds["val_arrays"], "batched dataset": kinds["batched"]}[kind]


def _open(kinds, tkind, vkind):
    extra = {"labels": kinds["raw"] / "LOC_val_solution.csv"} if tkind == "ilsvrc" else {}
    if tkind in ("arrays", "dataset"):
        extra["class_names"] = CLASSES
    if tkind == "tfds":
        extra["data_dir"] = kinds["tfds"]
    fraction = {"none": 0.0, "fraction": 0.25}.get(vkind, 0.2)
    return open_dataset(_train(kinds, tkind), _val(kinds, vkind), val_fraction=fraction, **extra)


@pytest.mark.parametrize("tkind", TRAIN_KINDS)
def test_every_training_kind_with_every_validation_kind(kinds, tkind):
    """Each cell is opened and serves one training batch and one validation batch with labels in range, or
    is refused with one clear DataError that says why."""
    transform = EvalTransform(32, 0.875, "tf")
    for vkind in VAL_KINDS:
        if tkind == "ilsvrc" and vkind == "fraction":
            continue  # the raw layout's validation is its own val/ folder: the same cell as "none" below
        if tkind == "ilsvrc" and vkind in ("folder", "shards"):  # flower names against wnids: refused, named
            with pytest.raises(DataError, match=r"has classes the training data lacks: \['daisy'|none of its images is "
                                                r"named in .*LOC_val_solution.csv"):
                _open(kinds, tkind, vkind)
            continue
        ds = _open(kinds, tkind, vkind)
        n = len(ds.class_names)
        names = CLASSES if tkind != "ilsvrc" else sorted(WNIDS.values())
        assert list(ds.class_names) == names, (tkind, vkind)
        x, y, w = next(iter(make_dataset(ds.train, transform, 4, n, training=True)))
        assert x.shape == (4, 32, 32, 3) and float(np.asarray(w).sum()) == 4, (tkind, vkind)
        expected_val = {"none": 0 if tkind != "ilsvrc" else 9, "fraction": None, "folder": 9, "shards": 9,
                        "arrays": 9, "batched dataset": 9}[vkind]
        if expected_val is not None:
            assert len(ds.val) == expected_val, (tkind, vkind, len(ds.val))
        if len(ds.val):
            batches = list(make_dataset(ds.val, transform, 4, n, training=False))
            labels = np.concatenate([np.asarray(b[1]).argmax(-1)[np.asarray(b[2]) > 0] for b in batches])
            assert len(labels) == len(ds.val) and set(labels) <= {0, 1, 2}, (tkind, vkind)
            if vkind in ("folder", "shards", "arrays", "batched dataset"):
                assert sorted(np.bincount(labels, minlength=3)) == [3, 3, 3], (tkind, vkind)  # 3 per class


def test_refused_cells_say_why(kinds):
    with pytest.raises(DataError, match="give class_names"):
        open_dataset(kinds["arrays"], kinds["val"])  # labels 0..2 cannot be matched to folder names unnamed
    with pytest.raises(DataError, match="val_data.s labels go from 1 to 5 but the training data has 3 classes"):
        open_dataset(kinds["train"], (kinds["val_arrays"][0], kinds["val_arrays"][1] * 2 + 1))
    with pytest.raises(DataError, match="val_data must be a folder"):
        open_dataset(kinds["train"], "not a dataset at all".split())
    other = kinds["root"] / "other"
    flower_subset(kinds["train"], other, ["daisy", "rose"], 2)
    (other / "sunflower").mkdir()
    (other / "sunflower" / "a.jpg").write_bytes((kinds["train"] / "rose" / sorted(
        p.name for p in (kinds["train"] / "rose").iterdir())[0]).read_bytes())
    with pytest.raises(DataError, match=r"has classes the training data lacks: \['sunflower'\]"):
        open_dataset(kinds["train"], other)
    with pytest.raises(DataError, match="prepare writes shards of image folders"):
        prepare(kinds["root"] / "train-shards", kinds["root"] / "again", progress=False)


@pytest.mark.parametrize("tkind,vkind", [("shards", "folder"), ("arrays", "batched dataset"), ("ilsvrc", "none"),
                                         ("tfds", "shards")])
def test_fine_tune_end_to_end_on_the_combinations(kinds, mobilenet_weights, tmp_path, tkind, vkind):
    extra = {"labels": kinds["raw"] / "LOC_val_solution.csv"} if tkind == "ilsvrc" else {}
    if tkind in ("arrays", "dataset"):
        extra["class_names"] = CLASSES
    if tkind == "tfds":
        extra["data_dir"] = kinds["tfds"]
    result = ilsvrc_keras.fine_tune(_train(kinds, tkind), val_data=_val(kinds, vkind), model="mobilenet_0.25_128",
                                    weights=mobilenet_weights, out=tmp_path / "ft", head_epochs=1, epochs=0,
                                    batch_size=8, image_size=32, progress=False, **extra)
    assert result.metrics["n"] == 9 and len(result.class_names) == 3


@pytest.mark.slow
def test_train_evaluate_and_the_cli_on_the_combinations(kinds, mobilenet_weights, tmp_path, capsys):
    from ilsvrc_keras.cli import main

    result = ilsvrc_keras.train(kinds["arrays"], "resnet18", tmp_path / "tr", val_data=kinds["batched"], epochs=1,
                                image_size=32, batch_size=8, progress=False)
    assert result.epochs_completed == 1
    # the command line form of the reported crash: prepared shards with a separate validation folder
    status = main(["fine-tune", str(kinds["root"] / "train-shards"), "--val", str(kinds["val"]), "--model",
                   "mobilenet_0.25_128", "--weights", str(mobilenet_weights), "--out", str(tmp_path / "cli"),
                   "--head-epochs", "1", "--epochs", "0", "--image-size", "32", "--json", "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert status == 0, out
    # evaluate reads the validation kinds that are paths: a folder and prepared shards (all of it)
    for data in (kinds["val"], kinds["root"] / "val-shards"):
        ev = ilsvrc_keras.evaluate(data, model=tmp_path / "cli", progress=False)
        assert ev["n"] == 9, data
