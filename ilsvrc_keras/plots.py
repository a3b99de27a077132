"""Pictures a person would rather look at than read: heat-map overlays with labeled boxes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BOX_COLORS = [(255, 255, 255), (255, 215, 0), (0, 255, 255), (255, 105, 180), (124, 252, 0)]


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without scalable default font
        return ImageFont.load_default()


def overlay(image: np.ndarray, heatmap: Optional[np.ndarray] = None, boxes: Sequence = (),
            captions: Sequence[str] = (), alpha: float = 0.6, colormap: str = "jet") -> Image.Image:
    """The image with ``heatmap`` (``(H, W)`` in [0, 1]) blended on it and each box drawn with
    its caption (e.g. ``"tabby 61%"``). Returns a PIL image; save it with ``.save("x.png")``.
    """
    import matplotlib

    base = Image.fromarray(np.asarray(image, np.uint8)).convert("RGB")
    if heatmap is not None:
        heat = np.clip(np.asarray(heatmap, np.float32), 0, 1)
        colored = Image.fromarray((matplotlib.colormaps[colormap](heat)[..., :3] * 255).astype(np.uint8))
        # Opacity follows the heat, so that cold regions show the photo as it is.
        mask = Image.fromarray((np.sqrt(heat) * alpha * 255).astype(np.uint8))
        base = Image.composite(colored.resize(base.size, Image.BILINEAR), base, mask.resize(base.size, Image.BILINEAR))
    draw = ImageDraw.Draw(base)
    width = max(2, round(min(base.size) / 150))
    font = _font(max(12, round(min(base.size) / 22)))
    for i, box in enumerate(boxes):
        color = BOX_COLORS[i % len(BOX_COLORS)]
        x0, y0, x1, y1 = [float(v) for v in box]
        # The last pixel row/column inside the box, never before the first (a box of 1 px, a 1x1 photo).
        draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=color, width=width)
        if i < len(captions) and captions[i]:
            tx, ty = x0 + width, max(0.0, y0 + width)
            left, top, right, bottom = draw.textbbox((tx, ty), captions[i], font=font)
            draw.rectangle([left - 2, top - 2, right + 2, bottom + 2], fill=(0, 0, 0))
            draw.text((tx, ty), captions[i], fill=color, font=font)
    return base


def thumbnail(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` shrunk (aspect kept) so that its longest side is at most ``size`` pixels."""
    picture = Image.fromarray(np.asarray(image, np.uint8))
    picture.thumbnail((size, size), Image.LANCZOS)
    return np.asarray(picture)


def localization_overlay(image: np.ndarray, found, index: int = 0, all_boxes: bool = False) -> Image.Image:
    """Overlay for :func:`ilsvrc_keras.localize` results: the heat map of ``found[index]`` and its
    box (or every class's box with ``all_boxes``), each captioned with name and probability."""
    chosen = list(found) if all_boxes else [found[index]]
    return overlay(image, found[index].heatmap, [f.box for f in chosen],
                   [f"{f.name} {f.probability:.0%}" for f in chosen])


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or wanted
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path, overwrite=None) -> Path:
    from .files import IMAGE_MARK, image_output, save_atomic

    fig.tight_layout()
    # PNGs carry this package's mark, so that a later --overwrite knows the file as its own.
    mark = {"metadata": {"Software": IMAGE_MARK}} if Path(path).suffix.lower() == ".png" else {}
    try:
        return save_atomic(image_output(path, overwrite=overwrite), lambda tmp: fig.savefig(tmp, dpi=100, **mark))
    finally:
        _pyplot().close(fig)


def save(image: Image.Image, path, *, sources=(), overwrite=None) -> Path:
    """Write ``image`` (a PIL image, e.g. from :func:`overlay`) to ``path``, checked first
    (:func:`~ilsvrc_keras.files.image_output`: with ``overwrite`` given, an existing file is replaced only
    if this package made it) and written whole or not at all, marked as this package's."""
    from PIL import PngImagePlugin

    from .files import IMAGE_MARK, image_output, save_atomic

    def write(tmp):
        suffix = tmp.suffix.lower()
        if suffix == ".png":
            info = PngImagePlugin.PngInfo()
            info.add_text("Software", IMAGE_MARK)
            image.save(tmp, pnginfo=info)
        elif suffix in (".jpg", ".jpeg"):
            image.convert("RGB").save(tmp, comment=IMAGE_MARK.encode())
        else:
            (image.convert("RGB") if suffix == ".bmp" else image).save(tmp)

    return save_atomic(image_output(path, sources=sources, overwrite=overwrite), write)


def training_curves(history, path) -> Path:
    """PNG of loss and accuracy per epoch (train and validation) from ``history.csv`` rows."""
    plt = _pyplot()

    def col(name):
        return [float(r[name]) if r.get(name) not in (None, "", "None") else np.nan for r in history]

    epochs = [int(r["epoch"]) for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, col("loss"), "o-", label="train")
    ax1.plot(epochs, col("val_loss"), "o-", label="validation")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(epochs, col("accuracy"), "o-", label="train")
    ax2.plot(epochs, col("val_accuracy"), "o-", label="validation top-1")
    top5 = np.array(col("val_top_5_accuracy"))
    # With five classes or fewer, top-5 is always 1.0: a line that says nothing is left out.
    if np.isfinite(top5).any() and not np.all(top5[np.isfinite(top5)] >= 1.0):
        ax2.plot(epochs, col("val_top_5_accuracy"), "o--", label="validation top-5")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0, 1)
    ax2.legend()
    ax2.grid(alpha=0.3)
    # Progressive resizing: a dotted line where the training size changes, labelled with the new size
    # (validation jumps there, and a reader should see why).
    sizes = [r.get("image_size") for r in history]
    for i in range(1, len(sizes)):
        if sizes[i] not in (None, "") and sizes[i - 1] not in (None, "") and sizes[i] != sizes[i - 1]:
            for ax in (ax1, ax2):
                ax.axvline(epochs[i] - 0.5, color="grey", linestyle=":", linewidth=1)
            ax2.text(epochs[i] - 0.4, 0.03, f"{sizes[i]} px", color="grey", fontsize=8)
    return _save_figure(fig, path)


def lr_find_png(result, path, overwrite=None) -> Path:
    """The learning-rate finder's curve (smoothed loss against the rate, log scale) with the suggested rate
    (valley) and the steepest descent marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(result.lrs, result.losses, color="lightgrey", linewidth=1, label="loss")
    ax.plot(result.lrs, result.smoothed, color="C0", label="smoothed loss")
    low = min(result.smoothed)
    for rate, name, colour in ((result.suggestion, "suggested (valley)", "C3"), (result.steepest, "steepest", "C2")):
        at = result.smoothed[result.lrs.index(rate)] if rate in result.lrs else low
        ax.plot([rate], [at], "o", color=colour, label=f"{name}: {rate:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    top = min(max(result.smoothed), 4 * low) if low > 0 else max(result.smoothed)
    ax.set_ylim(min(result.smoothed) * 0.95, top * 1.05)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    ax.set_title("Learning-rate finder" + (" (stopped at divergence)" if result.stopped_early else ""))
    return _save_figure(fig, path, overwrite=overwrite)


# The most classes a confusion matrix figure shows (beyond: the most confused of them, said in its title).
MAX_MATRIX_CLASSES = 40


def confusion_matrix_png(matrix, class_names, path, normalize: bool = True) -> Path:
    """PNG of a confusion matrix (rows: true class, columns: predicted), counts in each cell."""
    plt = _pyplot()

    m = np.asarray(matrix, np.float64)
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    title = None
    if len(class_names) > MAX_MATRIX_CLASSES:  # a 1,000-class figure is 60,000 px wide: the most confused only
        off = shown - np.diag(np.diag(shown))
        keep = np.sort(np.argsort(-(off.sum(axis=0) + off.sum(axis=1)), kind="stable")[:MAX_MATRIX_CLASSES])
        title = f"the {len(keep)} most confused of {len(class_names)} classes"
        m, shown, class_names = m[np.ix_(keep, keep)], shown[np.ix_(keep, keep)], [class_names[i] for i in keep]
    n = len(class_names)
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * n + 2), max(3.5, 0.6 * n + 1.5)))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 30:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, int(m[i, j]), ha="center", va="center",
                        color="white" if shown[i, j] > 0.6 * (shown.max() or 1) else "black", fontsize=8)
    if title:
        ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save_figure(fig, path)
