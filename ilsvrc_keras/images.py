"""Any user image -> RGB ``uint8`` array, safely.

Accepts paths, bytes, file objects, PIL images and arrays. Applies the EXIF orientation;
converts grayscale, palette, RGBA/LA (composited on white), CMYK and 16-bit or float images;
takes the first frame of animations. Rejects empty, non-image and truncated files, pixel
bombs (over :data:`MAX_PIXELS`, checked from the header before decoding) and strips thinner than
1:``MAX_ASPECT`` (whose resize to the network's input would be unbounded: a 30 KB 10000x1 PNG
cost 2.5 GB) with an :class:`ImageError` that names the input.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

MAX_PIXELS = 100_000_000  # 100 megapixels; larger inputs are refused before decoding
# Longer side / shorter side. Resizing the shorter side to the input size (256 px for 224 crops) makes
# a 1:100 strip 25,600 x 256 px (75 MB as float32), a 1:20000 one 5 million px wide (15 GB).
MAX_ASPECT = 100
ImageInput = Union[str, os.PathLike, bytes, bytearray, "io.IOBase", Image.Image, np.ndarray]


def describe(src) -> str:
    """A short name for an input, for error messages."""
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    if isinstance(src, (bytes, bytearray)):
        return f"<{len(src)} bytes>"
    if isinstance(src, np.ndarray):
        return f"<array {src.shape} {src.dtype}>"
    return getattr(src, "name", None) or f"<{type(src).__name__}>"


def load_image(src: ImageInput, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read ``src`` as an ``(H, W, 3)`` RGB ``uint8`` array.

    >>> from ilsvrc_keras.images import load_image
    >>> import numpy as np
    >>> load_image(np.zeros((4, 6), np.uint8)).shape
    (4, 6, 3)
    """
    name = describe(src)
    if isinstance(src, np.ndarray):
        return _from_array(src, name)
    if isinstance(src, Image.Image):
        return _from_pil(src, name, max_pixels)
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        check_image_path(path, name)
        data = path.read_bytes()
    elif isinstance(src, (bytes, bytearray)):
        data = bytes(src)
    elif hasattr(src, "read"):
        data = src.read()
    else:
        raise ImageError(f"{name}: not an image input (expected a path, bytes, a PIL image or an array)")
    image = _open(data, name)
    try:
        _check_pixels(image, name, max_pixels)
        return _from_pil(image, name, max_pixels)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, ImageError):
            raise
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from None


def check_image_path(path: Path, name: str) -> None:
    """A path given as an image must be a regular file: a folder, a FIFO or a device (``/dev/zero`` would be
    read forever), a missing file or an impossible name is one :class:`ImageError` saying which."""
    import errno
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            longest = max((len(part) for part in Path(path).parts), default=0)
            raise ImageError(f"{name[:60]}...: the file name is too long ({longest} characters in one name; "
                             "file systems allow 255)") from None
        raise ImageError(f"{name}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise ImageError(f"{name}: is a folder, not an image file")
    if not stat.S_ISREG(mode):
        raise ImageError(f"{name}: is not a regular file (a FIFO, a socket or a device); give an image file")


def _open(source, name: str) -> Image.Image:
    """Pillow's lazy open (the header only) of encoded bytes or a binary file, its failures as
    :class:`ImageError` naming the input."""
    if isinstance(source, (bytes, bytearray)):
        if not source:
            raise ImageError(f"{name}: the file is empty")
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            # Pillow warns from 89.5 MP; the limit here is MAX_PIXELS, checked from the header by the
            # callers (Pillow itself still refuses twice its own limit, before anything is decoded).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(source)
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: image too large ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from None


def inspect_encoded(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS) -> tuple:
    """``(height, width, needs_pillow)`` of an encoded image, from its header alone, after the limits
    :func:`load_image` applies (an :class:`ImageError` otherwise). ``needs_pillow``: TensorFlow's own
    decoder would not give :func:`load_image`'s pixels (EXIF-rotated or CMYK JPEGs, PNGs with
    transparency, palettes or 16 bits, GIF, BMP, WebP, TIFF ...): the training and evaluation
    pipelines decode those through :func:`load_image`, and the plain RGB/gray JPEGs and PNGs that
    make up nearly every dataset with TensorFlow."""
    image = _open(data, name)
    w, h = image.size
    check_shape(h, w, name, max_pixels)
    return h, w, _needs_pillow(image)


def _needs_pillow(image: Image.Image) -> bool:
    """Whether TensorFlow's own decoder would not give :func:`load_image`'s pixels (see :func:`inspect_encoded`)."""
    if image.format == "JPEG":
        try:
            orientation = image.getexif().get(0x0112, 1)
        except Exception:  # a damaged EXIF block: let Pillow's reader decide
            orientation = None
        return image.mode not in ("RGB", "L") or orientation != 1
    if image.format == "PNG":
        return image.mode not in ("RGB", "L") or "transparency" in image.info
    return True


def check_file(path, max_pixels: int = MAX_PIXELS) -> tuple:
    """``(height, width, needs_pillow)`` of the image file at ``path``, read from its header alone (a few
    KB), after the limits :func:`load_image` applies; an :class:`ImageError` naming the file otherwise
    (empty, not an image, too large, a strip). What datasets check at the door, so that a class whose files
    are all unreadable is an error before training, not a silent gap; ``needs_pillow`` as
    :func:`inspect_encoded` says it, so that the pipelines need not read the header again each epoch.

    >>> from ilsvrc_keras.images import check_file
    >>> check_file("/etc/hostname")  # doctest: +SKIP
    Traceback (most recent call last):
    ImageError: /etc/hostname: not an image file (or a format Pillow cannot read)
    """
    name = str(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except OSError as exc:
        raise ImageError(f"{name}: cannot be read ({exc.strerror})") from None
    with f:
        if not f.read(1):
            raise ImageError(f"{name}: the file is empty")
        f.seek(0)
        image = _open(f, name)
        w, h = image.size
        check_shape(h, w, name, max_pixels)
        return h, w, _needs_pillow(image)


def _check_pixels(image: Image.Image, name: str, max_pixels: int) -> None:
    w, h = image.size
    check_shape(h, w, name, max_pixels)


def check_shape(height: int, width: int, name: str, max_pixels: int = MAX_PIXELS) -> None:
    """The limits every image reader applies to a size read from a header, before decoding."""
    w, h = int(width), int(height)
    if w * h > max_pixels:
        raise ImageError(
            f"{name}: image too large ({w}x{h} = {w * h / 1e6:.0f} megapixels; the limit is "
            f"{max_pixels / 1e6:.0f})"
        )
    if w == 0 or h == 0:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise ImageError(f"{name}: a {w}x{h} strip, not a photo (the longer side may be at most {MAX_ASPECT} times "
                         "the shorter)")


def _from_pil(image: Image.Image, name: str, max_pixels: int) -> np.ndarray:
    _check_pixels(image, name, max_pixels)
    image.load()  # decode now, so that truncated data fails here with the file's name
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        # 16-bit grayscale (PNG, TIFF): Pillow gives 0-65535 integers; scale to 8 bits.
        return _from_array(np.asarray(image).astype(np.uint16), name)
    if mode == "F":
        return _from_array(np.asarray(image), name)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _from_array(array: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)) or 0 in a.shape:
        raise ImageError(f"{name}: expected an (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array")
    check_shape(a.shape[0], a.shape[1], name)
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.uint16:
        a = np.rint(a.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    elif a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer):
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise ImageError(f"{name}: array holds NaN or infinite values")
        # Numeric arrays are 0-255 pixel values (keras.utils.img_to_array's), except floats that never
        # exceed 1, which are 0-1 images (matplotlib's, skimage's): the datasets' rule too (_as_uint8).
        scale = 255.0 if np.issubdtype(a.dtype, np.floating) and float(a.max()) <= 1.0 else 1.0
        a = np.clip(np.rint(a.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    else:
        raise ImageError(f"{name}: unsupported array dtype {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    elif a.shape[-1] == 4:
        alpha = a[..., 3:4].astype(np.float32) / 255.0
        a = np.rint(a[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(a)
