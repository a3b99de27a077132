"""The ilsvrc-keras command as a user runs it: one JSON object on stdout, one-line errors."""

import json
import os
import subprocess
import sys

import pytest

from test_registry import EXPECTED


def run(*args, env=None):
    full_env = {**os.environ, "ILSVRC_KERAS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "ilsvrc_keras", *map(str, args)], capture_output=True,
                          text=True, env=full_env, timeout=300)


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
    assert "none published" in next(ln for ln in p.stdout.splitlines() if ln.startswith("alexnet"))


def test_classify_json(val_sample, mobilenet_weights):
    img = val_sample / "images" / "ILSVRC2012_val_00000020.JPEG"
    p = run("classify", img, "--weights", mobilenet_weights, "--top", "3", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)  # exactly one JSON object: no log lines on stdout
    preds = out["results"][0]["predictions"]
    assert len(preds) == 3 and preds[0]["probability"] >= preds[1]["probability"]
    assert p.stderr.strip() == ""  # TensorFlow start-up noise stays off the terminal


def test_evaluate_json(val_sample, mobilenet_weights):
    p = run("evaluate", val_sample / "images", "--labels", val_sample / "LOC_val_solution.csv",
            "--weights", mobilenet_weights, "--limit", "20", "--json")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["n"] == 20 and 0 <= r["top1"] <= r["top5"] <= 1


@pytest.mark.parametrize("args,match", [
    (("classify", "x.jpg", "--model", "resnet51"), "unknown model 'resnet51'"),
    (("classify", "x.jpg", "--model", "alexnet"), "no ImageNet weights are published"),
    (("classify", "x.jpg", "--model", "resnet50"), "resnet50_weights_tf_dim_ordering_tf_kernels.h5"),
    (("evaluate", "/nonexistent/folder"), "no such folder"),
])
def test_errors_are_one_line(args, match):
    assert match in _one_line_error(run(*args))


def test_bad_image_is_one_line(tmp_path, mobilenet_weights):
    bad = tmp_path / "empty.jpg"
    bad.write_bytes(b"")
    assert "empty.jpg: the file is empty" in _one_line_error(run("classify", bad, "--weights", mobilenet_weights))


def test_help_is_fast_and_lists_commands():
    p = run("--help")
    assert p.returncode == 0
    for cmd in ("models", "classify", "evaluate", "benchmark"):
        assert cmd in p.stdout
