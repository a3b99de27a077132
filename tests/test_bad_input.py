"""The bad-input corpus: every subcommand and the public functions, fed what users really hand in by
mistake. Each CLI case must end with exit status 2, exactly one ``error:`` line on stderr, no traceback,
and with ``--json`` exactly one JSON object ``{"error": {"type", "message"}}`` on stdout; the same case
through the Python API must raise the named :class:`ilsvrc_keras.IlsvrcKerasError` subclass.

The CLI runs in this process (the same parser and commands as ``ilsvrc-keras``, without a start-up per
case); ``tests/test_cli.py`` runs the real entry point."""

import json
import shutil
import types

import keras
import numpy as np
import pytest
from PIL import Image

import ilsvrc_keras
from ilsvrc_keras import (
    ArgumentError,
    DataError,
    IlsvrcKerasError,
    ImageError,
    UnknownModelError,
    WeightsError,
    WeightsNotFoundError,
)
from ilsvrc_keras.cli import main

from conftest import flower_subset

MOBILENET = "mobilenet_0.25_128"


@pytest.fixture(scope="module")
def c(tmp_path_factory, mobilenet_weights, flowers, val_sample):
    """The corpus: one of each bad file beside good ones, built once."""
    from ilsvrc_keras.model_folder import save_folder
    from ilsvrc_keras.presets import get_preset

    root = tmp_path_factory.mktemp("corpus")
    ns = types.SimpleNamespace(root=root, weights=mobilenet_weights,
                               img=val_sample / "images" / "ILSVRC2012_val_00000020.JPEG",
                               val=val_sample / "images", solution=val_sample / "LOC_val_solution.csv")

    def put(name, data):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path

    # images
    ns.empty = put("empty.jpg", b"")
    ns.text = put("notes.jpg", "this is not a photo")
    ns.truncated = put("truncated.jpg", ns.img.read_bytes()[:2000])
    Image.new("RGB", (20_000, 1)).save(root / "strip.png")
    ns.strip = root / "strip.png"
    Image.new("1", (20_000, 20_000)).save(root / "bomb.png")  # 400 MP declared, a few KB of file
    ns.bomb = root / "bomb.png"
    # weights
    ns.text_weights = put("weights.h5", "not HDF5 at all")
    ns.damaged_weights = put("damaged.h5", mobilenet_weights.read_bytes()[:4096])
    ns.empty_h5 = root / "empty.h5"
    import h5py

    with h5py.File(ns.empty_h5, "w") as f:
        f.attrs["note"] = "an HDF5 file with no layers"
    ns.not_zip_keras = put("model.keras", "a .keras file is a zip archive")
    # labels and ground truth
    ns.binary_labels = put("labels.csv", bytes(range(256)) * 8)
    ns.nonnumeric_box = put("boxes.csv", "ImageId,PredictionString\nILSVRC2012_val_00000020,n01751748 a b c d\n")
    ns.wrong_header = put("other.csv", "id,label\n1,2\n")
    ns.empty_lines = put("lines.txt", "\n\n")
    ns.multi_word_lines = put("words.txt", "n01751748 sea snake\n")
    ns.bad_xml = put("voc/ILSVRC2012_val_00000020.xml", "<annotation><object><name>n0</name>")
    # data folders
    ns.two = flower_subset(flowers, root / "two", ("daisy", "tulip"), 4)
    ns.broken_class = flower_subset(flowers, root / "broken_class", ("daisy", "tulip"), 4)
    (ns.broken_class / "zzz").mkdir()
    for i in range(3):
        put(f"broken_class/zzz/{i}.jpg", b"\xff\xd8 not a jpeg")
    ns.no_classes = root / "flat"
    ns.no_classes.mkdir()
    shutil.copy(ns.img, ns.no_classes)
    ns.catdog = flower_subset(flowers, root / "catdog_src", ("daisy", "tulip"), 2)  # the folder model's classes
    ns.catdog = ns.catdog.rename(root / "catdog")
    (ns.catdog / "daisy").rename(ns.catdog / "cat")
    (ns.catdog / "tulip").rename(ns.catdog / "dog")
    ns.undecodable = root / "undecodable"
    for cls in ("cat", "dog"):
        (ns.undecodable / cls).mkdir(parents=True)
        (ns.undecodable / cls / "x.jpg").write_bytes(ns.img.read_bytes()[:600])  # a header, then nothing
    ns.other_val = flower_subset(flowers, root / "other_val", ("rose", "tulip"), 2)
    ns.a_file = put("a_file", "a file where a folder belongs")
    # model folders: a good one, then one fault each
    net = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D(),
                            keras.layers.Dense(2)])
    transform = get_preset(MOBILENET).transform(32)
    ns.folder = root / "folder"
    save_folder(ns.folder, net, ["cat", "dog"], transform, outputs="logits")

    def broken_folder(name, edit):
        folder = root / name
        shutil.copytree(ns.folder, folder)
        edit(folder)
        return folder

    def edit_json(file, change):
        def edit(folder):
            data = json.loads((folder / file).read_text())
            change(data)
            (folder / file).write_text(json.dumps(data))
        return edit

    ns.folder_no_size = broken_folder("f_no_size", edit_json("preprocessing.json", lambda d: d.pop("size")))
    ns.folder_bad_norm = broken_folder("f_norm", edit_json("preprocessing.json",
                                                           lambda d: d.update(preprocessing="sepia",
                                                                              normalization=None)))
    ns.folder_labels = broken_folder("f_labels", lambda f: (f / "labels.json").write_text('["cat", "dog", "cow"]'))
    ns.folder_size = broken_folder("f_size", edit_json("preprocessing.json", lambda d: d.update(size=64)))
    ns.folder_json = broken_folder("f_json", lambda f: (f / "labels.json").write_text("[not json"))
    ns.folder_no_model = broken_folder("f_no_model", lambda f: (f / "model.keras").unlink())
    unsafe = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Lambda(lambda t: t * 2.0),
                               keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    ns.folder_code = broken_folder("f_code", lambda f: unsafe.save(f / "model.keras"))
    # a run folder of another run
    ns.other_run = root / "other_run"
    ns.other_run.mkdir()
    (ns.other_run / "run.json").write_text(json.dumps({"run": "train", "model": "vgg11", "classes": ["x", "y"]}))
    return ns


@pytest.fixture(autouse=True)
def _weights_here(mobilenet_weights, monkeypatch):
    # The default network is then MobileNet (its weights are "on this machine"), as on a user's.
    monkeypatch.setenv("ILSVRC_KERAS_WEIGHTS_DIR", str(mobilenet_weights.parent))
    monkeypatch.delenv("ILSVRC_KERAS_DEBUG", raising=False)


M = ("--model", MOBILENET)
W = ("--weights",)

# (id, command line (with the corpus c), the error's type on --json, words of its message)
CLI_CASES = [
    # classify
    ("classify-missing", lambda c: ["classify", c.root / "nope.jpg", *M], "ImageError", "no such file"),
    ("classify-empty", lambda c: ["classify", c.empty, *M], "ImageError", "the file is empty"),
    ("classify-a-folder", lambda c: ["classify", c.root, *M], "ImageError", "is a folder, not an image file"),
    ("classify-dev-zero", lambda c: ["classify", "/dev/zero", *M], "ImageError", "is not a regular file"),
    ("classify-long-name", lambda c: ["classify", c.root / ("x" * 300 + ".jpg"), *M], "ImageError",
     "the file name is too long (304 characters in one name"),
    ("classify-text", lambda c: ["classify", c.text, *M], "ImageError", "not an image file"),
    ("classify-truncated", lambda c: ["classify", c.truncated, *M], "ImageError", "truncated"),
    ("classify-strip", lambda c: ["classify", c.strip, *M], "ImageError", "strip, not a photo"),
    ("classify-bomb", lambda c: ["classify", c.bomb, *M], "ImageError", "too large"),
    ("classify-top-0", lambda c: ["classify", c.img, "--top", "0"], "UsageError", "--top: 0 is out of range"),
    ("classify-top-word", lambda c: ["classify", c.img, "--top", "five"], "UsageError", "'five' is not a whole"),
    ("classify-unknown-model", lambda c: ["classify", c.img, "--model", "resnet51"], "UnknownModelError",
     "unknown model 'resnet51'"),
    ("classify-text-weights", lambda c: ["classify", c.img, *M, *W, c.text_weights], "WeightsError",
     "cannot be read: it is damaged or not a Keras weights file"),
    ("classify-damaged-weights", lambda c: ["classify", c.img, *M, *W, c.damaged_weights], "WeightsError",
     "damaged"),
    ("classify-empty-h5", lambda c: ["classify", c.img, *M, *W, c.empty_h5], "WeightsError", "holds no layer weights"),
    ("classify-not-zip-keras", lambda c: ["classify", c.img, *M, *W, c.not_zip_keras], "WeightsError",
     "damaged: not a zip archive"),
    ("classify-weights-of-another-net", lambda c: ["classify", c.img, "--model", "resnet18", *W, c.weights],
     "WeightsError", "does not fit model"),
    ("classify-missing-weights", lambda c: ["classify", c.img, *M, *W, c.root / "nope.h5"], "WeightsNotFoundError",
     "does not exist"),
    ("classify-weights-without-model", lambda c: ["classify", c.img, *W, c.text_weights], "IlsvrcKerasError",
     "given without the network"),
    ("classify-folder-and-weights", lambda c: ["classify", c.img, "--model", c.folder, *W, c.weights],
     "IlsvrcKerasError", "model folder with its own weights"),
    ("classify-folder-no-size", lambda c: ["classify", c.img, "--model", c.folder_no_size], "IlsvrcKerasError",
     "preprocessing.json"),
    ("classify-folder-bad-normalization", lambda c: ["classify", c.img, "--model", c.folder_bad_norm],
     "IlsvrcKerasError", "'sepia'"),
    ("classify-folder-label-count", lambda c: ["classify", c.img, "--model", c.folder_labels], "IlsvrcKerasError",
     "labels.json names 3 classes but the network has 2 outputs"),
    ("classify-folder-size", lambda c: ["classify", c.img, "--model", c.folder_size], "IlsvrcKerasError", "64"),
    ("classify-folder-bad-json", lambda c: ["classify", c.img, "--model", c.folder_json], "IlsvrcKerasError",
     "labels.json"),
    ("classify-folder-no-model", lambda c: ["classify", c.img, "--model", c.folder_no_model], "IlsvrcKerasError",
     "model.keras"),
    ("classify-folder-with-code", lambda c: ["classify", c.img, "--model", c.folder_code], "IlsvrcKerasError",
     "safe_mode=False"),
    # evaluate
    ("evaluate-missing-folder", lambda c: ["evaluate", c.root / "nope", *M], "DataError", "no such folder"),
    ("evaluate-no-classes", lambda c: ["evaluate", c.no_classes, *M], "DataError", "no class subfolders"),
    ("evaluate-binary-labels", lambda c: ["evaluate", c.val, "--labels", c.binary_labels, *M], "DataError",
     "not a text file"),
    ("evaluate-nonnumeric-box", lambda c: ["evaluate", c.val, "--labels", c.nonnumeric_box, *M], "DataError",
     "not a number"),
    ("evaluate-wrong-header", lambda c: ["evaluate", c.val, "--labels", c.wrong_header, *M], "DataError",
     "ImageId,PredictionString"),
    ("evaluate-empty-labels", lambda c: ["evaluate", c.val, "--labels", c.empty_lines, *M], "DataError", "empty"),
    ("evaluate-multi-word-labels", lambda c: ["evaluate", c.val, "--labels", c.multi_word_lines, *M], "DataError",
     "is not one label"),
    ("evaluate-bad-xml", lambda c: ["evaluate", c.val, "--labels", c.bad_xml.parent, *M], "DataError",
     "not a Pascal-VOC box file"),
    ("evaluate-missing-labels", lambda c: ["evaluate", c.val, "--labels", c.root / "nope.csv", *M], "DataError",
     "labels file not found"),
    ("evaluate-nothing-decodes", lambda c: ["evaluate", c.undecodable, "--model", c.folder], "DataError",
     "could be decoded"),
    ("evaluate-limit-0", lambda c: ["evaluate", c.val, "--limit", "0"], "UsageError", "--limit: 0 is out of range"),
    ("evaluate-limit-negative", lambda c: ["evaluate", c.val, "--limit", "-1"], "UsageError", "--limit"),
    ("evaluate-batch-0", lambda c: ["evaluate", c.val, "--batch-size", "0"], "UsageError", "--batch-size"),
    ("evaluate-threshold", lambda c: ["evaluate", c.val, "--threshold", "1.5"], "UsageError", "--threshold: 1.5"),
    ("evaluate-localization-without-boxes", lambda c: ["evaluate", c.catdog, "--model", c.folder, "--localization"],
     "DataError", "needs ground truth with boxes"),
    # localize
    ("localize-out-folder", lambda c: ["localize", c.img, *M, "--out", c.root], "IlsvrcKerasError", "is a folder"),
    ("localize-out-extension", lambda c: ["localize", c.img, *M, "--out", c.root / "overlay.txt"],
     "IlsvrcKerasError", "image extension"),
    ("localize-out-under-a-file", lambda c: ["localize", c.img, *M, "--out", c.a_file / "x.png"], "IlsvrcKerasError",
     "is a file"),
    ("localize-out-unwritable", lambda c: ["localize", c.img, *M, "--out", "/proc/overlay.png"], "IlsvrcKerasError",
     "cannot"),
    ("localize-bad-image", lambda c: ["localize", c.text, *M], "ImageError", "not an image file"),
    ("localize-method", lambda c: ["localize", c.img, "--method", "magic"], "UsageError", "invalid choice"),
    ("localize-scale", lambda c: ["localize", c.img, "--scale", "0"], "UsageError", "--scale"),
    # train
    ("train-out-is-a-file", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.a_file],
     "IlsvrcKerasError", "is a file"),
    ("train-epochs-0", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t",
                                  "--epochs", "0"], "ArgumentError", "epochs is 0: nothing would be trained"),
    ("train-epochs-negative", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t",
                                     "--epochs", "-1"], "UsageError", "--epochs: -1 is out of range"),
    ("train-image-size-0", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t",
                                      "--image-size", "0"], "UsageError", "--image-size"),
    ("train-image-size-8", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t",
                                      "--image-size", "8"], "ArgumentError", "image_size 8 is below resnet18's smallest input, 32 px"),
    ("train-replicas-0", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t",
                                    "--replicas", "0"], "UsageError", "--replicas"),
    ("train-replicas-64", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t64",
                                     "--replicas", "64"], "IlsvrcKerasError", "replicas=64 on a machine without GPUs"),
    ("train-data-typo", lambda c: ["train", "--model", "resnet18", "--data", "flowerz", "--out", c.root / "t"],
     "DataError", "neither a folder here nor a TFDS dataset"),
    ("train-class-unreadable", lambda c: ["train", "--model", "resnet18", "--data", c.broken_class, "--out",
                                          c.root / "t"], "DataError", "zzz: none of its 3 images can be read"),
    ("train-unknown-model", lambda c: ["train", "--model", "resnet51", "--data", c.two, "--out", c.root / "t"],
     "UnknownModelError", "resnet51"),
    ("train-another-run", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.other_run],
     "IlsvrcKerasError", "holds another run"),
    ("train-labels-binary", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t",
                                       "--labels", c.binary_labels], "DataError", "not a text file"),
    ("train-ema", lambda c: ["train", "--model", "resnet18", "--data", c.two, "--out", c.root / "t",
                             "--ema", "2"], "UsageError", "--ema"),
    # fine-tune
    ("fine-tune-nothing-to-train", lambda c: ["fine-tune", c.two, "--out", c.root / "f", *M, "--epochs", "0",
                                              "--head-epochs", "0"], "ArgumentError", "both 0"),
    ("fine-tune-unfreeze-word", lambda c: ["fine-tune", c.two, "--out", c.root / "f", "--unfreeze", "some"],
     "UsageError", "'some': give 'all' or a number"),
    ("fine-tune-class-unreadable", lambda c: ["fine-tune", c.broken_class, "--out", c.root / "f", *M], "DataError",
     "zzz: none of its 3 images can be read"),
    ("fine-tune-val-classes", lambda c: ["fine-tune", c.two, "--val", c.other_val, "--out", c.root / "f", *M],
     "DataError", "classes the training data lacks"),
    ("fine-tune-out-is-a-file", lambda c: ["fine-tune", c.two, "--out", c.a_file, *M], "IlsvrcKerasError",
     "is a file"),
    ("fine-tune-export", lambda c: ["fine-tune", c.two, "--out", c.root / "f", "--export", "pdf"], "UsageError",
     "invalid choice"),
    ("fine-tune-image-size", lambda c: ["fine-tune", c.two, "--out", c.root / "f", *M, "--image-size", "16"],
     "ArgumentError", "image_size"),
    ("fine-tune-missing-data", lambda c: ["fine-tune", c.root / "nope", "--out", c.root / "f", *M], "DataError",
     "no such folder"),
    # prepare
    ("prepare-missing", lambda c: ["prepare", c.root / "nope", c.root / "p"], "DataError", "no such folder"),
    ("prepare-out-is-a-file", lambda c: ["prepare", c.two, c.a_file], "IlsvrcKerasError", "is a file"),
    ("prepare-shard-size", lambda c: ["prepare", c.two, c.root / "p", "--shard-size", "0"], "UsageError",
     "--shard-size"),
    ("prepare-shorter-side", lambda c: ["prepare", c.two, c.root / "p", "--shorter-side", "4"], "UsageError",
     "--shorter-side: 4 is out of range: a whole number >= 8"),
    # export
    ("export-format", lambda c: ["export", c.root / "e", *M, "--format", "pdf"], "UsageError", "invalid choice"),
    ("export-under-a-file", lambda c: ["export", c.a_file / "m", "--model", c.folder], "IlsvrcKerasError", "a file"),
    ("export-unknown-model", lambda c: ["export", c.root / "e", "--model", "resnet51"], "UnknownModelError",
     "resnet51"),
    # app, and the command line itself
    ("app-port", lambda c: ["app", "--port", "0"], "UsageError", "--port"),
    ("no-command", lambda c: [], "UsageError", "required"),
    ("unknown-command", lambda c: ["clasify", c.img], "UsageError", "invalid choice"),
    ("unknown-option", lambda c: ["classify", c.img, "--topp", "3"], "UsageError", "unrecognized arguments"),
]


def _run(argv, capsys):
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own exits (usage errors)
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("case", CLI_CASES, ids=[case[0] for case in CLI_CASES])
def test_cli_bad_input(case, c, capsys):
    _, argv, kind, words = case
    status, stdout, stderr = _run([*argv(c), "--json"], capsys)
    assert status == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr[-2000:]
    assert words in errors[0]
    obj = json.loads(stdout)  # exactly one JSON object: json.loads refuses anything after it
    assert obj == {"error": {"type": kind, "message": obj["error"]["message"]}}
    assert words in obj["error"]["message"] and errors[0] == "error: " + obj["error"]["message"]


def test_without_json_stdout_stays_empty(c, capsys):
    status, stdout, stderr = _run(["classify", c.text, *M], capsys)
    assert status == 2 and stdout == "" and stderr.strip().endswith("not an image file (or a format Pillow cannot "
                                                                    "read)")


# --- the same mistakes through the Python API -----------------------------------------------------------

API_CASES = [
    ("classify-text", lambda c: ilsvrc_keras.classify(c.text, model=MOBILENET), ImageError, "not an image"),
    ("classify-strip", lambda c: ilsvrc_keras.classify(c.strip, model=MOBILENET), ImageError, "strip"),
    ("classify-array", lambda c: ilsvrc_keras.classify(np.zeros((4, 4, 7)), model=MOBILENET), ImageError,
     "expected an (H, W)"),
    ("classify-top-0", lambda c: ilsvrc_keras.classify(c.img, model=MOBILENET, top=0), ArgumentError,
     "top must be a whole number >= 1"),
    ("classify-top-float", lambda c: ilsvrc_keras.load(MOBILENET).classify(c.img, top=2.5), ArgumentError, "2.5"),
    ("load-damaged-weights", lambda c: ilsvrc_keras.load(MOBILENET, weights=c.damaged_weights), WeightsError,
     "damaged"),
    ("load-missing-weights", lambda c: ilsvrc_keras.load(MOBILENET, weights=c.root / "nope.h5"),
     WeightsNotFoundError, "does not exist"),
    ("load-unknown", lambda c: ilsvrc_keras.load("resnet51"), UnknownModelError, "resnet51"),
    ("load-folder-with-code", lambda c: ilsvrc_keras.load(c.folder_code), IlsvrcKerasError, "safe_mode=False"),
    ("create-model-weights", lambda c: ilsvrc_keras.create_model("resnet18", weights=c.text_weights), WeightsError,
     "cannot be read"),
    ("create-model-argument", lambda c: ilsvrc_keras.create_model("vgg11", foo=1), IlsvrcKerasError,
     "unknown argument(s) foo"),
    ("evaluate-limit-0", lambda c: ilsvrc_keras.evaluate(c.val, labels=c.solution, limit=0), ArgumentError,
     "limit must be a whole number >= 1"),
    ("evaluate-limit-negative", lambda c: ilsvrc_keras.evaluate(c.val, labels=c.solution, limit=-1), ArgumentError,
     "limit"),
    ("evaluate-batch", lambda c: ilsvrc_keras.evaluate(c.val, labels=c.solution, batch_size=0), ArgumentError,
     "batch_size"),
    ("evaluate-threshold", lambda c: ilsvrc_keras.evaluate(c.val, labels=c.solution, localization=True,
                                                            threshold=1.5), ArgumentError, "threshold"),
    ("evaluate-option", lambda c: ilsvrc_keras.evaluate(c.val, labels=c.solution, localization=True, sigma=2),
     ArgumentError, "unknown localization option(s) sigma"),
    ("evaluate-nonnumeric-box", lambda c: ilsvrc_keras.evaluate(c.val, labels=c.nonnumeric_box), DataError,
     "not a number"),
    ("evaluate-nothing-decodes", lambda c: ilsvrc_keras.evaluate(c.undecodable, model=c.folder), DataError,
     "could be decoded"),
    ("localize-threshold", lambda c: ilsvrc_keras.localize(c.img, model=MOBILENET, threshold=1.5), ArgumentError,
     "threshold must be a number in [0, 1]"),
    ("localize-method", lambda c: ilsvrc_keras.localize(c.img, model=MOBILENET, method="magic"), ArgumentError,
     "method must be one of"),
    ("localize-top", lambda c: ilsvrc_keras.localize(c.img, model=MOBILENET, top=0), ArgumentError, "top"),
    ("train-epochs-0", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", epochs=0), ArgumentError,
     "epochs is 0: nothing would be trained"),
    ("train-model-first", lambda c: ilsvrc_keras.train("resnet18", c.two, c.root / "t"), ArgumentError,
     "train takes the data first"),
    ("train-epochs-negative", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", epochs=-2),
     ArgumentError, "epochs"),
    ("train-image-size", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", image_size=0), ArgumentError,
     "image_size"),
    ("train-replicas", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", replicas=0), ArgumentError,
     "replicas"),
    ("train-optimizer", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", optimizer="adagrad"),
     ArgumentError, "optimizer must be one of"),
    ("train-lr", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", lr=-0.1), ArgumentError, "lr"),
    ("train-smoothing", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", label_smoothing=1.5),
     ArgumentError, "label_smoothing"),
    ("train-val-fraction", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.root / "t", val_fraction=2),
     ArgumentError, "val_fraction"),
    ("train-class-unreadable", lambda c: ilsvrc_keras.train(c.broken_class, "resnet18", c.root / "t"), DataError,
     "none of its 3 images can be read"),
    ("train-another-run", lambda c: ilsvrc_keras.train(c.two, "resnet18", c.other_run), IlsvrcKerasError,
     "holds another run"),
    ("train-data-typo", lambda c: ilsvrc_keras.train("flowerz", "resnet18", c.root / "t"), DataError, "tf_flowers"),
    ("fine-tune-nothing", lambda c: ilsvrc_keras.fine_tune(c.two, model=MOBILENET, out=c.root / "f", epochs=0,
                                                           head_epochs=0), ArgumentError, "both 0"),
    ("fine-tune-unfreeze", lambda c: ilsvrc_keras.fine_tune(c.two, model=MOBILENET, out=c.root / "f",
                                                            unfreeze="some"), ArgumentError, "unfreeze"),
    ("fine-tune-dropout", lambda c: ilsvrc_keras.fine_tune(c.two, model=MOBILENET, out=c.root / "f", dropout=1.5),
     ArgumentError, "dropout"),
    ("fine-tune-batch", lambda c: ilsvrc_keras.fine_tune(c.two, model=MOBILENET, out=c.root / "f", batch_size=0),
     ArgumentError, "batch_size"),
    ("fine-tune-class-weight", lambda c: ilsvrc_keras.fine_tune(c.two, model=MOBILENET, out=c.root / "f",
                                                                class_weight="fair"), ArgumentError, "class_weight"),
    ("fine-tune-export", lambda c: ilsvrc_keras.fine_tune(c.two, model=MOBILENET, out=c.root / "f", export=["pdf"]),
     ArgumentError, "unknown export format(s) pdf"),
    ("fine-tune-class-unreadable", lambda c: ilsvrc_keras.fine_tune(c.broken_class, model=MOBILENET,
                                                                    weights=c.weights, out=c.root / "f"),
     DataError, "none of its 3 images"),
    ("prepare-shorter-side", lambda c: ilsvrc_keras.datasets.prepare(c.two, c.root / "p", shorter_side=4),
     ArgumentError, "shorter_side"),
    ("prepare-out-is-a-file", lambda c: ilsvrc_keras.datasets.prepare(c.two, c.a_file), IlsvrcKerasError,
     "is a file"),
    ("export-format", lambda c: ilsvrc_keras.export(c.folder, c.root / "e", format="pdf"), IlsvrcKerasError,
     "pdf"),
    ("open-dataset-missing", lambda c: ilsvrc_keras.open_dataset(c.root / "nope"), DataError, "no such folder"),
    ("save-overlay-extension", lambda c: ilsvrc_keras.plots.save(Image.new("RGB", (4, 4)), c.root / "o.txt"),
     IlsvrcKerasError, "image extension"),
]


@pytest.mark.parametrize("case", API_CASES, ids=[case[0] for case in API_CASES])
def test_api_bad_input(case, c):
    _, call, kind, words = case
    with pytest.raises(kind) as info:
        call(c)
    assert isinstance(info.value, IlsvrcKerasError) and words in str(info.value)
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize("tf_config,words", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ("[1, 2]", "TF_CONFIG must be a JSON object"),
    ('{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 5}}',
     'must name this process in its cluster'),
    ('{"cluster": {"worker": "localhost:1"}}', 'list of "host:port"'),
])
@pytest.mark.parametrize("command", ["train", "fine-tune"])
def test_a_bad_cluster_is_refused_before_the_run_folder_is_made(command, tf_config, words, c, capsys, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    out = c.root / f"cluster-{command}"
    argv = (["train", "--model", "resnet18", "--data", c.two] if command == "train" else
            ["fine-tune", c.two, *M, "--weights", c.weights])
    status, _, stderr = _run([*argv, "--out", out, "--epochs", "1"], capsys)
    assert status == 2 and stderr.startswith("error: TF_CONFIG") and words in stderr, stderr[-2000:]
    assert not out.exists()


def test_nothing_is_left_behind_by_refused_runs(c):
    """Refused runs write nothing: no half run folder, no stray temporary file."""
    for name in ("t", "t64", "f"):  # run folders: not even run.json stays
        assert not (c.root / name).exists(), name
    for name in ("p", "e"):
        assert not (c.root / name).exists() or not any((c.root / name).iterdir()), name
    assert not list(c.root.glob(".tmp*")) and not list(c.root.glob(".write-check-*"))
    assert json.loads((c.other_run / "run.json").read_text())["model"] == "vgg11"  # the other run is kept


def test_unlabeled_and_unreadable_images_are_counted(c, tmp_path, capsys):
    """Images the labels file does not name are left out and counted; unreadable ones are listed."""
    val = tmp_path / "val"
    val.mkdir()
    images = sorted(c.val.iterdir())[:5]
    for p in images:
        shutil.copy(p, val)
    shutil.copy(c.text, val / "ILSVRC2012_val_00049999.JPEG")  # named in the labels, not an image
    lines = c.solution.read_text().splitlines()
    named = {p.stem for p in images[:3]}
    (tmp_path / "labels.csv").write_text("\n".join([lines[0]] + [ln for ln in lines[1:] if ln.split(",")[0] in named]
                                                   + ["ILSVRC2012_val_00049999,n01440764 1 1 2 2"]) + "\n")
    status, stdout, _ = _run(["evaluate", val, "--labels", tmp_path / "labels.csv", *M, "--json", "--quiet"], capsys)
    r = json.loads(stdout)
    assert status == 0 and r["n"] == 3 and r["unlabeled"] == 2
    assert [p.rsplit("/", 1)[-1] for p in r["skipped"]] == ["ILSVRC2012_val_00049999.JPEG"]


@pytest.mark.slow
def test_a_damaged_checkpoint_is_one_clear_error(c, tmp_path):
    """A run folder whose checkpoint was damaged (a full disk, a bad copy) is refused by name on resume."""
    out = tmp_path / "run"
    first = ilsvrc_keras.train(c.two, "resnet18", out, epochs=1, batch_size=2, image_size=32, progress=False,
                               stop_after_steps=1)
    assert first.interrupted
    data = sorted((out / "checkpoints").glob("ckpt-*.data-*"))[-1]
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(IlsvrcKerasError, match="cannot be resumed: it is damaged"):
        ilsvrc_keras.train(c.two, "resnet18", out, epochs=1, batch_size=2, image_size=32, progress=False)


def test_files_are_written_whole_or_not_at_all(tmp_path):
    """A writer that dies half way leaves the previous file as it was, and no temporary file."""
    from ilsvrc_keras.files import save_atomic, write_atomic

    target = tmp_path / "report.json"
    write_atomic(target, '{"run": 1}')

    def dies(tmp):
        tmp.write_text('{"run": 2, "half')
        raise OSError("No space left on device")

    with pytest.raises(OSError):
        save_atomic(target, dies)
    assert target.read_text() == '{"run": 1}' and [p.name for p in tmp_path.iterdir()] == ["report.json"]
    # Keras picks the format from the name: the temporary name keeps it (best.weights.h5).
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    save_atomic(tmp_path / "best.weights.h5", net.save_weights)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.weights.h5", "report.json"]


@pytest.mark.parametrize("recipe,argv,kind,words", [
    ("imagenette", ["--data", "nope/", "--out", "o", "--json"], "DataError", "nope: no such folder"),
    ("imagenette", ["--data", "d", "--out", "o", "--val-fraction", "2", "--json"], "UsageError", "--val-fraction"),
    ("resnet50", ["--data", "nope/", "--out", "o"], "DataError", "nope: no such folder"),
    ("resnet50", ["--data", "d", "--out", "o", "--epochs", "-1"], "UsageError", "--epochs: -1 is out of range"),
], ids=["imagenette-data", "imagenette-usage", "resnet50-data", "resnet50-usage"])
def test_recipes_keep_the_same_contract(recipe, argv, kind, words, tmp_path, monkeypatch, capsys):
    """The recipes are commands too: one `error:` line, one JSON object, exit 2."""
    import sys

    from conftest import ROOT, load_recipe

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT / "recipes"))
    module = load_recipe(recipe)
    monkeypatch.setattr(sys, "argv", [f"{recipe}.py", *argv])
    try:
        status = module.main() if recipe == "imagenette" else module.main("resnet50", module.PAPER, module.__doc__)
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    errors = [line for line in out.err.splitlines() if line.startswith("error:")]
    assert status == 2 and len(errors) == 1 and words in errors[0] and "Traceback" not in out.err
    assert json.loads(out.out)["error"]["type"] == kind
