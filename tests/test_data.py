"""Ground-truth files: LOC csv (several boxes), label-per-line (wnids or devkit ids), Pascal VOC."""

from pathlib import Path

import numpy as np
import pytest

from ilsvrc_keras import DataError
from ilsvrc_keras.datasets import labeled_images, read_ground_truth


def test_loc_csv_with_several_boxes(val_sample):
    truth = read_ground_truth(val_sample / "LOC_val_solution.csv")
    assert len(truth) == 100
    assert truth["ILSVRC2012_val_00000010"].label == "n02328150"
    assert truth["ILSVRC2012_val_00000010"].boxes[0][1] == (0.0, 0.0, 495.0, 374.0)
    assert any(len(t.boxes) > 1 for t in truth.values())


def test_label_per_line_wnids(tmp_path):
    f = tmp_path / "val_labels.txt"
    f.write_text("n01751748\nn09193705\n")
    truth = read_ground_truth(f)
    assert truth["ILSVRC2012_val_00000002"].label == "n09193705"


def test_devkit_integer_ids_use_meta_mat(tmp_path):
    from scipy.io import savemat

    synsets = np.zeros((2,), dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O")])
    synsets[0] = (490, "n01751748")
    synsets[1] = (361, "n09193705")
    f = tmp_path / "ILSVRC2012_validation_ground_truth.txt"
    f.write_text("490\n361\n")
    with pytest.raises(DataError, match="meta.mat"):
        read_ground_truth(f)
    savemat(tmp_path / "meta.mat", {"synsets": synsets})
    truth = read_ground_truth(f)
    assert truth["ILSVRC2012_val_00000001"].label == "n01751748"
    assert truth["ILSVRC2012_val_00000002"].label == "n09193705"


def test_pascal_voc_folder(tmp_path):
    (tmp_path / "ILSVRC2012_val_00000001.xml").write_text(
        "<annotation><object><name>n01751748</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax>"
        "<ymax>40</ymax></bndbox></object><object><name>n01751748</name><bndbox><xmin>5</xmin><ymin>6</ymin>"
        "<xmax>7</xmax><ymax>8</ymax></bndbox></object></annotation>")
    truth = read_ground_truth(tmp_path)
    t = truth["ILSVRC2012_val_00000001"]
    assert t.label == "n01751748" and t.boxes[1] == ("n01751748", (5.0, 6.0, 7.0, 8.0))


def test_folder_errors(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        labeled_images(tmp_path / "missing")
    with pytest.raises(DataError, match="labels file"):
        labeled_images(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n")
    with pytest.raises(DataError, match="ImageId,PredictionString"):
        read_ground_truth(bad)


def test_limit_keeps_sorted_order(val_sample):
    items = labeled_images(val_sample / "images", val_sample / "LOC_val_solution.csv", limit=5)
    assert len(items) == 5 and items.paths == sorted(items.paths)


def test_small_datasets_are_decoded_once_and_kept(flowers, tmp_path):
    import tensorflow as tf

    from ilsvrc_keras.datasets import DecodedCache, decode_image, folder_dataset, make_dataset
    from ilsvrc_keras.transforms import EvalTransform

    from conftest import flower_subset

    root = flower_subset(flowers, tmp_path / "d", ("daisy", "tulip"), 6)
    (root / "tulip" / "zz_bad.jpg").write_bytes(b"\xff\xd8\xff nope")
    ds = folder_dataset(root, val_fraction=0.3)
    t = EvalTransform(64, 0.875, "tf")
    cache = DecodedCache()
    assert cache.fits(ds.train, t, True)
    assert not DecodedCache(max_bytes=1000).fits(ds.train, t, True)  # over budget: decoded every epoch
    assert DecodedCache(max_bytes=1000).serve(ds.train, t, True) is ds.train
    # Evaluation: the store holds exactly the crop the classifier sees; the unreadable file is left out.
    store = cache.serve(ds.val, t, training=False)
    assert store.kind == "cropped" and len(store) == len(ds.val) - any(p.endswith("zz_bad.jpg") for p in ds.val.paths)
    for path, cached in zip(store.paths, store.items):
        np.testing.assert_array_equal(cached, t.crop(decode_image(tf.io.read_file(path))).numpy())
    assert cache.serve(ds.val, t, training=False) is store  # kept, not decoded again
    # Training: shorter side 1.25x the input (80 px here), aspect kept, never enlarged.
    train_store = cache.serve(ds.train, t, training=True)
    assert train_store.kind == "decoded"
    for path, cached in zip(train_store.paths, train_store.items):
        h, w = tf.io.extract_jpeg_shape(tf.io.read_file(path)).numpy()[:2]
        assert min(cached.shape[:2]) == min(80, h, w) and cached.dtype == np.uint8
        assert abs(cached.shape[0] / cached.shape[1] - h / w) < 0.05
    # Both paths give batches of the same shape, count the same real examples, and the cached one
    # replays its order for the same seed.
    for split, training in ((ds.train, True), (ds.val, False)):
        def batches(s):
            return list(make_dataset(s, t, 4, 2, training=training, seed=3))

        cached = batches(cache.serve(split, t, training=training))
        plain = batches(split)
        assert [b[0].shape for b in cached] == [b[0].shape for b in plain]
        assert sum(int((b[2].numpy() > 0).sum()) for b in cached) == sum(int((b[2].numpy() > 0).sum()) for b in plain)
        again = batches(cache.serve(split, t, training=training))
        for a, b in zip(cached, again):
            np.testing.assert_array_equal(a[0], b[0])
        if not training:
            for a, b in zip(cached, plain):
                np.testing.assert_allclose(a[0], b[0], atol=1e-5)  # the same pixels either way


def test_train_and_val_folders_keep_their_own_split(flowers, tmp_path):
    from ilsvrc_keras.datasets import open_dataset

    from conftest import flower_subset

    flower_subset(flowers, tmp_path / "d" / "train", ("daisy", "tulip"), 5)
    val = tmp_path / "d" / "val"
    (val / "tulip").mkdir(parents=True)
    (val / "tulip" / "t.jpg").write_bytes(next((flowers / "tulip").iterdir()).read_bytes())
    ds = open_dataset(tmp_path / "d")
    assert ds.class_names == ["daisy", "tulip"] and len(ds.train) == 10
    assert ds.val.labels == [1] and ds.val.paths == [str(val / "tulip" / "t.jpg")]  # tulip's index in train/
    (val / "orchid").mkdir()
    (val / "orchid" / "o.jpg").write_bytes(b"x")
    with pytest.raises(DataError, match="orchid"):
        open_dataset(tmp_path / "d")


def test_training_and_evaluation_read_images_as_classify_does(val_sample, tmp_path):
    """One reader: the tf.data pipelines give the pixels ilsvrc_keras.load_image gives classify() for
    EXIF-rotated, RGBA, CMYK, palette, 16-bit and WebP photos (a rotated photo used to be trained on
    sideways), and apply its limits from the header (a strip or a pixel bomb is skipped, not decoded)."""
    import io

    import tensorflow as tf
    from PIL import Image

    from ilsvrc_keras.datasets import Augment, Split, decode_image, decode_random_crop, make_dataset
    from ilsvrc_keras.images import load_image
    from ilsvrc_keras.transforms import EvalTransform

    photo = Image.open(val_sample / "images" / "ILSVRC2012_val_00000010.JPEG").convert("RGB").resize((160, 80))

    def encode(image, fmt, **kw):
        buf = io.BytesIO()
        image.save(buf, fmt, **kw)
        return buf.getvalue()

    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": 160x80 stored, 80x160 shown
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    sixteen = Image.fromarray((np.asarray(photo.convert("L"), np.uint16) * 257))
    cases = {"rotated.jpg": encode(photo, "JPEG", exif=exif, quality=95), "rgba.png": encode(rgba, "PNG"),
             "cmyk.jpg": encode(photo.convert("CMYK"), "JPEG", quality=95),
             "palette.png": encode(photo.convert("P"), "PNG"), "gray16.png": encode(sixteen, "PNG"),
             "photo.webp": encode(photo, "WEBP", quality=90), "plain.jpg": encode(photo, "JPEG", quality=95)}
    for name, data in cases.items():
        expected = load_image(data)
        got = decode_image(tf.constant(data)).numpy()
        assert got.shape == expected.shape, name
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 2, name  # libjpeg builds may round apart
    # Training: the whole-image crop of the rotated photo is portrait, as classify() sees it.
    whole = decode_random_crop(tf.constant(cases["rotated.jpg"]), tf.constant([1, 2], tf.int64),
                               Augment(crop_scale=(1.0, 1.0)))
    assert tuple(whole.shape) == (160, 80, 3)
    # Evaluation: the crops of the pipeline are classify()'s crops; a strip and a bomb are skipped.
    strip = encode(Image.new("RGB", (20_000, 1)), "PNG")
    bomb = encode(Image.new("1", (12_000, 9_000)), "PNG")
    items = [*cases.values(), strip, bomb]
    split = Split(items, [0] * len(items), kind="encoded")
    transform = EvalTransform(64, 0.875, "raw")
    seen = {}
    for x, _, w, i in make_dataset(split, transform, 4, 1, training=False):
        for image, weight, position in zip(x.numpy(), w.numpy(), i.numpy()):
            if weight > 0:  # 0: padding of the last batch
                seen[int(position)] = image
    assert sorted(seen) == list(range(len(cases)))  # the strip and the bomb never reached a batch
    for position, data in enumerate(cases.values()):
        expected = transform(load_image(data)).numpy()
        assert np.abs(seen[position] - expected).max() <= 3, list(cases)[position]


def test_ground_truth_csv_as_excel_writes_it_and_duplicate_rows(tmp_path):
    from ilsvrc_keras.datasets import read_loc_csv

    rows = "ImageId,PredictionString\r\nimg1,n01440764 1 2 30 40\r\nimg2,n02102040 5 5 9 9\r\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + rows.encode())
    truth = read_loc_csv(tmp_path / "bom.csv")
    assert truth["img1"].label == "n01440764" and truth["img2"].boxes == [("n02102040", (5.0, 5.0, 9.0, 9.0))]
    (tmp_path / "twice.csv").write_text(rows + "img1,n01440764 3 3 8 8\n")
    assert len(read_loc_csv(tmp_path / "twice.csv")["img1"].boxes) == 2  # agreeing rows: their boxes joined
    (tmp_path / "conflict.csv").write_text(rows + "img1,n02102040 3 3 8 8\n")
    with pytest.raises(DataError, match="'img1' is listed twice with different classes"):
        read_loc_csv(tmp_path / "conflict.csv")


def test_images_in_a_class_subfolder_belong_to_the_class(flowers, tmp_path):
    import shutil

    from ilsvrc_keras import open_dataset

    for c in ("daisy", "rose"):
        (tmp_path / c / "2019" / "june").mkdir(parents=True)
        (tmp_path / c / ".ipynb_checkpoints").mkdir()
        photos = sorted((flowers / c).iterdir())
        shutil.copy(photos[0], tmp_path / c)
        for p in photos[1:4]:
            shutil.copy(p, tmp_path / c / "2019" / "june")
        shutil.copy(photos[5], tmp_path / c / ".ipynb_checkpoints")  # hidden: not a photo of the class
    ds = open_dataset(tmp_path, val_fraction=0.0)
    assert ds.class_names == ["daisy", "rose"] and len(ds.train) == 8
    assert sum("june" in p for p in ds.train.paths) == 6 and not any(".ipynb" in p for p in ds.train.paths)


def test_headers_are_read_once_at_the_door(tmp_path, val_sample, monkeypatch):
    """A folder's files are inspected when it is opened (plain, or needing Pillow: EXIF-rotated, alpha); the
    pipelines then read no header in Python, give the same pixels as when they read every header, and still
    skip a file that was swapped for one over the pixel limit after the door."""
    import dataclasses

    from PIL import Image

    import ilsvrc_keras.images as images
    from ilsvrc_keras.datasets import make_dataset, open_dataset
    from ilsvrc_keras.transforms import EvalTransform

    photo = Image.open(val_sample / "images" / "ILSVRC2012_val_00000010.JPEG").convert("RGB").resize((160, 80))
    exif = Image.Exif()
    exif[0x0112] = 6
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        photo.save(tmp_path / cls / "plain.jpg", quality=90)
        photo.save(tmp_path / cls / "plain2.jpg", quality=80)
    photo.save(tmp_path / "a" / "rotated.jpg", exif=exif)
    photo.convert("RGBA").save(tmp_path / "b" / "alpha.png")
    photo.save(tmp_path / "b" / "photo.webp", quality=90)  # neither JPEG nor PNG: Pillow decodes it
    ds = open_dataset(tmp_path, val_fraction=0)
    flags = dict(zip(ds.train.paths, ds.train.plain))
    assert {Path(p).name: v for p, v in flags.items() if "/a/" in p} == {"plain.jpg": True, "plain2.jpg": True,
                                                                          "rotated.jpg": False}
    assert flags[str(tmp_path / "b" / "alpha.png")] is False and flags[str(tmp_path / "b" / "photo.webp")] is False
    calls = []
    real = images.inspect_encoded
    monkeypatch.setattr(images, "inspect_encoded", lambda *a, **k: calls.append(1) or real(*a, **k))
    t = EvalTransform(48, 0.875, "raw")

    def pixels(split, training):
        batches = make_dataset(split, t, 8, 2, training=training, seed=3)
        return np.concatenate([b[0].numpy()[b[2].numpy() > 0] for b in batches])

    for training in (True, False):
        calls.clear()
        fast = pixels(ds.train, training)
        assert calls == [] and len(fast) == len(ds.train)  # no header read in Python, no image refused
        slow = pixels(dataclasses.replace(ds.train, plain=None), training)
        assert len(calls) == len(ds.train)  # one per image without the door's reading
        np.testing.assert_array_equal(fast, slow)
    Image.new("1", (12_000, 9_000)).save(tmp_path / "b" / "plain2.jpg", "PNG")  # swapped after the door
    assert len(pixels(ds.train, False)) == len(ds.train) - 1
