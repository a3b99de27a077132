"""ELPV as class folders: a held-out check for the fine-tuning defaults (not a CI dependency).

    pip install elpv-dataset==1.0.0.post1
    python -c "from benchmarks.elpv import elpv_folders; elpv_folders('runs/elpv')"
    python -m benchmarks fine-tune --data runs/elpv
"""

from __future__ import annotations

from pathlib import Path

# ELPV's defect probabilities (the consensus of its annotators) as class folder names.
ELPV_CLASSES = {0.0: "functional", 0.3333: "possibly_defective", 0.6667: "likely_defective", 1.0: "defective"}


def elpv_folders(out, source=None) -> dict:
    """Write ELPV (2,624 electroluminescence images of solar cells, 300x300 grayscale PNG; Deitsch
    et al., 2019) as one class-per-folder tree under ``out``: four classes by defect probability.
    A held-out check for the transfer-learning defaults: real photos unlike ImageNet's and unlike the
    flowers, imbalanced (1,508 / 295 / 106 / 715). ``source``: the folder holding ``labels.csv`` and
    ``images/`` (default: the ``elpv-dataset`` PyPI package's own copy, ``pip install elpv-dataset``,
    CC BY-NC-SA 4.0). Returns the number of images per class.

    >>> from benchmarks.elpv import elpv_folders
    >>> elpv_folders("runs/elpv")  # doctest: +SKIP
    {'functional': 1508, 'possibly_defective': 295, 'likely_defective': 106, 'defective': 715}
    """
    import shutil

    if source is None:
        try:
            import elpv_dataset
        except ImportError as e:
            raise ImportError("ELPV comes from the PyPI package elpv-dataset: pip install elpv-dataset") from e
        source = Path(elpv_dataset.__file__).parent / "data"
    source, out = Path(source), Path(out)
    counts = dict.fromkeys(ELPV_CLASSES.values(), 0)
    for line in (source / "labels.csv").read_text().split("\n"):
        if not line.strip():
            continue
        path, probability, _cell_type = line.split()
        name = ELPV_CLASSES[round(float(probability), 4)]
        (out / name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / path, out / name / Path(path).name)
        counts[name] += 1
    return counts
