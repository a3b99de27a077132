"""The evaluation transform and its inverse: geometry, and boxes mapped back to the original."""

import numpy as np
import pytest

from ilsvrc_keras.transforms import EvalTransform


@pytest.mark.parametrize("h,w", [(375, 500), (500, 375), (146, 146), (100, 1000), (64, 48)])
def test_geometry(h, w):
    t = EvalTransform(128, 128 / 146, "tf")
    g = t.geometry(h, w)
    assert min(g.resized) == 146
    assert abs(g.resized[0] / g.resized[1] - h / w) < 0.02
    assert g.top == (g.resized[0] - 128) // 2 and g.left == (g.resized[1] - 128) // 2
    out = t(np.zeros((h, w, 3), np.uint8))
    assert out.shape == (128, 128, 3)
    assert float(out.numpy().min()) == -1.0  # "tf" mode: 0 -> -1


@pytest.mark.parametrize("h,w", [(300, 480), (480, 300)])
def test_box_round_trip_and_marker_position(h, w):
    """A white square drawn in the original shows up in the crop where original_to_crop says,
    and crop_to_original maps the crop's box back onto the square (portrait and landscape)."""
    t = EvalTransform(128, 0.875, "tf")
    image = np.zeros((h, w, 3), np.uint8)
    box = np.array([w * 0.45, h * 0.40, w * 0.60, h * 0.55])
    x0, y0, x1, y1 = box.round().astype(int)
    image[y0:y1, x0:x1] = 255
    crop = t.crop(image).numpy()[..., 0]
    ys, xs = np.nonzero(crop > 127)
    found = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
    expected = t.original_to_crop([x0, y0, x1, y1], h, w)
    np.testing.assert_allclose(found, expected, atol=1.5)
    back = t.crop_to_original(found, h, w)
    np.testing.assert_allclose(back, [x0, y0, x1, y1], atol=max(h, w) / 146 * 1.5)
    np.testing.assert_allclose(t.crop_to_original(t.original_to_crop(box, h, w), h, w), box, atol=1e-6)


def test_crop_to_original_clips_to_the_image():
    t = EvalTransform(224, 0.875, "caffe")
    g = t.geometry(300, 400)  # resized to (256, 341), crop at top 16, left 58
    assert (g.resized, g.top, g.left) == ((256, 341), 16, 58)
    b = t.crop_to_original([-50, -50, 400, 400], 300, 400)
    np.testing.assert_allclose(b, [(58 - 50) * 400 / 341, 0, 400, 300])


@pytest.mark.parametrize("mode,first", [("tf", -1.0), ("torch", -0.485 / 0.229)])
def test_normalization_modes(mode, first):
    out = EvalTransform(32, 1.0, mode)(np.zeros((32, 32, 3), np.uint8)).numpy()
    assert out[0, 0, 0] == pytest.approx(first, rel=1e-5)
    caffe = EvalTransform(32, 1.0, "caffe")(np.zeros((32, 32, 3), np.uint8)).numpy()
    np.testing.assert_allclose(caffe[0, 0], [-103.939, -116.779, -123.68], rtol=1e-5)  # BGR order


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_normalize_equals_keras_preprocess_input(mode):
    from keras.applications import imagenet_utils

    pixels = np.random.default_rng(1).integers(0, 256, (2, 5, 7, 3)).astype(np.uint8)
    ours = EvalTransform(32, 1.0, mode).normalize(pixels).numpy()
    theirs = imagenet_utils.preprocess_input(pixels.astype(np.float32), mode=mode)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-4)
