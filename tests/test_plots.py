"""The PNGs a person looks at instead of reading numbers."""

import numpy as np


def test_training_curves_png_with_and_without_a_telling_top5(tmp_path):
    from PIL import Image

    from ilsvrc_keras.plots import training_curves

    base = [{"epoch": e, "loss": 2 / e, "val_loss": 2.2 / e, "accuracy": 0.3 * e, "val_accuracy": 0.25 * e}
            for e in (1, 2, 3)]
    cases = {"five_classes": [{**r, "val_top_5_accuracy": 1.0} for r in base],
             "many_classes": [{**r, "val_top_5_accuracy": 0.5 + 0.1 * r["epoch"]} for r in base],
             "no_validation": [{**r, "val_loss": None, "val_accuracy": None, "val_top_5_accuracy": None} for r in base]}
    sizes = {}
    for name, rows in cases.items():
        path = training_curves(rows, tmp_path / f"{name}.png")
        with Image.open(path) as im:
            sizes[name] = im.size
    assert len(set(sizes.values())) == 1 and sizes["five_classes"][0] > 500


def test_training_curves_mark_where_progressive_resizing_changes_the_size(tmp_path):
    import numpy as np
    from PIL import Image

    from ilsvrc_keras.plots import training_curves

    rows = [{"epoch": e, "loss": 2 / e, "val_loss": 2.2 / e, "accuracy": 0.2 * e, "val_accuracy": 0.18 * e,
             "val_top_5_accuracy": 1.0, "image_size": 64} for e in (1, 2, 3, 4)]
    plain = np.asarray(Image.open(training_curves(rows, tmp_path / "plain.png")).convert("RGB"), np.int16)
    grown = [{**r, "image_size": 64 if r["epoch"] < 3 else 96} for r in rows]
    marked = np.asarray(Image.open(training_curves(grown, tmp_path / "grown.png")).convert("RGB"), np.int16)
    changed = np.abs(plain - marked).sum(-1) > 0
    assert changed.any()
    # The mark lies between epochs 2 and 3, and only there: the same columns in both panels.
    columns = np.nonzero(changed.any(0))[0]
    assert columns.max() - columns.min() < plain.shape[1] * 0.6 and len(columns) < plain.shape[1] * 0.2


def test_a_thousand_class_confusion_matrix_is_bounded(tmp_path):
    """1,000 classes: the figure shows the most confused classes only (the full one was 60,200 px wide and
    took 22 GB), well under 2 GB of memory."""
    import resource

    from PIL import Image

    from ilsvrc_keras.plots import MAX_MATRIX_CLASSES, confusion_matrix_png

    rng = np.random.default_rng(0)
    m = np.diag(rng.integers(1, 5, 1000))
    m[3, 7] = m[7, 3] = 9  # the two most confused classes must be among those shown
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path = confusion_matrix_png(m, [f"c{i}" for i in range(1000)], tmp_path / "cm.png")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    width, height = Image.open(path).size
    assert grown_mb < 2048 and width < 100 * (0.6 * MAX_MATRIX_CLASSES + 3) and height < width
