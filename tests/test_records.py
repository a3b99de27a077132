"""TFRecord shards (`prepare`) and TFDS as training sources, read by the same pipeline as folders."""

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

import ilsvrc_keras
from ilsvrc_keras import DataError
from ilsvrc_keras.datasets import make_dataset as file_dataset
from ilsvrc_keras.datasets import open_dataset, prepare, record_dataset
from ilsvrc_keras.transforms import EvalTransform

from conftest import cli as _cli
from conftest import cli_env as _env
from conftest import flower_subset, truncated_jpeg

CLASSES = ("daisy", "sunflower", "tulip")


def _run_json(*args):
    import subprocess

    done = subprocess.run(_cli(*args), env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def folder(flowers, tmp_path_factory):
    root = flower_subset(flowers, tmp_path_factory.mktemp("src"), CLASSES, 12)
    (root / "tulip" / "corrupt.jpg").write_bytes(truncated_jpeg(next((root / "tulip").iterdir())))
    (root / "daisy" / "empty.jpg").write_bytes(b"")
    png = io.BytesIO()
    Image.open(next((root / "daisy").glob("*.jpg"))).save(png, "PNG")
    (root / "daisy" / "disguised.JPEG").write_bytes(png.getvalue())  # a PNG named .JPEG, as in ImageNet
    return root


@pytest.fixture(scope="module")
def records(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    meta = prepare(folder, out, shard_size=8, progress=False)
    return out, meta


def test_prepare_writes_shards_and_counts(folder, records):
    out, meta = records
    assert meta["class_names"] == list(CLASSES)
    assert [p.endswith("empty.jpg") for p in meta["unreadable"]] == [True]  # empty: left out, counted
    n_files = sum(1 for c in CLASSES for _ in (folder / c).iterdir())
    assert meta["train"]["count"] + meta["val"]["count"] == n_files - 1
    assert sum(meta["train"]["class_counts"]) == meta["train"]["count"]
    assert len(meta["train"]["files"]) == -(-meta["train"]["count"] // 8)
    assert all((out / f).is_file() for f in meta["train"]["files"] + meta["val"]["files"])
    assert not list(out.glob("*.tmp"))
    # The records hold the files' own bytes, unchanged.
    import tensorflow as tf

    from ilsvrc_keras.datasets.records import parse_record as _parse

    stored = {bytes(c.numpy()) for c, _ in tf.data.TFRecordDataset([str(out / f) for f in meta["val"]["files"]]).map(_parse)}
    originals = {p.read_bytes() for c in CLASSES for p in (folder / c).iterdir()}
    assert stored <= originals and len(stored) == meta["val"]["count"]


def test_records_train_like_folders_and_skip_the_undecodable(records):
    out, meta = records
    ds = open_dataset(out)
    assert ds.class_names == list(CLASSES) and len(ds.train) == meta["train"]["count"]
    t = EvalTransform(64, 0.875, "tf")
    batches = [tuple(np.asarray(v) for v in b) for b in file_dataset(ds.train, t, 8, 3, training=True, seed=1, epoch=0)]
    x = np.concatenate([b[0] for b in batches])
    w = np.concatenate([b[2] for b in batches])
    assert x.shape[1:] == (64, 64, 3) and np.abs(x).max() <= 1.0 + 1e-6
    corrupt_in_train = 1 if "corrupt.jpg" not in _val_names(out, meta) else 0
    assert int((w > 0).sum()) == meta["train"]["count"] - corrupt_in_train  # skipped, not fatal
    # The same seed and epoch replay the same order; skip resumes mid-epoch.
    again = np.concatenate([b[0] for b in file_dataset(ds.train, t, 8, 3, training=True, seed=1, epoch=0)])
    np.testing.assert_array_equal(x, again)
    tail_batches = [tuple(np.asarray(v) for v in b)
                    for b in file_dataset(ds.train, t, 8, 3, training=True, seed=1, epoch=0, skip=8)]
    tail = np.concatenate([b[0] for b in tail_batches])[np.concatenate([b[2] for b in tail_batches]) > 0]
    real = x[w > 0]
    assert len(real) - 8 <= len(tail) <= len(real) - 7
    np.testing.assert_array_equal(tail, real[len(real) - len(tail):])
    other = np.concatenate([b[0] for b in file_dataset(ds.train, t, 8, 3, training=True, seed=1, epoch=1)])
    assert not np.array_equal(other, x)  # a new epoch, a new order
    # Two workers read disjoint halves.
    halves = [sum(int((b[2].numpy() > 0).sum()) for b in file_dataset(ds.train, t, 8, 3, training=True, shard=(2, i)))
              for i in (0, 1)]
    assert sum(halves) == int((w > 0).sum())


def _val_names(out, meta):
    import tensorflow as tf

    names = tf.data.TFRecordDataset([str(out / f) for f in meta["val"]["files"]]).map(
        lambda r: tf.io.parse_single_example(r, {"image/filename": tf.io.FixedLenFeature([], tf.string)})[
            "image/filename"])
    return {n.decode() for n in names.as_numpy_iterator()}


@pytest.mark.slow
def test_train_cli_on_records_then_classify(records, tmp_path):
    out, meta = records
    run = tmp_path / "run"
    summary = _run_json("train", "--model", "resnet18", "--data", str(out), "--out", str(run), "--epochs", "1",
                   "--batch-size", "8", "--image-size", "32", "--lr", "0.01", "--quiet", "--json")
    assert summary["epochs_completed"] == 1 and summary["val_accuracy"] is not None
    clf = ilsvrc_keras.load(run)
    assert [c[0] for c in clf.class_labels] == list(CLASSES)


def _stored(out, meta):
    import tensorflow as tf

    from ilsvrc_keras.datasets.records import parse_record as _parse

    files = [str(out / f) for f in meta["train"]["files"] + meta["val"]["files"]]
    return [bytes(c.numpy()) for c, _ in tf.data.TFRecordDataset(files).map(_parse)]


@pytest.mark.slow
def test_prepare_shorter_side_shrinks_large_images_only(folder, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(folder, src)
    photo = np.asarray(Image.open(next((folder / "tulip").glob("*.jpg"))).convert("RGB"))
    Image.fromarray(photo).convert("CMYK").save(src / "tulip" / "cmyk.jpg", "JPEG")
    Image.fromarray((photo[..., 0].astype(np.uint16) * 257)).save(src / "tulip" / "deep.png")  # 16-bit
    Image.fromarray(photo[:40, :30]).save(src / "tulip" / "small.jpg", "JPEG")
    small = (src / "tulip" / "small.jpg").read_bytes()
    summary = _run_json("prepare", str(src), str(tmp_path / "r"), "--shorter-side", "48", "--quiet", "--json")
    assert summary["shorter_side"] == 48
    meta = json.loads((tmp_path / "r" / "dataset.json").read_text())
    assert meta["shorter_side"] == 48
    stored = _stored(tmp_path / "r", meta)
    assert len(stored) == summary["train"] + summary["val"]
    assert small in stored  # already small: its own bytes
    corrupt = (folder / "tulip" / "corrupt.jpg").read_bytes()
    assert corrupt in stored  # a damaged body: kept as it is, skipped in training
    sizes = []
    for b in stored:
        if b in (small, corrupt):
            continue
        with Image.open(io.BytesIO(b)) as im:  # every other image: an RGB JPEG, shorter side 48
            assert im.format == "JPEG" and im.mode == "RGB", (im.format, im.mode)
            sizes.append(im.size)
    assert sizes and all(min(s) == 48 for s in sizes)
    h, w = photo.shape[:2]
    assert (round(w * 48 / min(h, w)), round(h * 48 / min(h, w))) in sizes  # aspect kept
    ds = open_dataset(tmp_path / "r")
    seen = sum(int((wt > 0).numpy().sum())
               for _, _, wt in file_dataset(ds.train, EvalTransform(32, 0.875, "tf"), 8, 3, training=True))
    assert seen >= len(ds.train) - 1  # only the corrupt file is skipped


@pytest.mark.slow
def test_prepare_cli_json_and_errors(folder, tmp_path):
    summary = _run_json("prepare", str(folder), str(tmp_path / "r"), "--shard-size", "16", "--quiet", "--json")
    assert summary["classes"] == 3 and summary["train_shards"] == -(-summary["train"] // 16)
    (tmp_path / "r" / json.loads((tmp_path / "r" / "dataset.json").read_text())["train"]["files"][0]).unlink()
    with pytest.raises(DataError, match="shard files missing"):
        record_dataset(tmp_path / "r")
    with pytest.raises(DataError):
        prepare(tmp_path / "nowhere", tmp_path / "r2", progress=False)


@pytest.mark.slow
def test_tfds_dataset_trains_with_encoded_images(folder, tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")

    class FlowerRecordsForTest(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(
                builder=self, features=tfds.features.FeaturesDict(
                    {"image": tfds.features.Image(), "label": tfds.features.ClassLabel(names=list(CLASSES))}),
                supervised_keys=("image", "label"))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(0, 10), "validation": self._generate_examples(10, 12)}

        def _generate_examples(self, start, stop):
            for label, c in enumerate(CLASSES):
                for p in sorted((folder / c).glob("*.jpg"))[start:stop]:
                    if p.stat().st_size > 100:
                        yield p.name, {"image": str(p), "label": label}

    ds = open_dataset("flower_records_for_test", data_dir=tmp_path / "tfds")
    assert ds.class_names == list(CLASSES) and len(ds.val) == 6
    t = EvalTransform(48, 0.875, "tf")
    batch = next(iter(file_dataset(ds.train, t, 4, 3, training=True)))
    assert batch[0].shape == (4, 48, 48, 3)
    result = ilsvrc_keras.train("flower_records_for_test", "resnet18", tmp_path / "run", data_dir=tmp_path / "tfds",
                                epochs=1, batch_size=8, image_size=32, lr=0.01, progress=False)
    assert result.epochs_completed == 1
    with pytest.raises(DataError, match="neither a folder here nor a TFDS dataset"):
        open_dataset("no_such_dataset_anywhere", data_dir=tmp_path / "tfds")
