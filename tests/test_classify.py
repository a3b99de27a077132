"""Pretrained classification and ILSVRC evaluation on real ImageNet validation images."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ilsvrc_keras
from ilsvrc_keras.datasets import read_loc_csv
from ilsvrc_keras.labels import wnid_to_index


def _keras_reference(val_sample, weights):
    """A plain keras.applications pipeline, written independently of the package: PIL decode,
    shorter side to 146 px (bilinear, antialiased), center crop 128, MobileNet preprocessing."""
    import keras

    model = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=str(weights))
    truth = read_loc_csv(val_sample / "LOC_val_solution.csv")
    paths = sorted((val_sample / "images").glob("*.JPEG"))
    batch = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        s = 146 / min(im.size)
        im = im.resize((round(im.size[0] * s), round(im.size[1] * s)), Image.BILINEAR)
        left, top = (im.size[0] - 128) // 2, (im.size[1] - 128) // 2
        batch.append(np.asarray(im.crop((left, top, left + 128, top + 128)), np.float32))
    x = keras.applications.mobilenet.preprocess_input(np.stack(batch))
    probs = model.predict(x, batch_size=50, verbose=0)
    labels = np.array([wnid_to_index()[truth[p.stem].label] for p in paths])
    order = np.argsort(-probs, axis=1)
    return int((order[:, 0] == labels).sum()), int((order[:, :5] == labels[:, None]).any(1).sum())


def test_evaluate_matches_plain_keras_reference(val_sample, mobilenet_weights):
    r = ilsvrc_keras.evaluate(val_sample / "images", labels=val_sample / "LOC_val_solution.csv",
                              model="mobilenet_0.25_128", weights=mobilenet_weights, progress=False)
    assert r["n"] == 100 and r["skipped"] == []
    ref_top1, ref_top5 = _keras_reference(val_sample, mobilenet_weights)
    assert abs(round(r["accuracy"] * 100) - ref_top1) <= 1
    assert abs(round(r["top_5_accuracy"] * 100) - ref_top5) <= 1
    # Published: 41.5% top-1 on the full validation set; 100 images scatter around it.
    assert 0.30 <= r["accuracy"] <= 0.55 and r["top_5_accuracy"] > r["accuracy"]
    assert r["top1_error"] == pytest.approx(1 - r["accuracy"])


def test_classify_inputs_agree_and_are_sorted(mobilenet, val_sample):
    path = val_sample / "images" / "ILSVRC2012_val_00000010.JPEG"
    by_path = mobilenet.classify(path)
    assert len(by_path) == 5
    probs = [p.probability for p in by_path]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    for other in (path.read_bytes(), Image.open(path), np.asarray(Image.open(path).convert("RGB"))):
        assert [p.label for p in mobilenet.classify(other)] == [p.label for p in by_path]
    batch = mobilenet.classify([path, path], top=3)
    assert len(batch) == 2 and [p.label for p in batch[0]] == [p.label for p in by_path[:3]]
    assert by_path[0].name and by_path[0].label.startswith("n")


def test_module_level_classify_caches_the_model(mobilenet_weights, val_sample):
    a = ilsvrc_keras.load("mobilenet_0.25_128", weights=mobilenet_weights)
    b = ilsvrc_keras.load("mobilenet_0.25_128", weights=str(mobilenet_weights))
    assert a is b
    preds = ilsvrc_keras.classify(val_sample / "images" / "ILSVRC2012_val_00000020.JPEG",
                                  model="mobilenet_0.25_128", weights=mobilenet_weights, top=1)
    assert len(preds) == 1


def test_exif_rotated_photo_classifies_like_the_upright_one(mobilenet, val_sample):
    upright = Image.open(val_sample / "images" / "ILSVRC2012_val_00000030.JPEG").convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera stores...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with the tag that says "rotate 90 CW to display"
    buf = io.BytesIO()
    stored.save(buf, "JPEG", quality=98, exif=exif)
    a = mobilenet.predict([upright])[0]
    b = mobilenet.predict([buf.getvalue()])[0]
    assert np.argmax(a) == np.argmax(b)
    assert np.abs(a - b).sum() < 0.25


def test_bad_image_raises_clear_error(mobilenet, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ilsvrc_keras.ImageError, match="broken.jpg"):
        mobilenet.classify(bad)


def test_evaluate_skips_undecodable_files(mobilenet, val_sample, tmp_path):
    folder = tmp_path / "n01440764"
    folder.mkdir()
    src = sorted((val_sample / "images").glob("*.JPEG"))[:3]
    for p in src:
        (folder / p.name).write_bytes(p.read_bytes())
    (folder / "zz_corrupt.JPEG").write_bytes(b"garbage")
    r = ilsvrc_keras.evaluate(tmp_path, model=mobilenet, progress=False)
    assert r["n"] == 3
    assert [p.endswith("zz_corrupt.JPEG") for p in r["skipped"]] == [True]


def test_available_models_local_first_then_downloads(monkeypatch, tmp_path, mobilenet_weights):
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(mobilenet_weights.parent))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("ILSVRC_KERAS_MODELS_DIR", raising=False)
    offline = ilsvrc_keras.available_models(offline=True)
    assert [(c.key, c.source) for c in offline] == [("mobilenet_0.25_128", "local")]
    assert offline[0].weights == str(mobilenet_weights)
    online = ilsvrc_keras.available_models(offline=False)
    assert online[0] == offline[0]
    remote = online[1:]
    assert {c.source for c in remote} == {"download"}
    assert {"resnet50", "vgg16", "resnext50"} <= {c.key for c in remote}
    assert "zfnet" not in {c.key for c in online}  # no published weights: never offered
    accuracy = [c.card["figures"].get("published_top1") or 0 for c in remote]
    assert accuracy == sorted(accuracy, reverse=True)  # most accurate first (the publishers' top-1)
    assert remote[0].key == "resnet50d" and "81.0% top-1" in remote[0].title
    # A weights file dropped into keras' cache makes that network local.
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / ilsvrc_keras.get_preset("resnet50").weights.file_name).write_bytes(b"")
    assert [c.key for c in ilsvrc_keras.available_models(offline=True)] == ["resnet50", "mobilenet_0.25_128"]


def test_classifier_index_by_label_or_name(mobilenet):
    assert mobilenet.index("n02123045") == mobilenet.index("tabby") == 281
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="no class"):
        mobilenet.index("unicorn")


def test_tta_averages_six_views_in_one_pass(mobilenet, val_sample):
    """TTA's probabilities are the mean of the network's on the center crop, the four corner crops and the
    mirrored center crop of the resized image's center square, computed here by hand."""
    photos = sorted((val_sample / "images").glob("*.JPEG"))[:3]
    squares = np.stack([mobilenet.tta_transform(ilsvrc_keras.load_image(p)).numpy() for p in photos])
    c, s = mobilenet.transform.size, squares.shape[1]
    assert s == round(c / mobilenet.transform.crop_fraction)
    o = (s - c) // 2
    views = [squares[:, o:o + c, o:o + c], squares[:, :c, :c], squares[:, :c, s - c:], squares[:, s - c:, :c],
             squares[:, s - c:, s - c:], squares[:, o:o + c, o:o + c][:, :, ::-1]]
    by_hand = np.mean([mobilenet.predict_batch(v) for v in views], axis=0)
    np.testing.assert_allclose(mobilenet.predict(photos, tta=True), by_hand, atol=1e-5)
    np.testing.assert_allclose(views[0], np.stack([mobilenet.transform(ilsvrc_keras.load_image(p)).numpy()
                                                   for p in photos]), atol=1e-3)  # the center view is classify's
    top = ilsvrc_keras.classify(photos[0], model=mobilenet, top=3, tta=True)
    assert [p.probability for p in top] == sorted([p.probability for p in top], reverse=True)


def test_evaluate_and_the_cli_take_tta(mobilenet_weights, val_sample, capsys):
    from ilsvrc_keras.cli import main

    args = [str(val_sample / "images"), "--labels", str(val_sample / "LOC_val_solution.csv"), "--model",
            "mobilenet_0.25_128", "--weights", str(mobilenet_weights), "--limit", "12", "--quiet", "--json"]
    assert main(["evaluate", *args, "--tta"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["tta"] is True and r["n"] == 12 and 0 <= r["accuracy"] <= r["top_5_accuracy"] <= 1
    photo = str(sorted((val_sample / "images").glob("*.JPEG"))[0])
    assert main(["classify", photo, "--model", "mobilenet_0.25_128", "--weights", str(mobilenet_weights), "--tta",
                 "--top", "2", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"][0]["predictions"]) == 2


@pytest.mark.slow
def test_evaluate_names_what_it_confuses_and_draws_its_top_losses(mobilenet_weights, val_sample, tmp_path, capsys):
    from ilsvrc_keras.cli import main

    args = ["evaluate", str(val_sample / "images"), "--labels", str(val_sample / "LOC_val_solution.csv"), "--model",
            "mobilenet_0.25_128", "--weights", str(mobilenet_weights), "--limit", "20", "--quiet", "--json",
            "--top-losses", str(tmp_path / "losses.png")]
    assert main(args) == 0
    r = json.loads(capsys.readouterr().out)
    wrong = round(r["n"] * (1 - r["accuracy"]))
    assert len(r["top_losses"]) == min(9, wrong) and all(i["true"] != i["predicted"] for i in r["top_losses"])
    assert [i["loss"] for i in r["top_losses"]] == sorted((i["loss"] for i in r["top_losses"]), reverse=True)
    assert all(Path(i["image"]).is_file() for i in r["top_losses"]) and r["most_confused"]
    assert (tmp_path / "losses.png").read_bytes()[:4] == b"\x89PNG" and r["top_losses_png"] == str(tmp_path / "losses.png")
    assert main(args) == 2  # the picture it drew is replaced only with --overwrite
    capsys.readouterr()
    assert main([*args, "--overwrite"]) == 0
