"""The optimizers Keras lacks: RAdam step for step as torch.optim.RAdam, Lookahead as its paper, Ranger and the
flat-then-cosine schedule through the engine (resumable)."""

import json

import numpy as np
import pytest

import ilsvrc_keras
from ilsvrc_keras.training import RAdam, make_schedule

from conftest import ROOT, flower_subset

FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "radam_torch.json").read_text())


@pytest.fixture(scope="module")
def two_classes(flowers, tmp_path_factory):
    return flower_subset(flowers, tmp_path_factory.mktemp("two"), ("daisy", "tulip"), 10)


def _run(opt, initial, grads):
    import keras

    w = keras.Variable(np.array(initial, np.float32))
    opt.build([w])
    out = []
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(np.array(g, np.float32)), w)])
        out.append(keras.ops.convert_to_numpy(w).copy())
    return np.array(out)


def test_radam_follows_torch_step_for_step():
    """30 steps on torch's fixed gradients (tests/fixtures/make_radam.py): the momentum-only steps before the
    variance is tractable and the rectified ones after."""
    f = FIXTURE
    ours = _run(RAdam(f["lr"], *f["betas"], epsilon=f["eps"]), f["initial"], f["grads"])
    np.testing.assert_allclose(ours, np.array(f["weights"]), rtol=1e-5, atol=1e-6)


def test_lookahead_pulls_back_to_the_slow_weights_every_k_steps():
    """Ranger's Lookahead (k=6, alpha 0.5) on RAdam, against the rule written out: the fast weights run k RAdam
    steps, then both become slow + 0.5 (fast - slow)."""
    f, k = FIXTURE, 6
    plain = RAdam(f["lr"], *f["betas"], epsilon=f["eps"])
    ranger = _run(RAdam(f["lr"], *f["betas"], epsilon=f["eps"], lookahead_steps=k), f["initial"], f["grads"][:12])
    # The first k steps are RAdam's own; the k-th ends halfway back to the start.
    fast = _run(plain, f["initial"], f["grads"][:k])
    np.testing.assert_allclose(ranger[:k - 1], fast[:k - 1], rtol=1e-6)
    start = np.array(f["initial"], np.float32)
    np.testing.assert_allclose(ranger[k - 1], start + 0.5 * (fast[k - 1] - start), rtol=1e-5, atol=1e-7)
    assert not np.allclose(ranger[k - 1], fast[k - 1])


def test_flat_cos_holds_the_peak_then_decays():
    s = make_schedule(0.1, 100, kind="flat_cos", flat_fraction=0.72)
    rates = [float(s(i)) for i in range(101)]
    assert rates[:72] == pytest.approx([0.1] * 72) and rates[100] == pytest.approx(0.0, abs=1e-9)
    assert all(a >= b for a, b in zip(rates[72:], rates[73:]))  # decays from there on, never back up


@pytest.mark.slow
def test_ranger_and_flat_cos_through_train_and_resume(two_classes, tmp_path):
    """optimizer="ranger", schedule="flat_cos" train and resume: the Lookahead copy is in the checkpoint, so a
    run stopped after its first epoch continues to the same weights as one that was never stopped."""
    common = dict(epochs=2, batch_size=4, image_size=32, lr=0.01, optimizer="ranger", schedule="flat_cos",
                  weight_decay=0.0, progress=False)
    whole = ilsvrc_keras.train(two_classes, "resnet18", tmp_path / "whole", **common)
    stopped = ilsvrc_keras.train(two_classes, "resnet18", tmp_path / "split", stop_after_steps=4, **common)
    assert stopped.interrupted and stopped.epochs_completed == 1
    resumed = ilsvrc_keras.train(two_classes, "resnet18", tmp_path / "split", **common)
    assert resumed.epochs_completed == 2 and np.isfinite(resumed.history[-1]["loss"])
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
