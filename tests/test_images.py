"""Any user image becomes RGB uint8; bad input is a clear ImageError naming the file."""

import io

import numpy as np
import pytest
from PIL import Image

import ilsvrc_keras
from ilsvrc_keras import ImageError, load_image


def _encode(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def _gradient(w=40, h=30):
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :, None]
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None, None]
    return np.concatenate([np.broadcast_to(x, (h, w, 1)), np.broadcast_to(y, (h, w, 1)),
                           np.full((h, w, 1), 128, np.uint8)], axis=-1)


def test_path_bytes_fileobj_and_pil_agree(tmp_path):
    rgb = Image.fromarray(_gradient())
    path = tmp_path / "g.png"
    rgb.save(path)
    a = load_image(path)
    assert a.dtype == np.uint8 and a.shape == (30, 40, 3)
    np.testing.assert_array_equal(a, load_image(path.read_bytes()))
    np.testing.assert_array_equal(a, load_image(io.BytesIO(path.read_bytes())))
    np.testing.assert_array_equal(a, load_image(rgb))
    np.testing.assert_array_equal(a, _gradient())


def test_modes_are_converted():
    g = _gradient()
    gray = load_image(_encode(Image.fromarray(g[..., 0]), "PNG"))
    assert gray.shape == (30, 40, 3) and (gray[..., 0] == gray[..., 2]).all()
    cmyk = load_image(_encode(Image.fromarray(g).convert("CMYK"), "JPEG", quality=95))
    assert cmyk.shape == (30, 40, 3) and np.abs(cmyk.astype(int) - g).mean() < 12
    palette = load_image(_encode(Image.fromarray(g).convert("P"), "GIF"))
    assert palette.shape == (30, 40, 3)
    # 16-bit grayscale PNG: 0..65535 scaled to 0..255, not clipped.
    sixteen = (np.linspace(0, 65535, 40)[None, :].repeat(30, 0)).astype(np.uint16)
    out = load_image(_encode(Image.fromarray(sixteen), "PNG"))
    assert out[0, 0, 0] == 0 and out[0, -1, 0] == 255 and out[0, 20, 0] not in (0, 255)


def test_rgba_is_composited_on_white():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:5, :, 3] = 255  # top half opaque red, bottom half transparent
    out = load_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[9, 9]) == (255, 255, 255)
    np.testing.assert_array_equal(load_image(rgba), out)


def test_exif_orientation_is_applied():
    g = _gradient(40, 30)
    image = Image.fromarray(g)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = load_image(_encode(image, "JPEG", exif=exif, quality=95))
    assert out.shape == (40, 30, 3)  # portrait after the rotation


def test_animation_gives_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out = load_image(buf.getvalue())
    assert out[0, 0, 0] > 200 and out[0, 0, 2] < 50


@pytest.mark.parametrize("data,match", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "not an image|corrupt"),
])
def test_bad_bytes(data, match):
    with pytest.raises(ImageError, match=match):
        load_image(data)


def test_truncated_jpeg_names_the_file(tmp_path):
    data = _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.jpg.*(corrupt|truncated)"):
        load_image(path)


def test_missing_file_and_non_image_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.jpg")
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(ImageError, match="notes.jpg: not an image"):
        load_image(text)


def test_pixel_bomb_is_refused_before_decoding():
    # A 20000 x 20000 PNG header (400 megapixels) with almost no data: refused from its size alone.
    big = _encode(Image.new("1", (20000, 20000)), "PNG")
    assert len(big) < 200_000
    with pytest.raises(ImageError, match="too large"):
        load_image(big)
    with pytest.raises(ImageError, match="too large"):
        load_image(_encode(Image.new("RGB", (100, 100)), "PNG"), max_pixels=5000)


def test_the_pixel_limit_is_100_megapixels_and_strips_are_refused():
    """Pillow's own warning starts at 89.5 megapixels; the documented limit is 100 (checked from the header)."""
    ok = load_image(_encode(Image.new("1", (10_000, 9_500)), "PNG"))  # 95 megapixels
    assert ok.shape == (9_500, 10_000, 3)
    del ok
    with pytest.raises(ImageError, match="101 megapixels"):
        load_image(_encode(Image.new("1", (10_100, 10_000)), "PNG"))
    for size in ((20_000, 1), (1, 20_000), (5_000, 40)):
        with pytest.raises(ImageError, match="strip, not a photo"):
            load_image(_encode(Image.new("RGB", size), "PNG"))
    with pytest.raises(ImageError, match="strip"):
        load_image(np.zeros((1, 20_000, 3), np.uint8))
    assert load_image(_encode(Image.new("RGB", (4_000, 40)), "PNG")).shape == (40, 4_000, 3)  # 1:100, a panorama


@pytest.mark.parametrize("array,match", [
    (np.zeros((4, 4, 2), np.uint8), "array"),
    (np.zeros((0, 4, 3), np.uint8), "array"),
    (np.zeros((2, 4, 4, 3), np.uint8), "array"),
    (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
])
def test_bad_arrays(array, match):
    with pytest.raises(ImageError, match=match):
        load_image(array)


def test_array_dtypes():
    assert load_image(np.full((2, 2, 3), 300.0)).max() == 255
    np.testing.assert_array_equal(load_image(np.full((2, 2), 65535, np.uint16)), 255)
    np.testing.assert_array_equal(load_image(np.ones((2, 2, 1), bool)), 255)


def test_a_float_image_in_0_1_is_read_as_its_uint8_twin(val_sample, mobilenet):
    """matplotlib's and skimage's images are floats in [0, 1]: read as such, they answer as the uint8 photo."""
    photo = ilsvrc_keras.load_image(val_sample / "images" / "ILSVRC2012_val_00000020.JPEG")
    as_float = photo.astype(np.float32) / 255.0
    np.testing.assert_array_equal(ilsvrc_keras.load_image(as_float), photo)
    assert mobilenet.classify(as_float, top=1)[0].label == mobilenet.classify(photo, top=1)[0].label


def test_labels_that_are_not_class_indices_are_refused():
    x = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(ilsvrc_keras.DataError, match="whole class indices"):
        ilsvrc_keras.open_dataset((x, np.array([0.0, 1.0, 0.5, 1.0])), val_fraction=0.5)
    with pytest.raises(ilsvrc_keras.DataError, match="no class is -1"):
        ilsvrc_keras.open_dataset((x, np.array([0, 1, -1, 1])), val_fraction=0.5)
    with pytest.raises(ilsvrc_keras.DataError, match="labels go up to 5 but only 2 class names"):
        ilsvrc_keras.open_dataset((x, np.array([0, 1, 5, 1])), class_names=["a", "b"], val_fraction=0.5)
    ds = ilsvrc_keras.open_dataset((x, np.array([0.0, 1.0, 0.0, 1.0])), val_fraction=0.5)  # whole floats are fine
    assert sorted(ds.train.labels + ds.val.labels) == [0, 0, 1, 1]
