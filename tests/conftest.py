"""Shared fixtures. Real assets come from ../shared/assets beside the project (or
$ILSVRC_KERAS_ASSETS); tests that need them skip with the reason when they are absent."""

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Tests never touch the network: weights come from the shared assets or the test's own files.
os.environ["ILSVRC_KERAS_OFFLINE"] = "1"

# Scripts, not test modules: --doctest-modules must not import them (they run work at import).
collect_ignore = ["e2e.py"]
collect_ignore_glob = ["helpers/*", "fixtures/*"]

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(os.environ.get("ILSVRC_KERAS_ASSETS", ROOT.parent / "shared" / "assets"))
MOBILENET_WEIGHTS = ASSETS / "weights" / "mobilenet_2_5_128_tf.h5"
VAL_SAMPLE = ASSETS / "ilsvrc2012-val-sample"
FLOWERS = ASSETS / "flowers"


def _need(path: Path):
    if not path.exists():
        pytest.skip(f"real asset {path} is absent (set ILSVRC_KERAS_ASSETS to the shared assets folder)")
    return path


@pytest.fixture(scope="session")
def mobilenet_weights():
    """The shared assets' MobileNet-0.25 file, else the same file inside the package (a fresh clone has it)."""
    from ilsvrc_keras.weights import EMBEDDED_DIR

    return MOBILENET_WEIGHTS if MOBILENET_WEIGHTS.is_file() else _need(EMBEDDED_DIR / MOBILENET_WEIGHTS.name)


@pytest.fixture(scope="session")
def val_sample():
    return _need(VAL_SAMPLE)


@pytest.fixture(scope="session")
def flowers():
    return _need(FLOWERS)


@pytest.fixture(scope="session")
def mobilenet(mobilenet_weights):
    import ilsvrc_keras

    return ilsvrc_keras.load("mobilenet_0.25_128", weights=mobilenet_weights)


def flower_subset(flowers: Path, root: Path, classes, per_class: int) -> Path:
    """A small class-per-folder copy of real flower photos (the first ``per_class`` of each class)."""
    for c in classes:
        (root / c).mkdir(parents=True)
        for p in sorted((flowers / c).iterdir())[:per_class]:
            shutil.copy(p, root / c / p.name)
    return root


def load_recipe(name: str):
    """``recipes/<name>.py`` as a module (the recipes are scripts beside their ``_common``, not a package)."""
    import importlib.util

    sys.path.insert(0, str(ROOT / "recipes"))
    try:
        spec = importlib.util.spec_from_file_location(f"recipe_{name}", ROOT / "recipes" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "recipes"))
    return module


def truncated_jpeg(photo: Path) -> bytes:
    """The first half of a real JPEG: its header reads (it passes the datasets' door check), its body
    does not decode (the pipelines must skip and count it)."""
    data = photo.read_bytes()
    return data[: len(data) // 2]


def cli_env(**extra) -> dict:
    """The environment the command-line tests run ``ilsvrc-keras`` in: offline, quiet start-up."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "ILSVRC_KERAS_OFFLINE": "1", **extra}


def cli(*args) -> list:
    """``ilsvrc-keras ARGS...`` as an argv, run with this interpreter."""
    return [sys.executable, "-m", "ilsvrc_keras", *map(str, args)]


def local_tfds(class_name: str, root: Path, classes, data_dir: Path, files=lambda folder: sorted(folder.iterdir())):
    """Prepare, offline, a TFDS dataset named after ``class_name`` (TFDS' snake_case of it) over the photos of
    ``root/<class>/`` (``files`` picks them): a dataset a test names like any in TFDS' catalogue."""
    tfds = pytest.importorskip("tensorflow_datasets")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self, features=tfds.features.FeaturesDict(
                {"image": tfds.features.Image(), "label": tfds.features.ClassLabel(names=list(classes))}),
            supervised_keys=("image", "label"))

    def _generate_examples(self):
        for label, c in enumerate(classes):
            for p in files(root / c):
                yield p.name, {"image": str(p), "label": label}

    builder = type(class_name, (tfds.core.GeneratorBasedBuilder,), {
        "VERSION": tfds.core.Version("1.0.0"), "_info": _info, "_generate_examples": _generate_examples,
        "_split_generators": lambda self, dl_manager: {"train": self._generate_examples()}})
    builder(data_dir=str(data_dir)).download_and_prepare()


def wait_for_stderr(proc, text: str) -> None:
    """Read ``proc``'s stderr (a text pipe) until a line holds ``text``: the process has reached that point.
    Fails if the process ends first."""
    line = ""
    while text not in line:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, f"the process ended before saying {text!r}"


def pytest_terminal_summary(terminalreporter):
    """One line that counts the skipped tests by reason: a fresh clone without the development assets reads
    how many did not run and why, not a green line alone."""
    import collections

    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = collections.Counter()
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reasons[reason.removeprefix("Skipped: ")] += 1
    parts = "; ".join(f"{n} x {reason}" for reason, n in reasons.most_common())
    terminalreporter.write_line(f"{len(skipped)} tests skipped: {parts}", yellow=True)
