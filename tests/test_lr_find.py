"""The learning-rate finder: a real probe on real photos, the curve drawn, a rate suggested, and the probed
model left exactly as it was."""

import json

import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras.training.lr_find import exponential_rates, smooth, steepest, valley

from conftest import flower_subset


@pytest.fixture(scope="module")
def flowers3(flowers, tmp_path_factory):
    return flower_subset(flowers, tmp_path_factory.mktemp("lrf"), ("daisy", "rose", "sunflower"), 16)


def test_the_rules_read_a_known_curve():
    lrs = exponential_rates(1e-5, 1.0, 11)
    # falling until 1e-2, flat, then diverging: the valley sits in the fall, the steepest descent too
    losses = [2.0, 1.95, 1.8, 1.5, 1.1, 0.8, 0.7, 0.72, 1.5, 3.0, 6.0]
    assert 1e-4 <= valley(lrs, losses) <= 1e-2
    assert 1e-4 <= steepest(lrs, smooth(losses, beta=0.0)) <= 1e-2
    assert smooth([3.0], beta=0.98).tolist() == [3.0]  # debiased: the first value is itself


@pytest.mark.slow
def test_lr_find_on_real_photos_leaves_the_model_as_it_was(flowers3, mobilenet_weights, tmp_path):
    import keras

    from ilsvrc_keras.finetune import build_classifier

    net = build_classifier("mobilenet_0.25_128", 3, mobilenet_weights, 128)
    net.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    before = [w.copy() for w in net.get_weights()]
    found = ilsvrc_keras.lr_find(flowers3, model=net, preset="mobilenet_0.25_128", phase="all", steps=40,
                                 batch_size=8, out=tmp_path / "curve.png", progress=False)
    after = net.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # weights and BatchNorm statistics
    assert int(net.optimizer.iterations.numpy()) == 0  # the user's optimizer never stepped
    assert 10 <= len(found.lrs) <= 40 and np.isfinite(found.smoothed).all()
    assert found.lrs[0] == pytest.approx(1e-7) and found.lrs == sorted(found.lrs)
    assert 1e-7 <= found.suggestion <= 10 and 1e-7 <= found.steepest <= 10
    # The sweep runs to the last rate or until the loss diverges (the diverging point is left off the curve).
    assert len(found.lrs) == 40 or (found.stopped_early and len(found.lrs) < 40)
    assert all(v > 0 for v in found.losses)
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_cli_lr_find_prints_a_rate_and_draws_the_curve(flowers3, mobilenet_weights, tmp_path, capsys):
    from ilsvrc_keras.cli import main

    argv = ["lr-find", str(flowers3), "--model", "mobilenet_0.25_128", "--weights", str(mobilenet_weights),
            "--out", str(tmp_path / "c.png"), "--steps", "30", "--batch-size", "8", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("suggested learning rate ") and "curve in" in out and (tmp_path / "c.png").is_file()
    assert main([*argv, "--json"]) == 2  # the curve it drew is replaced only with --overwrite
    assert "holds a previous" in capsys.readouterr().out
    assert main([*argv, "--json", "--overwrite"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert set(found) >= {"lrs", "losses", "suggestion", "steepest", "plot"}


@pytest.mark.slow
def test_fine_tune_finds_its_rates_and_records_them(flowers3, mobilenet_weights, tmp_path):
    result = ilsvrc_keras.fine_tune(flowers3, model="mobilenet_0.25_128", weights=mobilenet_weights,
                                    out=tmp_path / "ft", head_epochs=1, epochs=1, head_lr="find", lr="find",
                                    batch_size=8, progress=False)
    report = json.loads((tmp_path / "ft" / "report.json").read_text())
    assert set(report["lr_find"]) == {"head_lr", "lr"}
    assert report["settings"]["head_lr"] == report["lr_find"]["head_lr"]["suggestion"]
    assert report["settings"]["lr"] == report["lr_find"]["lr"]["suggestion"]
    assert 1e-7 <= report["settings"]["lr"] <= 10 and not result.interrupted


@pytest.mark.slow
def test_train_finds_its_rate_and_records_it(flowers3, tmp_path):
    result = ilsvrc_keras.train(flowers3, "resnet18", tmp_path / "run", epochs=1, batch_size=8, image_size=32,
                                lr="find", progress=False)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["lr_find"]["suggestion"] == summary["learning_rate"] == result.learning_rate
    assert 1e-7 <= summary["learning_rate"] <= 10
