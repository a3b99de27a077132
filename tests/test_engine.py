"""The training engine: replicas agree with one device, workers train in lockstep, a killed run
resumes, crop windows stay inside images, undecodable files are skipped and counted."""

import csv
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import cli as _cli
from conftest import cli_env as _env
from conftest import flower_subset, truncated_jpeg, wait_for_stderr

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(flowers, tmp_path_factory):
    """3 real flower classes x 16 photos, plus a truncated photo the pipeline must skip and a file that is
    not an image at all, left out at the door."""
    root = flower_subset(flowers, tmp_path_factory.mktemp("tiny"), ("daisy", "rose", "tulip"), 16)
    (root / "rose" / "zz_broken.jpg").write_bytes(truncated_jpeg(next((root / "rose").iterdir())))
    (root / "daisy" / "zz_notes.jpg").write_text("not a photo")
    return root


@pytest.mark.slow
def test_two_replicas_with_xla_equal_one_device():
    p = subprocess.run([sys.executable, str(ROOT / "tests" / "helpers" / "replica_step.py")], capture_output=True,
                       text=True, env=_env(), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r["replicas"] == 2
    assert r["seen"] == [7.0, 7.0]  # the zero-weight padding example is not counted
    assert r["moved"] > 1e-3  # the step did change the weights...
    assert r["max_diff"] < 1e-5  # ...identically: gradients were all-reduced, not averaged twice or lost
    assert abs(r["loss_one"] - r["loss_two"]) < 1e-5


def test_crop_windows_stay_inside_the_image():
    import tensorflow as tf

    from ilsvrc_keras.datasets import random_crop_window

    for shape in [(375, 500, 3), (500, 375, 3), (64, 64, 3), (20, 300, 3)]:
        areas = []
        for i in range(200):
            y, x, h, w = random_crop_window(tf.constant(shape), tf.constant([i, 7], tf.int64)).numpy()
            assert 0 <= y and 0 <= x and h > 0 and w > 0
            assert y + h <= shape[0] and x + w <= shape[1]
            areas.append(h * w / (shape[0] * shape[1]))
        assert min(areas) < 0.3 and max(areas) > 0.6  # the scale range is really used


def test_scale_jitter_crops_are_squares_of_the_jittered_shorter_side():
    import tensorflow as tf

    from ilsvrc_keras.datasets import Augment

    augment = Augment(scale_jitter=(256 / 224, 512 / 224))  # VGG's [256, 512] around 224 crops
    assert augment.cache_scale == 512 / 224  # kept images big enough for the smallest window
    for shape in [(375, 500, 3), (500, 375, 3), (224, 224, 3), (20, 300, 3)]:
        short = min(shape[:2])
        sides = []
        for i in range(200):
            y, x, h, w = augment.window(tf.constant(shape), tf.constant([i, 3], tf.int64)).numpy()
            assert h == w and 0 <= y and 0 <= x and y + h <= shape[0] and x + w <= shape[1]
            # the window is the 224 crop of the image resized to a shorter side of 256-512
            assert short * 224 / 512 - 1 <= h <= short * 224 / 256 + 1
            sides.append(h)
        assert max(sides) - min(sides) > 0.3 * short * 224 / 256  # the range is really used
    seed = tf.constant([5, 9], tf.int64)
    assert (augment.window(tf.constant((300, 400, 3)), seed).numpy()
            == augment.window(tf.constant((300, 400, 3)), seed).numpy()).all()  # seeded: resumes replay it
    alexnet = Augment(scale_jitter=(0.9, 0.9))  # r < 1: the whole shorter side
    assert alexnet.window(tf.constant((100, 150, 3)), seed).numpy()[2] == 100


def test_scale_jitter_through_the_training_pipeline(flowers, tmp_path):
    from ilsvrc_keras.datasets import Augment, DecodedCache, folder_dataset, make_dataset
    from ilsvrc_keras.transforms import EvalTransform

    ds = folder_dataset(flower_subset(flowers, tmp_path / "d", ("daisy", "tulip"), 5), val_fraction=0.2)
    t = EvalTransform(48, 0.75, "tf")
    augment = Augment(scale_jitter=(64 / 48, 80 / 48))
    store = DecodedCache().serve(ds.train, t, training=True, augment=augment)
    for split in (ds.train, store):
        batches = list(make_dataset(split, t, 4, 2, training=True, augment=augment))
        assert sum(int((w > 0).numpy().sum()) for _, _, w in batches) == len(ds.train)
        assert all(tuple(x.shape) == (4, 48, 48, 3) for x, _, _ in batches)
    assert all(min(a.shape[:2]) == 80 for a in store.items)  # 80 px kept: the largest jittered side


def test_disguised_png_and_cmyk_jpeg_decode(tmp_path):
    import tensorflow as tf

    from ilsvrc_keras.datasets import decode_random_crop

    rgb = (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "png_named.JPEG", "PNG")  # as in ImageNet's train set
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "cmyk.JPEG", "JPEG")
    for name in ("png_named.JPEG", "cmyk.JPEG"):
        crop = decode_random_crop(tf.io.read_file(str(tmp_path / name)), tf.constant([1, 2], tf.int64))
        assert crop.shape[-1] == 3 and crop.shape[0] > 0 and crop.dtype == tf.uint8


def _history(out):
    with open(out / "history.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_train_cli_json_and_outputs(tiny, tmp_path):
    out = tmp_path / "run"
    p = subprocess.run(_cli("train", "--model", "resnet18", "--data", tiny, "--out", out, "--epochs", 2,
                            "--batch-size", 8, "--image-size", 64, "--lr", 0.05, "--scale-jitter", 72, 80, "--quiet", "--json"),
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    s = json.loads(p.stdout)
    for key in ("replicas", "xla", "precision", "epochs_completed", "resumed_from_epoch", "val_accuracy", "val_top_5_accuracy",
                "train_images_per_sec"):
        assert key in s
    assert s["replicas"] == 1 and s["xla"] is False and s["precision"] == "fp32"
    assert s["epochs_completed"] == 2 and s["resumed_from_epoch"] is None
    assert s["augment"]["scale_jitter"] == pytest.approx([72 / 64, 80 / 64])  # px at --image-size 64
    from ilsvrc_keras.datasets import folder_dataset

    broken_in_train = any(p.endswith("zz_broken.jpg") for p in folder_dataset(tiny, 0.2, 0).train.paths)
    assert broken_in_train  # the seeded split puts it there: the run must skip it, not die
    assert s["skipped_images"] == 2  # once per epoch, counted
    assert [p.endswith("zz_notes.jpg") for p, _ in s["unreadable"]] == [True]  # left out at the door
    rows = _history(out)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert (out / "model.keras").is_file() and (out / "curves.png").is_file()
    assert list((out / "tensorboard").iterdir())
    import ilsvrc_keras

    clf = ilsvrc_keras.load(out)
    assert [c[0] for c in clf.class_labels] == ["daisy", "rose", "tulip"]
    preds = clf.classify(sorted((tiny / "daisy").glob("[!z]*.jpg"))[0], top=3)
    assert sorted(p.label for p in preds) == ["daisy", "rose", "tulip"]
    assert [p.probability for p in preds] == sorted((p.probability for p in preds), reverse=True)


@pytest.mark.slow
def test_keep_best_ends_with_the_best_epoch_and_reports_it(tiny, tmp_path):
    out = tmp_path / "best"
    # A learning rate high enough that the epochs differ; the run must end at the best of them.
    p = subprocess.run(_cli("train", "--model", "resnet18", "--data", tiny, "--out", out, "--epochs", 3,
                            "--batch-size", 8, "--image-size", 32, "--lr", 0.2, "--keep-best", "--quiet", "--json"),
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    s = json.loads(p.stdout)
    rows = _history(out)
    best = max(rows, key=lambda r: float(r["val_accuracy"]))
    assert s["restored_best"] is True and s["best_epoch"] == int(best["epoch"])
    assert s["val_accuracy"] == pytest.approx(float(best["val_accuracy"]))
    import ilsvrc_keras
    from ilsvrc_keras.datasets import folder_dataset

    # The saved model is the best epoch's: its accuracy on the validation files matches that row.
    val = folder_dataset(tiny, 0.2, 0).val
    clf = ilsvrc_keras.load(out)
    names = [c[0] for c in clf.class_labels]
    good = [(p, y) for p, y in zip(val.paths, val.labels) if not p.endswith("zz_broken.jpg")]
    hits = sum(clf.classify(p, top=1)[0].label == names[y] for p, y in good)
    assert hits / len(good) == pytest.approx(float(best["val_accuracy"]), abs=1e-4)  # history keeps 5 decimals


@pytest.mark.slow
def test_progressive_resizing_grows_the_training_size_and_ends_at_the_models(tiny, tmp_path):
    from ilsvrc_keras.training import progressive_size

    assert [progressive_size(e, 10, 96, 64) for e in range(10)] == [64] * 6 + [80] + [96] * 3
    assert [progressive_size(e, 4, 96) for e in range(4)] == [96] * 4  # off
    out = tmp_path / "prog"
    p = subprocess.run(_cli("train", "--model", "resnet18", "--data", tiny, "--out", out, "--epochs", 2,
                            "--batch-size", 8, "--image-size", 64, "--progressive-from", 32,
                            "--progressive-ramp", 0, 1, "--quiet", "--json"),
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    s = json.loads(p.stdout)
    assert s["progressive"] == {"from": 32, "to": 64, "ramp": [0.0, 1.0]}
    assert [int(r["image_size"]) for r in _history(out)] == [32, 64]
    import ilsvrc_keras

    clf = ilsvrc_keras.load(out)  # one network for every size; it classifies at the evaluation size
    assert clf.model.input_shape == (None, None, None, 3)
    assert clf.classify(next((tiny / "tulip").iterdir()), top=1)[0].label in ("daisy", "rose", "tulip")


def test_progressive_crops_come_from_the_store_of_the_final_size(flowers, tmp_path):
    from ilsvrc_keras.datasets import DecodedCache, folder_dataset, make_dataset
    from ilsvrc_keras.errors import IlsvrcKerasError
    from ilsvrc_keras.transforms import EvalTransform
    from ilsvrc_keras.zoo import create_model

    ds = folder_dataset(flower_subset(flowers, tmp_path / "d", ("daisy", "tulip"), 4), val_fraction=0.25)
    t = EvalTransform(64, 0.875, "tf")
    store = DecodedCache().serve(ds.train, t, training=True)
    x, _, _ = next(iter(make_dataset(store, t, 3, 2, training=True, size=32)))
    assert tuple(x.shape) == (3, 32, 32, 3)
    assert all(min(a.shape[:2]) == 80 for a in store.items)  # 1.25 x 64
    x, _, _, _ = next(iter(make_dataset(ds.val, t, 2, 2, training=False, size=32)))
    assert tuple(x.shape) == (2, 64, 64, 3)  # evaluation keeps the model's size
    with pytest.raises(IlsvrcKerasError, match="one input size"):
        create_model("vgg11", num_classes=2, input_shape=(None, None, 3))


@pytest.mark.slow
def test_killed_run_resumes(tiny, tmp_path):
    out = tmp_path / "killed"
    cmd = _cli("train", "--model", "resnet18", "--data", tiny, "--out", out, "--epochs", 3, "--batch-size", 4,
               "--image-size", 48, "--lr", 0.02, "--checkpoint-every", 3, "--quiet", "--json")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env())
    deadline = time.time() + 300
    # Kill -9 once a mid-epoch checkpoint exists and the run has gone on past it.
    while time.time() < deadline:
        marks = sorted((out / "checkpoints").glob("ckpt-*.index")) if (out / "checkpoints").exists() else []
        if marks and int(marks[-1].stem.split("-")[1]) >= 6:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    s = json.loads(p.stdout)
    assert s["resumed_from_epoch"] is not None and s["resumed_from_epoch"] > 0
    assert s["epochs_completed"] == 3
    assert [int(r["epoch"]) for r in _history(out)] == [1, 2, 3]  # no duplicate rows after the resume


@pytest.mark.slow
def test_sigterm_checkpoints_mid_epoch_and_exits_143(tiny, tmp_path):
    out = tmp_path / "term"
    cmd = _cli("train", "--model", "resnet18", "--data", tiny, "--out", out, "--epochs", 2, "--batch-size", 4,
               "--image-size", 48, "--lr", 0.02, "--checkpoint-every", 1000, "--quiet", "--json")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=_env())
    deadline = time.time() + 300
    while time.time() < deadline and not (out / "tensorboard").exists():
        time.sleep(0.1)
    time.sleep(3)  # inside the first epoch's steps (no step checkpoint: every 1000 steps)
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143
    s = json.loads(stdout)
    assert s["interrupted"] is True and s["epochs_completed"] == 0
    marks = sorted(int(p.stem.split("-")[1]) for p in (out / "checkpoints").glob("ckpt-*.index"))
    assert marks and 0 < marks[-1] < s["steps_per_epoch"]  # saved where it stopped, mid-epoch


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sigterm_to_one_worker_stops_both_at_the_same_step_and_resumes(tiny, tmp_path):
    """Two workers (MultiWorkerMirroredStrategy over localhost) train in lockstep, and a scheduler preempts
    one of them: SIGTERM reaches worker 1 alone, after its step 2. The stop travels in the step's all-reduce,
    so both workers stop after the same step and checkpoint there (without it the chief would wait forever
    in the next all-reduce); the rerun resumes both from there and ends with equal weights."""
    out = tmp_path / "preempt"
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"localhost:{p}" for p in ports]}

    def run_both(signal_worker=None):
        procs = []
        for i in range(2):
            env = _env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}))
            cmd = [sys.executable, str(ROOT / "tests" / "helpers" / "preempt_worker.py"), str(tiny), str(out)]
            cmd += ["--signal-at", "2"] if i == signal_worker else []
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
        outputs = [p.communicate(timeout=600) for p in procs]
        for p, (stdout, stderr) in zip(procs, outputs):
            assert p.returncode == 0, stderr[-3000:]
        return [json.loads(stdout.strip().splitlines()[-1]) for stdout, _ in outputs]

    stopped = run_both(signal_worker=1)
    assert [s["interrupted"] for s in stopped] == [True, True]  # worker 0 was never signalled
    assert [s["epochs_completed"] for s in stopped] == [0, 0]
    assert all(s["workers"] == 2 and s["replicas"] == 2 for s in stopped)

    def latest(folder):
        return max(int(p.stem.split("-")[1]) for p in folder.glob("ckpt-*.index"))

    # The signal came after step 2; worker 1's stop request travelled in step 3's all-reduce: both saved there.
    assert latest(out / "checkpoints") == latest(out / "workers" / "worker-1") == 4
    assert stopped[0]["weights_fingerprint"] == stopped[1]["weights_fingerprint"]
    done = run_both()
    assert [s["resumed_from_epoch"] for s in done] == [pytest.approx(4 / stopped[0]["steps_per_epoch"])] * 2
    assert [s["epochs_completed"] for s in done] == [1, 1] and not any(s["interrupted"] for s in done)
    assert done[0]["weights_fingerprint"] == done[1]["weights_fingerprint"]  # in lockstep to the end
    assert (out / "model.keras").is_file()  # written by the chief


def _lone_worker(tiny, tmp_path, *extra):
    """Worker 0 of a two-worker cluster whose worker 1 never starts, as `ilsvrc-keras train`."""
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    env = _env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    cmd = _cli("train", "--model", "resnet18", "--data", tiny, "--out", tmp_path / "lone", "--epochs", "1",
               "--image-size", "32", *extra)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env), ports[1]


@pytest.mark.slow
def test_absent_peer_is_named_after_the_cluster_timeout(tiny, tmp_path):
    proc, absent = _lone_worker(tiny, tmp_path, "--cluster-timeout", "5", "--json")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr[-2000:]
    message = json.loads(stdout)["error"]["message"]
    assert f"did not start within 5 s: worker 1 (localhost:{absent}) never answered" in message


@pytest.mark.slow
@pytest.mark.parametrize("signum,status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_wait_for_the_cluster(tiny, tmp_path, signum, status):
    proc, _ = _lone_worker(tiny, tmp_path)
    wait_for_stderr(proc, "waiting up to")  # the wait has begun (the default limit: 600 s)
    time.sleep(1)
    sent = time.monotonic()
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == status and time.monotonic() - sent < 5
    assert "while waiting for the cluster; nothing was trained" in stderr


def test_bad_data_is_a_clear_error(tmp_path):
    from ilsvrc_keras import DataError
    from ilsvrc_keras.datasets import folder_dataset as image_folder_dataset

    with pytest.raises(DataError, match="no such folder"):
        image_folder_dataset(tmp_path / "nope")
    (tmp_path / "only").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "only" / "a.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "only" / "b.png")
    with pytest.raises(DataError, match="at least two classes"):
        image_folder_dataset(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="empty: class folder holds no images"):
        image_folder_dataset(tmp_path)


def test_stratified_split_is_seeded(flowers):
    from ilsvrc_keras.datasets import open_dataset as image_folder_dataset

    a = image_folder_dataset(flowers, val_fraction=0.2, seed=0)
    b = image_folder_dataset(flowers, val_fraction=0.2, seed=0)
    c = image_folder_dataset(flowers, val_fraction=0.2, seed=1)
    assert a.val.paths == b.val.paths and a.val.paths != c.val.paths
    assert len(a.train) + len(a.val) == 4317
    counts = np.bincount(a.val.labels)
    assert np.allclose(counts / counts.sum(), [764 / 4317, 1052 / 4317, 784 / 4317, 733 / 4317, 984 / 4317], atol=0.01)
    assert not set(a.train.paths) & set(a.val.paths)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["googlenet", "resnet50"])
def test_recipe_smoke_run(recipe, tiny, tmp_path):
    """A recipe runs as it stands (GoogLeNet with its auxiliary classifiers) on a tiny run."""
    p = subprocess.run([sys.executable, str(ROOT / "recipes" / f"{recipe}.py"), "--data", tiny, "--out",
                        tmp_path / recipe, "--smoke", "--epochs", "1"], capture_output=True, text=True, env=_env(),
                       timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads(p.stdout[p.stdout.index("{"):])
    assert summary["epochs_completed"] == 1 and summary["global_batch_size"] == 8
    assert summary["learning_rate"] < 0.01  # the paper's rate, scaled down to the smoke batch
    if recipe == "resnet50":  # the paper's scale augmentation: shorter side 256-480 around 224 crops
        assert summary["augment"]["scale_jitter"] == pytest.approx([256 / 224, 480 / 224])
    import ilsvrc_keras

    assert ilsvrc_keras.load(tmp_path / recipe).num_classes == 3


@pytest.mark.slow
def test_imagenette_recipe_smoke_run_then_evaluate(tmp_path):
    """recipes/imagenette.py on a few real Imagenette images (one short epoch): a random-init run under the
    leaderboard's rules, settings recorded in the summary, and a model folder `ilsvrc-keras evaluate` scores
    with the wnid folder names as classes."""
    from conftest import ASSETS, _need

    nette = _need(ASSETS / "imagenette" / "train")
    train, val = tmp_path / "train", tmp_path / "val"
    for d in sorted(nette.iterdir())[:3]:
        files = sorted(d.iterdir())[:8]
        for folder, chosen in ((train, files[:6]), (val, files[6:])):
            (folder / d.name).mkdir(parents=True)
            for f in chosen:
                (folder / d.name / f.name).symlink_to(f)
    out = tmp_path / "nette"
    p = subprocess.run([sys.executable, str(ROOT / "recipes" / "imagenette.py"), "--data", train, "--out", out,
                        "--epochs", "1", "--size", "64", "--batch-size", "6", "--json"],
                       capture_output=True, text=True, env=_env(), timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads(p.stdout)
    assert summary["epochs_completed"] == 1 and summary["val_accuracy"] is None  # trained on all of --data
    recipe = summary["recipe"]
    assert recipe["model"] == "resnet18d" and recipe["label_smoothing"] == 0.1 and recipe["val_fraction"] == 0.0
    assert "random init" in recipe["rules"] and recipe["image_size"] == 64 and recipe["wall_seconds"] > 0
    assert summary["weights_fingerprint"] and json.loads((out / "summary.json").read_text())["recipe"] == recipe
    p = subprocess.run(_cli("evaluate", val, "--model", out, "--json"), capture_output=True, text=True, env=_env(),
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    scored = json.loads(p.stdout)
    assert scored["n"] == 6 and scored["model"] == "nette" and scored["skipped"] == []
    wnids = [d.name for d in sorted(nette.iterdir())[:3]]
    assert json.loads((out / "labels.json").read_text()) == wnids


@pytest.mark.slow
def test_accumulated_steps_equal_one_large_batch():
    """--accumulate-steps 4 at batch 8 makes the same update as one step of batch 32 (Adam, clipped
    gradients), on one device and on two replicas alike; per-variable rates scale each variable's update."""
    p = subprocess.run([sys.executable, str(ROOT / "tests" / "helpers" / "accumulate_step.py")], capture_output=True,
                       text=True, env=_env(), timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    for name in ("one", "two"):
        assert r[name]["updates"] == [1, 1], r  # four steps, one update
        assert r[name]["moved"] > 1e-4, r
        assert r[name]["max_diff"] < 1e-5, r
        assert abs(r[name]["sgd_update_norm"] - 0.05) < 1e-6, r  # the whole gradient clipped to the norm
    # Clipping the sum of the replicas' gradients, not each replica's share: two replicas move as one device.
    np.testing.assert_allclose(r["two"]["sgd_weights"], r["one"]["sgd_weights"], atol=1e-7)
    # Per-variable rates (fine_tune's lr_mult): the multiplied variables move at that fraction, the rest as before.
    for name in ("one", "two"):
        np.testing.assert_allclose(r[name]["update_ratios"], [0.25, 0.25, 1.0, 1.0], rtol=1e-4)
