"""The ilsvrc-keras command as a user runs it: one JSON object on stdout, one-line errors."""

import json
import os
import subprocess
import sys
import types

import pytest

import ilsvrc_keras

from conftest import load_recipe, wait_for_stderr
from test_registry import EXPECTED


def run(*args, env=None):
    full_env = {**os.environ, "ILSVRC_KERAS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "ilsvrc_keras", *map(str, args)], capture_output=True,
                          text=True, env=full_env, timeout=300)


def main_here(*args, capsys):
    """``ilsvrc-keras ARGS`` in this process, as a finished process would report it (``returncode``,
    ``stdout``, ``stderr``): the same parser, commands and error contract, without a start-up per run."""
    from ilsvrc_keras.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return types.SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)


def _one_line_error(p):
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    return lines[0]


def test_models_json_names_every_model():
    p = run("models", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["models"]
    assert sorted(r["name"] for r in rows) == sorted(EXPECTED)
    vgg16 = next(r for r in rows if r["name"] == "vgg16")
    assert vgg16["year"] == 2014 and vgg16["reported_top5_error"] == 7.2 and vgg16["params"] == 138_357_544


def test_models_table_says_where_weights_are(mobilenet_weights):
    p = run("models", env={"ILSVRC_KERAS_WEIGHTS_DIR": str(mobilenet_weights.parent)})
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("mobilenet_0.25_128"))
    assert "here" in line
    assert "none published" in next(ln for ln in p.stdout.splitlines() if ln.startswith("zfnet"))
    # a bare name with no weights of its own names the published network it loads
    assert "alexnet.tv_in1k" in next(ln for ln in p.stdout.splitlines() if ln.startswith("alexnet "))


def test_models_json_lists_every_preset_with_its_source():
    p = run("models", "--json")
    presets = {r["name"]: r for r in json.loads(p.stdout)["presets"]}
    assert set(presets) == set(ilsvrc_keras.list_presets())
    r18 = presets["resnet18.tv_in1k"]
    assert r18["url"] == "https://download.pytorch.org/models/resnet18-f37072fd.pth"
    assert r18["file_name"] == "resnet18-f37072fd.pth" and r18["hash"] == "f37072fd"
    assert r18["published_top1"] == pytest.approx(0.69758) and r18["arch"] == "resnet18"
    timm = presets["resnet50d.ra4_e3600_r224_in1k"]
    assert timm["interpolation"] == "bicubic" and timm["crop_fraction"] == 0.95 and timm["publisher"] == "timm"
    assert all(r["url"].startswith("https://") and r["file_name"] for r in presets.values())


def test_weights_list_and_download(mobilenet_weights, tmp_path):
    (tmp_path / "mobilenet_2_5_128_tf.h5").write_bytes(mobilenet_weights.read_bytes())
    (tmp_path / "resnet18-f37072fd.pth").write_bytes(b"not torchvision's file")
    env = {"ILSVRC_KERAS_WEIGHTS_DIR": str(tmp_path), "KERAS_HOME": str(tmp_path / "home")}
    p = run("weights", "list", "--json", env=env)
    rows = {r["preset"]: r for r in json.loads(p.stdout)["weights"]}
    assert p.returncode == 1  # a file whose hash does not match fails the listing
    assert rows["mobilenet_0.25_128.keras_in1k"]["hash_ok"] is True
    assert rows["resnet18.tv_in1k"]["hash_ok"] is False and rows["resnet18.tv_in1k"]["size"] == 22
    assert rows["vgg11.tv_in1k"]["path"] is None
    p = run("weights", "list", "mobilenet_0.25_128", env=env)
    assert p.returncode == 0 and "matches" in p.stdout and "1 of 1 here" in p.stdout
    p = run("weights", "download", "mobilenet_0.25_128", "--json", env=env)
    assert p.returncode == 0 and json.loads(p.stdout)["weights"][0]["downloaded"] is False
    line = _one_line_error(run("weights", "download", "resnet34.tv_in1k", env=env))
    assert "resnet34-b627a593.pth not found and $ILSVRC_KERAS_OFFLINE is set" in line
    assert "https://download.pytorch.org/models/resnet34-b627a593.pth" in line
    line = _one_line_error(run("weights", "download", "zfnet", env=env))
    assert "zfnet" in line and "no published weights" in line


@pytest.mark.slow
def test_classify_json(val_sample, mobilenet_weights):
    img = val_sample / "images" / "ILSVRC2012_val_00000020.JPEG"
    p = run("classify", img, "--weights", mobilenet_weights, "--top", "3", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # exactly one JSON object: no log lines on stdout
    preds = out["results"][0]["predictions"]
    assert len(preds) == 3 and preds[0]["probability"] >= preds[1]["probability"]
    # TensorFlow's start-up noise stays off the terminal; the one line says which network answered.
    assert p.stderr.strip() == ("model: mobilenet_0.25_128 (the network whose ImageNet weights file "
                                "mobilenet_2_5_128_tf.h5 is; name another with --model / model=)")


@pytest.mark.slow
def test_evaluate_json(val_sample, mobilenet_weights):
    p = run("evaluate", val_sample / "images", "--labels", val_sample / "LOC_val_solution.csv",
            "--weights", mobilenet_weights, "--limit", "20", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["n"] == 20 and 0 <= r["accuracy"] <= r["top_5_accuracy"] <= 1
    assert r["top1_error"] == pytest.approx(1 - r["accuracy"]) and "top1" not in r


# In this process (the process-level contract, start-up noise off stderr included, is test_classify_json's and
# test_runtime_failures_exit_1_with_one_line_and_json's, in a real process).
@pytest.mark.parametrize("args,match", [
    (("classify", "x.jpg", "--model", "resnet51"), "unknown model 'resnet51'"),
    (("classify", "x.jpg", "--model", "zfnet"), "no ImageNet weights are published"),
    (("classify", "x.jpg", "--model", "alexnet"), "alexnet.tv_in1k: ImageNet weights file alexnet-owt-7be5be79.pth"),
    (("classify", "x.jpg", "--model", "resnet50"), "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
    (("evaluate", "/nonexistent/folder"), "no such folder"),
])
def test_errors_are_one_line(args, match, capsys):
    assert match in _one_line_error(main_here(*args, capsys=capsys))


def test_bad_image_is_one_line(tmp_path, mobilenet_weights, capsys):
    bad = tmp_path / "empty.jpg"
    bad.write_bytes(b"")
    assert "empty.jpg: the file is empty" in _one_line_error(main_here(
        "classify", bad, "--model", "mobilenet_0.25_128", "--weights", mobilenet_weights, capsys=capsys))


def test_help_is_fast_and_lists_commands():
    p = run("--help")
    assert p.returncode == 0
    for cmd in ("models", "classify", "evaluate", "localize", "train", "prepare", "fine-tune", "export", "app"):
        assert cmd in p.stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"ilsvrc-keras {ilsvrc_keras.__version__}"


def test_every_option_of_every_subcommand_has_help_text():
    import argparse

    from ilsvrc_keras.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == {"models", "weights", "classify", "evaluate", "localize", "train", "prepare", "fine-tune",
                                "lr-find",
                                "export",
                                "app"}
    for name, parser in sub.choices.items():
        for action in parser._actions:
            assert action.help and action.help.strip(), f"{name} {action.option_strings or action.dest}"
    # the shared groups carry the library's own defaults, shown in --help
    text = sub.choices["fine-tune"].format_help()
    assert "(default: 0.35)" in text and "(default: adam)" in text and "(default: 0.9)" in text
    assert "(default: 0.08)" in sub.choices["train"].format_help()


@pytest.mark.parametrize("args,match", [
    (("train", "--model", "resnet18", "--data", "d", "--out", "o", "--epochs", "-1"), "--epochs: -1 is out of range"),
    (("train", "--model", "resnet18", "--data", "d", "--out", "o", "--batch-size", "-4"), "--batch-size"),
    (("fine-tune", "d", "--out", "o", "--unfreeze", "some"), "'some': give 'all' or a number"),
    (("evaluate", "d", "--threshold", "1.5"), "--threshold: 1.5 is out of range"),
    (("classify", "x.jpg", "--top", "0"), "--top: 0 is out of range"),
    (("train", "--model", "resnet18"), "the following arguments are required"),
    # no prefix matching: an abbreviation is not an option (once `--val DIR` became `--val-fraction DIR`)
    (("train", "--model", "resnet18", "--data", "d", "--out", "o", "--val-f", "0.1"), "unrecognized arguments: --val-f"),
    (("fine-tune", "d", "--out", "o", "--head-ep", "1"), "unrecognized arguments: --head-ep"),
])
def test_bad_arguments_are_usage_errors(args, match):
    p = run(*args)
    assert p.returncode == 2 and "Traceback" not in p.stderr and match in p.stderr, p.stderr


@pytest.mark.slow
def test_runtime_failures_exit_1_with_one_line_and_json(tmp_path, flowers, monkeypatch, capsys):
    from ilsvrc_keras import cli
    from ilsvrc_keras.cli import commands

    from conftest import flower_subset

    data = flower_subset(flowers, tmp_path / "d", ("daisy", "tulip"), 3)
    (tmp_path / "file").write_text("not a folder")
    p = run("train", "--model", "resnet18", "--data", data, "--out", tmp_path / "file", "--epochs", 1, "--json")
    assert p.returncode == 2 and "Traceback" not in p.stderr  # checked before any model is built
    lines = [ln for ln in p.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "is a file; the run output is a folder" in lines[0]
    assert json.loads(p.stdout)["error"]["type"] == "IlsvrcKerasError"  # --json: one object, even on failure
    bad = main_here("classify", "x.jpg", "--model", "resnet51", "--json", capsys=capsys)
    assert bad.returncode == 2 and json.loads(bad.stdout)["error"]["type"] == "UnknownModelError"

    def unforeseen(args):
        raise MemoryError("out of memory in a convolution")

    monkeypatch.setattr(commands, "cmd_models", unforeseen)  # a failure no check could foresee: exit 1
    monkeypatch.delenv("ILSVRC_KERAS_DEBUG", raising=False)
    assert cli.main(["models", "--json"]) == 1
    out = capsys.readouterr()
    assert out.err.strip() == "error: MemoryError: out of memory in a convolution" and "Traceback" not in out.err
    assert json.loads(out.out)["error"] == {"type": "MemoryError", "message": "MemoryError: out of memory in a "
                                                                               "convolution"}


AUGMENT_FLAGS = [("--mixup", "0.2"), ("--cutmix", "0.5"), ("--randaugment",), ("--crop-scale", "0.5"),
                 ("--scale-jitter", "256", "288")]


@pytest.fixture(scope="module")
def two_tiny(flowers, tmp_path_factory):
    from conftest import flower_subset

    return flower_subset(flowers, tmp_path_factory.mktemp("aug"), ("daisy", "tulip"), 4)


def run_here(*args, capsys):
    """``ilsvrc-keras ARGS --json`` in this process, succeeding: its one JSON object."""
    p = main_here(*args, capsys=capsys)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr[-3000:]
    return json.loads(p.stdout)


# What each augmentation flag alone becomes (no --image-size: the size is the network's), as `train` and
# `fine_tune` receive it; the real runs below then train with the flags together.
TRAIN_EXPECTED = {"--crop-scale": ("crop_scale", (0.5, 1.0)), "--mixup": ("mixup", 0.2), "--cutmix": ("cutmix", 0.5),
                  "--randaugment": ("randaugment", True),
                  "--scale-jitter": ("scale_jitter", pytest.approx((256 / 224, 288 / 224)))}


@pytest.mark.parametrize("flag", AUGMENT_FLAGS, ids=lambda f: f[0])
def test_each_augmentation_flag_alone_reaches_train_and_fine_tune(flag, two_tiny, tmp_path, monkeypatch, capsys):
    """The CLI's mapping, flag by flag (a flag alone once ended in a NameError): the library call is
    captured instead of run."""
    import ilsvrc_keras.finetune
    import ilsvrc_keras.training

    calls = {}

    def fake_train(model, data, out, **kwargs):
        calls["train"] = kwargs
        return types.SimpleNamespace(interrupted=False, to_dict=lambda: {
            "epochs_completed": 1, "epochs": 1, "val_accuracy": None, "val_top_5_accuracy": None, "train_images_per_sec": 1.0,
            "seconds": 1.0, "out": str(out), "interrupted": False})

    def fake_fine_tune(data, **kwargs):
        calls["fine_tune"] = kwargs
        return types.SimpleNamespace(interrupted=False, metrics={"per_class": {}, "n": 2}, val_accuracy=0.5,
                                     history=[], seconds=1.0, paths={"out": str(kwargs["out"])},
                                     summary=lambda: {"metrics": {}, "val_accuracy": 0.5})

    import inspect

    # The parser reads its defaults from the functions' signatures: the fakes keep them.
    fake_train.__signature__ = inspect.signature(ilsvrc_keras.training.train)
    fake_fine_tune.__signature__ = inspect.signature(ilsvrc_keras.finetune.fine_tune)
    monkeypatch.setattr(ilsvrc_keras.training, "train", fake_train)
    monkeypatch.setattr(ilsvrc_keras.finetune, "fine_tune", fake_fine_tune)
    run_here("train", "--model", "resnet18", "--data", two_tiny, "--out", tmp_path / "r", *flag, "--json",
             capsys=capsys)
    run_here("fine-tune", two_tiny, "--out", tmp_path / "f", "--model", "mobilenet_0.25_128", *flag, "--json",
             capsys=capsys)
    key, value = TRAIN_EXPECTED[flag[0]]
    assert calls["train"]["image_size"] is None and getattr(calls["train"]["augment"], key) == value
    if flag[0] == "--scale-jitter":  # in px of the network's own size: 128 for this MobileNet
        value = pytest.approx((256 / 128, 288 / 128))
    assert getattr(calls["fine_tune"]["augment"], key) == value


def test_train_takes_val_as_fine_tune_does(two_tiny, tmp_path, monkeypatch, capsys):
    import ilsvrc_keras.training

    calls = []

    def fake_train(model, data, out, **kwargs):
        calls.append(kwargs)
        return types.SimpleNamespace(interrupted=False, to_dict=lambda: {
            "epochs_completed": 1, "epochs": 1, "val_accuracy": None, "val_top_5_accuracy": None,
            "train_images_per_sec": 1.0, "seconds": 1.0, "out": str(out), "interrupted": False})

    import inspect

    fake_train.__signature__ = inspect.signature(ilsvrc_keras.training.train)
    monkeypatch.setattr(ilsvrc_keras.training, "train", fake_train)
    run_here("train", "--model", "resnet18", "--data", two_tiny, "--val", two_tiny, "--out", tmp_path / "r", "--json",
             capsys=capsys)
    run_here("train", "--model", "resnet18", "--data", two_tiny, "--val-fraction", 0, "--out", tmp_path / "s",
             "--json", capsys=capsys)
    assert calls[0]["val_data"] == str(two_tiny) and calls[1]["val_data"] is None
    assert calls[1]["val_fraction"] == 0.0  # "0: no validation", as documented


@pytest.mark.slow
def test_train_and_fine_tune_run_with_the_augmentation_flags(two_tiny, mobilenet_weights, tmp_path, capsys):
    """Real runs: MixUp, CutMix, RandAugment and milder crops in one training at the network's size (224 px);
    the AlexNet/VGG-style scale jitter in a fine-tuning."""
    s = run_here("train", "--model", "resnet18", "--data", two_tiny, "--out", tmp_path / "r", "--epochs", 1,
                 "--batch-size", 4, "--mixup", 0.2, "--cutmix", 0.5, "--randaugment", "--crop-scale", 0.5,
                 "--quiet", "--json", capsys=capsys)
    assert s["epochs_completed"] == 1 and s["skipped_images"] == 0
    assert (s["augment"]["mixup"], s["augment"]["cutmix"], s["augment"]["randaugment"]) == (0.2, 0.5, True)
    run_here("fine-tune", two_tiny, "--out", tmp_path / "f", "--weights", mobilenet_weights, "--head-epochs", 1,
             "--epochs", 0, "--batch-size", 4, "--scale-jitter", 256, 288, "--quiet", "--json", capsys=capsys)
    settings = json.loads((tmp_path / "f" / "report.json").read_text())["settings"]["augment"]
    assert settings["scale_jitter"] == pytest.approx([256 / 128, 288 / 128])


@pytest.mark.slow
@pytest.mark.parametrize("signum,status", [(15, 143), (2, 130)])
def test_a_signal_during_a_long_evaluation_ends_it_promptly(val_sample, mobilenet_weights, signum, status):
    import time

    env = {**os.environ, "ILSVRC_KERAS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ilsvrc_keras", "evaluate", str(val_sample / "images"), "--labels",
                             str(val_sample / "LOC_val_solution.csv"), "--weights", str(mobilenet_weights),
                             "--localization", "--method", "gradcam++", "--batch-size", "4", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wait_for_stderr(proc, "model:")  # the network is chosen: the evaluation is under way
    time.sleep(3)
    sent = time.monotonic()
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status and time.monotonic() - sent < 15, stderr[-2000:]
    assert json.loads(stdout)["error"]["type"] == "Interrupted" and "Traceback" not in stderr
    assert "interrupted (" in stderr and "rerun" not in stderr  # evaluate does not resume: it does not say so


@pytest.mark.slow
def test_ctrl_c_during_classify_prints_what_was_done(val_sample, mobilenet_weights):
    import time

    photos = sorted((val_sample / "images").glob("*.JPEG")) * 40  # 4,000 images: long enough to interrupt
    env = {**os.environ, "ILSVRC_KERAS_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ilsvrc_keras", "classify", *map(str, photos), "--weights",
                             str(mobilenet_weights), "--top", "1", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    wait_for_stderr(proc, "model:")
    time.sleep(4)
    proc.send_signal(2)
    stdout, stderr = proc.communicate(timeout=60)
    out = json.loads(stdout)  # one JSON object: what was classified before the interruption
    assert proc.returncode == 130 and out["interrupted"] is True
    done = len(out["results"])
    assert 0 < done < len(photos) and f"after {done} of {len(photos)} images" in stderr and "rerun" not in stderr


def test_app_server_lifecycle(tmp_path):
    """SIGTERM to `ilsvrc-keras app` stops the server itself within 5 s; a busy port, a missing --models-dir and
    server settings after -- are one clear error each, exit 2."""
    import socket
    import time
    import urllib.request

    from conftest import cli_env

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
        s.listen(1)
        busy = subprocess.run([sys.executable, "-m", "ilsvrc_keras", "app", "--port", str(port), "--json"],
                              capture_output=True, text=True, env=cli_env(), timeout=120)
    assert busy.returncode == 2 and f"port {port} on localhost is in use" in json.loads(busy.stdout)["error"]["message"]
    for extra, words in ((["--models-dir", str(tmp_path / "nope")], "no such folder"),
                         (["--", "--server.port", "1234"], "--server.port: the server's settings")):
        p = subprocess.run([sys.executable, "-m", "ilsvrc_keras", "app", "--port", str(port), *extra],
                           capture_output=True, text=True, env=cli_env(), timeout=120)
        assert p.returncode == 2 and words in p.stderr, p.stderr
    proc = subprocess.Popen([sys.executable, "-m", "ilsvrc_keras", "app", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cli_env())
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2).read()
            break
        except OSError:
            assert time.monotonic() < deadline and proc.poll() is None, "the app did not start"
            time.sleep(0.5)
    sent = time.monotonic()
    proc.terminate()
    proc.wait(timeout=10)
    assert time.monotonic() - sent < 5
    with pytest.raises(OSError):  # nobody serves on the port any more
        urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2)


def _parsers():
    """Every parser a user meets: each ilsvrc-keras command, the milestone recipes' and Imagenette's."""
    import argparse

    from ilsvrc_keras.cli import build_parser

    def walk(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from walk(sub)

    found = list(walk(build_parser()))
    return found + [load_recipe("_common").parser("doc"), load_recipe("imagenette").parser()]


def test_imagenette_recipe_flags_reach_train():
    """Each ingredient flag of recipes/imagenette.py (what the ingredients benchmark varies) lands in the
    ilsvrc_keras.train arguments, and the defaults are the recipe's documented ones."""
    recipe = load_recipe("imagenette")
    base = ["--data", "d", "--out", "o"]
    default = recipe.settings(recipe.parser().parse_args(base))
    assert default["augment"].crop_scale == (0.6, 1.0)
    assert (default["augment"].mixup, default["augment"].cutmix) == (0.0, 0.0)
    assert default["progressive_from"] == 96 and default["label_smoothing"] == 0.1
    assert default["optimizer"] == "ranger" and default["schedule"] == "flat_cos"
    assert default["model_options"] == {"activation": "mish", "stem_pool": "maxblur"}

    varied = recipe.settings(recipe.parser().parse_args(
        base + ["--crop-scale", "0.08", "--mixup", "0.2", "--progressive-from", "128", "--label-smoothing", "0",
                "--activation", "relu", "--stem-pool", "max", "--optimizer", "sgd", "--batch-size", "32"]))
    assert varied["augment"].crop_scale == (0.08, 1.0) and varied["augment"].mixup == 0.2
    assert "progressive_from" not in varied and varied["label_smoothing"] == 0.0
    assert "model_options" not in varied and varied["optimizer"] == "sgd"
    assert varied["lr"] == pytest.approx(recipe.RECIPE["lr"])  # --lr is the rate for --batch-size
    assert recipe.settings(recipe.parser().parse_args(base + ["--se-ratio", "16"]))["model_options"] == \
        {"activation": "mish", "stem_pool": "maxblur", "se_ratio": 16}


def test_every_range_has_one_definition():
    """One table (checks.RANGES) for the Python checks and every front end: each numeric option parses with
    its row, and at each bound the CLI and the Python call accept and refuse the same values."""
    import argparse

    from ilsvrc_keras.checks import RANGES, check
    from ilsvrc_keras.cli.options import model_option
    from ilsvrc_keras.errors import ArgumentError

    numeric = 0
    for parser in _parsers():
        for action in parser._actions:
            # Text, NAME=VALUE pairs and the seed (any whole number) have no range.
            if not action.option_strings or action.type in (None, str, model_option) or action.dest in ("seed",):
                continue
            name = getattr(action.type, "range_name", None)
            assert name in RANGES, f"{parser.prog} {action.option_strings[0]} has a range of its own"
            numeric += 1
            r = RANGES[name]
            step = 1 if r.kind is int else 1e-6
            probes = [r.low - step, r.low, r.low + step] + ([r.high, r.high + step] if r.high is not None else [])
            for value in probes:
                value = r.kind(value) if r.kind is int else value
                try:
                    action.type(str(value))
                    cli_ok = True
                except argparse.ArgumentTypeError:
                    cli_ok = False
                try:
                    check(name, value)
                    python_ok = True
                except ArgumentError:
                    python_ok = False
                assert cli_ok == python_ok, (parser.prog, action.option_strings[0], value)
    assert numeric > 40


@pytest.mark.slow
def test_model_options_on_the_command_line(flowers, tmp_path):
    """train --model-option NAME=VALUE passes a builder option through (values read as numbers, booleans or
    text); an option the network does not have is one usage-style error naming the ones it has, before any
    folder is made."""
    from ilsvrc_keras.cli.options import model_option

    from conftest import cli, cli_env, flower_subset

    assert model_option("activation=mish") == ("activation", "mish")
    assert model_option("dropout=0.2") == ("dropout", 0.2) and model_option("aux_logits=true") == ("aux_logits", True)
    data = flower_subset(flowers, tmp_path / "data", ("daisy", "tulip"), 4)
    p = subprocess.run(cli("train", "--model", "resnet18d", "--data", data, "--out", tmp_path / "run",
                           "--model-option", "colour=red"), capture_output=True, text=True, env=cli_env(), timeout=300)
    assert p.returncode == 2 and "resnet18d has no option colour" in p.stderr and "stem_pool" in p.stderr, p.stderr
    assert not (tmp_path / "run").exists()
    p = subprocess.run(cli("train", "--model", "resnet18", "--data", data, "--out", tmp_path / "x", "--model-option",
                           "activation"), capture_output=True, text=True, env=cli_env(), timeout=300)
    assert p.returncode == 2 and "give NAME=VALUE" in p.stderr
