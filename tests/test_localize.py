"""Localization: heat map -> box, boxes mapped back through resize and crop, the ILSVRC metric,
and the real network on real ImageNet validation images."""

import json

import numpy as np
import pytest
from PIL import Image

import ilsvrc_keras
from ilsvrc_keras import localization as L
from ilsvrc_keras.inference import Classifier
from ilsvrc_keras.metrics import iou, localization_hits
from ilsvrc_keras.transforms import EvalTransform

# -- heat map -> box ------------------------------------------------------------------------------

def test_heatmap_to_box_largest_component_and_all():
    m = np.zeros((20, 30), np.float32)
    m[2:6, 3:9] = 1.0        # big blob: 4 x 6
    m[15:17, 25:27] = 0.9    # small blob far away
    assert L.heatmap_to_box(m, 0.5, "largest") == (3.0, 2.0, 9.0, 6.0)
    assert L.heatmap_to_box(m, 0.5, "all") == (3.0, 2.0, 27.0, 17.0)
    assert L.heatmap_to_box(m, 0.95, "all") == (3.0, 2.0, 9.0, 6.0)  # relative to the maximum
    assert L.heatmap_to_box(np.zeros((5, 7)), 0.2) == (0.0, 0.0, 7.0, 5.0)  # no signal: everything


# -- the metric, hand-computed ----------------------------------------------------------------------

def test_iou_hand_computed():
    assert float(iou([0, 0, 10, 10], [0, 0, 10, 10])) == 1.0
    assert float(iou([0, 0, 10, 10], [5, 0, 15, 10])) == pytest.approx(50 / 150)
    assert float(iou([0, 0, 10, 10], [20, 20, 30, 30])) == 0.0
    assert float(iou([0, 0, 4, 4], [1, 1, 3, 3])) == pytest.approx(4 / 16)
    np.testing.assert_allclose(iou([[0, 0, 2, 2]], [[0, 0, 2, 2], [1, 1, 3, 3]]), [1.0, 1 / 7])


def test_localization_hits_with_several_true_boxes():
    true_boxes = [(0, 0, 10, 10), (50, 50, 100, 100)]
    # Class 7 is right; its box matches the second true box only (IoU 0.81): a hit.
    boxes = {7: (55, 55, 100, 100), 3: (0, 0, 10, 10)}
    assert localization_hits([7, 3], boxes, 7, true_boxes) == (True, True, True)
    # Right class second: top-1 misses, top-5 hits.
    assert localization_hits([3, 7], boxes, 7, true_boxes) == (False, True, True)
    # Right class, box beside every true box (IoU < 0.5): no localization hit at all.
    assert localization_hits([7], {7: (20, 20, 45, 45)}, 7, true_boxes) == (False, False, False)
    # A perfect box for the wrong class does not count; gt_known judges the true class's box.
    assert localization_hits([3], {3: (0, 0, 10, 10), 7: (0, 0, 10, 10)}, 7, true_boxes) == (False, False, True)


# -- the whole pipeline with a network whose heat map is known ------------------------------------

def _brightness_classifier(size=64):
    """A network whose class-1 evidence is the pixel brightness: 1x1 conv (ReLU) -> GAP -> dense.
    Its CAM and Grad-CAM for class 1 are the brightness map itself, so the true box is known."""
    import keras

    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(1, 1, activation="relu", name="features")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, out)
    model.get_layer("features").set_weights([np.full((1, 1, 3, 1), 1 / 3, np.float32), np.array([-0.5], np.float32)])
    model.get_layer("predictions").set_weights([np.array([[-1.0, 1.0]], np.float32), np.zeros(2, np.float32)])
    transform = EvalTransform(size, 0.875, "tf")  # "tf": black -> -1, white -> 1; ReLU(x - 0.5) keeps white
    return Classifier(model, transform, [("dark", "dark"), ("bright", "bright")], "brightness",
                      {"explain_layer": "features"})


@pytest.mark.parametrize("method", ["gradcam", "cam", "gradcam++"])
@pytest.mark.parametrize("region", ["crop", "image", "full"])
@pytest.mark.parametrize("h,w", [(300, 480), (480, 300)])
def test_bright_object_on_plain_background(method, region, h, w):
    image = np.full((h, w, 3), 20, np.uint8)
    obj = np.array([w * 0.40, h * 0.35, w * 0.62, h * 0.60]).round()
    x0, y0, x1, y1 = obj.astype(int)
    image[y0:y1, x0:x1] = 250
    loc = L.Localizer(_brightness_classifier())
    found = loc.localize(image, top=1, method=method, region=region, threshold=0.5, scale=1.0,
                         component="largest")
    assert found[0].name == "bright"
    assert float(iou(found[0].box, obj)) >= 0.8  # boxes come back in original pixels
    assert found[0].heatmap.shape == (h, w)
    assert 0.0 <= found[0].heatmap.min() and found[0].heatmap.max() <= 1.0
    hot = np.unravel_index(np.argmax(found[0].heatmap), found[0].heatmap.shape)
    assert y0 <= hot[0] < y1 and x0 <= hot[1] < x1


def test_object_outside_the_center_crop_needs_the_whole_image():
    h, w = 200, 600
    image = np.full((h, w, 3), 20, np.uint8)
    image[60:140, 500:580] = 250  # right edge: the center crop (middle 200 px) never sees it
    loc = L.Localizer(_brightness_classifier())
    box = loc.localize(image, top=1, classes=[1], region="image", threshold=0.5)[0].box
    assert float(iou(box, (500, 60, 580, 140))) >= 0.7


def test_cam_needs_global_pooling():
    model = ilsvrc_keras.create_model("vgg11", num_classes=3, input_shape=(64, 64, 3))
    clf = Classifier(model, EvalTransform(64, 0.875, "caffe"), [("a", "a"), ("b", "b"), ("c", "c")], "vgg11",
                     {"explain_layer": "block5_conv2"})
    loc = L.Localizer(clf)
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="global average pooling"):
        loc.localize(np.zeros((80, 80, 3), np.uint8), method="cam")
    with pytest.raises(ilsvrc_keras.ArgumentError, match=r"method must be one of gradcam, gradcam\+\+, scorecam, "
                                                       r"cam, not 'saliency'"):
        loc.localize(np.zeros((80, 80, 3), np.uint8), method="saliency")
    assert loc.resolve_scale(None) == 1.0  # a fixed-size head: heat maps at the input size
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="cannot run at 128 px"):
        loc.localize(np.zeros((80, 80, 3), np.uint8), scale=2.0)
    found = loc.localize(np.zeros((80, 80, 3), np.uint8), top=2, method="gradcam")
    assert len(found) == 2


# -- the real network ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "scorecam", "cam"])
def test_every_method_on_a_real_photo(mobilenet, val_sample, method):
    path = val_sample / "images" / "ILSVRC2012_val_00000010.JPEG"
    w, h = Image.open(path).size
    found = ilsvrc_keras.localize(path, model=mobilenet, method=method, top=1)
    f = found[0]
    assert f.heatmap.shape == (h, w) and f.heatmap.max() == pytest.approx(1.0, abs=0.05)
    x0, y0, x1, y1 = f.box
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert f.name == mobilenet.classify(path, top=1)[0].name


def test_the_methods_really_differ(mobilenet, val_sample):
    """Grad-CAM, Grad-CAM++ and CAM weigh the feature maps differently: on real photos their maps differ
    (their boxes may still agree: MobileNet-0.25 at 128 px has a 4x4 map, whose threshold region is coarse)."""
    paths = sorted((val_sample / "images").glob("*.JPEG"))[:3]
    for path in paths:
        maps = {m: ilsvrc_keras.localize(path, model=mobilenet, method=m, top=1)[0].heatmap
                for m in ("gradcam", "gradcam++", "cam")}
        for a, b in (("gradcam", "gradcam++"), ("gradcam", "cam"), ("gradcam++", "cam")):
            assert np.abs(maps[a] - maps[b]).max() > 0.1, (path.name, a, b)
            assert np.corrcoef(maps[a].ravel(), maps[b].ravel())[0, 1] < 0.999, (path.name, a, b)


def test_a_chosen_class_by_index_label_or_name(mobilenet, val_sample):
    from ilsvrc_keras.localization import localizer_for

    path = val_sample / "images" / "ILSVRC2012_val_00000010.JPEG"
    loc = localizer_for(mobilenet)
    second = mobilenet.classify(path, top=2)[1]
    by_index = loc.localize(path, classes=[mobilenet.index(second.label)])[0]
    for key in (second.label, second.name):
        found = loc.localize(path, classes=[key])[0]
        assert (found.label, found.box) == (second.label, by_index.box)
        np.testing.assert_allclose(found.heatmap, by_index.heatmap, atol=1e-6)


@pytest.mark.slow
def test_ilsvrc_localization_on_the_shared_validation_images(val_sample, mobilenet):
    """The defaults were chosen on these 100 images (docs/benchmarks.md): a regression guard."""
    r = ilsvrc_keras.evaluate(val_sample / "images", labels=val_sample / "LOC_val_solution.csv", model=mobilenet,
                              localization=True, progress=False)
    assert r["n"] == 100
    assert r["top1_loc"] <= r["top5_loc"] and r["top1_loc"] <= r["accuracy"]
    assert r["top1_loc"] >= 0.26 and r["gt_known_loc"] >= 0.53
    # The textbook setting (center crop, threshold 0.15, largest component) localizes worse.
    textbook = ilsvrc_keras.evaluate(val_sample / "images", labels=val_sample / "LOC_val_solution.csv",
                                     model=mobilenet, localization=True, progress=False, region="crop",
                                     scale=1.0, threshold=0.15, component="largest")
    assert textbook["gt_known_loc"] < r["gt_known_loc"]


def test_localization_needs_boxes(val_sample, mobilenet, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(["n01440764"] * 10))
    with pytest.raises(ilsvrc_keras.DataError, match="boxes"):
        ilsvrc_keras.evaluate(val_sample / "images", labels=labels, model=mobilenet, localization=True)


def test_overlay_png(mobilenet, val_sample, tmp_path):
    from ilsvrc_keras.images import load_image
    from ilsvrc_keras.plots import localization_overlay, save

    image = load_image(val_sample / "images" / "ILSVRC2012_val_00000020.JPEG")
    found = ilsvrc_keras.localize(image, model=mobilenet, top=3)
    out = save(localization_overlay(image, found, all_boxes=True), tmp_path / "overlay.png")
    png = np.asarray(Image.open(out))
    assert png.shape[:2] == image.shape[:2]
    assert np.abs(png[..., :3].astype(int) - image.astype(int)).mean() > 5  # the heat map is drawn


@pytest.mark.slow
def test_cli_localize_json_and_overlay(val_sample, mobilenet_weights, tmp_path):
    from test_cli import run

    out = tmp_path / "overlay.png"
    p = run("localize", val_sample / "images" / "ILSVRC2012_val_00000010.JPEG", "--weights", mobilenet_weights,
            "--top", "2", "--out", out, "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert len(r["results"]) == 2 and len(r["results"][0]["box"]) == 4
    assert Image.open(out).format == "PNG"


def test_a_one_pixel_photo_localizes_and_draws(mobilenet, tmp_path):
    from PIL import Image

    from ilsvrc_keras.plots import localization_overlay, save

    Image.new("RGB", (1, 1), (200, 10, 10)).save(tmp_path / "dot.png")
    found = ilsvrc_keras.localize(tmp_path / "dot.png", model=mobilenet, top=1)
    x0, y0, x1, y1 = found[0].box
    assert 0 <= x0 <= x1 <= 1 and 0 <= y0 <= y1 <= 1
    save(localization_overlay(ilsvrc_keras.load_image(tmp_path / "dot.png"), found), tmp_path / "o.png")
    assert Image.open(tmp_path / "o.png").size == (1, 1)
