"""Nothing a user owns is ever lost: an output replaces only a previous output of its own kind, with
overwrite, and never the source it reads or a folder holding it. Each case checks every pre-existing file
byte for byte."""

import json

import pytest

import ilsvrc_keras
from ilsvrc_keras.model_folder import save_folder
from ilsvrc_keras.presets import get_preset


def snapshot(root):
    """Every file under ``root`` with its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A small model folder (as fine_tune writes one): a 2-class ResNet-18 at 32 px."""
    root = tmp_path_factory.mktemp("runs")
    net = ilsvrc_keras.create_model("resnet18", num_classes=2, input_shape=(32, 32, 3), classifier_activation=None)
    save_folder(root / "m", net, ["cat", "dog"], get_preset("resnet18").transform(32), outputs="logits")
    (root / "m" / "report.json").write_text('{"n": 3}')
    return root / "m"


def _export_cli(capsys, *args):
    """``ilsvrc-keras export ARGS --json`` as a user runs it (in this process): its status and JSON."""
    from ilsvrc_keras.cli import main

    status = main(["export", *map(str, args), "--json", "--quiet"])
    return status, json.loads(capsys.readouterr().out)


def test_export_never_replaces_what_it_did_not_write(model_folder, tmp_path, capsys):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("keep")
    runs = model_folder.parent
    before_runs, before_victim = snapshot(runs), snapshot(victim)
    cases = [
        (victim, "holds files this command did not write"),          # a user's folder
        (model_folder, "is the source"),                             # the model folder itself
        (runs, "holds the source"),                                   # a folder holding the source
        (".", "cannot be the savedmodel export output"),              # impossible names
        ("/", "cannot be the savedmodel export output"),
        (victim / "notes.txt", "is a file; the savedmodel export output is a folder"),
    ]
    for i, (target, message) in enumerate(cases):
        if i < 2:  # as a user types it: exit 2, the JSON error
            status, out = _export_cli(capsys, target, "--model", model_folder)
            assert status == 2 and message in out["error"]["message"], (target, out)
        else:
            with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match=message):
                ilsvrc_keras.export(model_folder, target)
    assert snapshot(runs) == before_runs and snapshot(victim) == before_victim
    # --overwrite changes nothing about a folder that is not a previous export
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="did not write"):
        ilsvrc_keras.export(model_folder, victim, overwrite=True)
    assert snapshot(victim) == before_victim
    # a .tflite over a user's file, or beside a user's labels file of the same name
    (tmp_path / "user.tflite").write_bytes(b"mine")
    (tmp_path / "m.labels.json").write_text("mine too")
    for target in (tmp_path / "user.tflite", tmp_path / "m.tflite"):
        with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="did not write"):
            ilsvrc_keras.export(model_folder, target, format="tflite", overwrite=True)
    assert (tmp_path / "user.tflite").read_bytes() == b"mine" and (tmp_path / "m.labels.json").read_text() == "mine too"


@pytest.mark.slow
def test_a_previous_export_is_replaced_only_with_overwrite(model_folder, tmp_path):
    target = tmp_path / "exported"
    first = ilsvrc_keras.export(model_folder, target)
    assert json.loads((target / "labels.json").read_text())["written_by"] == "ilsvrc-keras export"
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="holds a previous savedmodel export; pass --overwrite"):
        ilsvrc_keras.export(model_folder, target)
    again = ilsvrc_keras.export(model_folder, target, overwrite=True)
    assert first["path"] == again["path"] and (target / "saved_model.pb").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing staged is left behind
    # an export inside the model folder (what fine_tune(export=...) writes) is allowed: it does not hold the source
    inside = ilsvrc_keras.export(model_folder, model_folder / "savedmodel")
    assert (model_folder / "model.keras").is_file() and (model_folder / "savedmodel" / "labels.json").is_file()
    assert inside["path"] == str(model_folder / "savedmodel")


@pytest.fixture(scope="module")
def photos(flowers, tmp_path_factory):
    from conftest import flower_subset

    return flower_subset(flowers, tmp_path_factory.mktemp("photos"), ("daisy", "rose"), 6)


def _sentinels(root):
    """A user's folder: notes, a photo-like file, and files named like a run's outputs."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "notes.txt").write_text("keep")
    (root / "history.csv").write_text("my own history")
    (root / "sub").mkdir(exist_ok=True)
    (root / "sub" / "model.keras").write_bytes(b"my own model")
    return root


@pytest.mark.parametrize("overwrite", [False, True])
def test_every_command_with_an_output_leaves_a_users_folder_alone(photos, mobilenet_weights, tmp_path, overwrite,
                                                                    capsys):
    """train, fine-tune, prepare, export and localize, pointed at a folder of the user's (and at the files in
    it), with and without --overwrite: each is refused by name and every byte is still there."""
    from ilsvrc_keras.cli import main

    user = _sentinels(tmp_path / "user")
    before = snapshot(user)
    photo = next((photos / "daisy").iterdir())
    flag = ["--overwrite"] if overwrite else []
    w = ["--model", "mobilenet_0.25_128", "--weights", str(mobilenet_weights)]
    commands = [
        ["train", "--model", "resnet18", "--data", str(photos), "--out", str(user), "--epochs", "1",
         "--image-size", "32"],
        ["fine-tune", str(photos), "--out", str(user), *w, "--epochs", "1"],
        ["prepare", str(photos), str(user)],
        ["export", str(user), *w],
        ["export", str(user / "notes.txt"), *w, "--format", "tflite"],
        ["localize", str(photo), *w, "--out", str(user / "notes.png")],
    ]
    (user / "notes.png").write_bytes(b"not an overlay")
    before = snapshot(user)
    for argv in commands:
        status = main([*argv, *flag, "--json", "--quiet"])
        out = capsys.readouterr().out
        assert status == 2, (argv, out)
        message = json.loads(out)["error"]["message"]
        assert str(user) in message, (argv, message)
        assert snapshot(user) == before, argv
    # the source itself is never an output: localize over its own photo, prepare into (or inside) its dataset
    photo_bytes = photo.read_bytes()
    for argv in (["localize", str(photo), *w, "--out", str(photo.with_suffix(".png"))],
                 ["prepare", str(photos), str(photos / "shards")]):
        if argv[0] == "localize":
            photo.with_suffix(".png").write_bytes(photo_bytes)  # the user's photo, as PNG
        assert main([*argv, *flag, "--json", "--quiet"]) == 2
        capsys.readouterr()
    assert photo.read_bytes() == photo_bytes and not (photos / "shards").exists()


def test_previous_outputs_are_replaced_only_with_overwrite(photos, mobilenet_weights, tmp_path, capsys):
    from ilsvrc_keras.cli import main

    w = ["--model", "mobilenet_0.25_128", "--weights", str(mobilenet_weights)]
    photo = next((photos / "rose").iterdir())
    overlay = tmp_path / "overlay.png"
    assert main(["localize", str(photo), *w, "--top", "1", "--out", str(overlay), "--quiet"]) == 0
    assert main(["localize", str(photo), *w, "--top", "1", "--out", str(overlay), "--quiet", "--json"]) == 2
    assert "holds a previous overlay" in capsys.readouterr().out
    assert main(["localize", str(photo), *w, "--top", "1", "--out", str(overlay), "--quiet", "--overwrite"]) == 0
    # prepare: a previous prepare output is replaced whole (its stale shards with it), with --overwrite only
    shards = tmp_path / "shards"
    assert main(["prepare", str(photos), str(shards), "--quiet", "--shard-size", "2"]) == 0
    many = sorted(p.name for p in shards.iterdir())
    assert main(["prepare", str(photos), str(shards), "--quiet", "--json"]) == 2
    assert "holds a previous prepared dataset; pass --overwrite" in capsys.readouterr().out
    other = tmp_path / "other"
    other.mkdir()
    for name in ("daisy", "rose"):
        (other / name).symlink_to(photos / name)
    assert main(["prepare", str(other), str(shards), "--quiet", "--json"]) == 2  # another dataset's shards
    assert f"holds a previous prepared dataset, of {photos}, not {other}" in capsys.readouterr().out
    assert sorted(p.name for p in shards.iterdir()) == many
    assert main(["prepare", str(photos), str(shards), "--quiet", "--overwrite"]) == 0
    now = sorted(p.name for p in shards.iterdir())
    assert len(now) < len(many) and set(now) <= set(many) | {"train-00000-of-00001.tfrecord"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_a_damaged_model_keras_says_damaged(model_folder, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(model_folder, copy)
    data = (copy / "model.keras").read_bytes()
    (copy / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match=r"model.keras is damaged: it is not a complete .keras"):
        ilsvrc_keras.load(copy)


def test_save_folder_never_replaces_a_users_model(tmp_path):
    net = ilsvrc_keras.create_model("resnet18", num_classes=2, input_shape=(32, 32, 3))
    transform = get_preset("resnet18").transform(32)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "model.keras").write_bytes(b"my own model")
    with pytest.raises(ilsvrc_keras.IlsvrcKerasError, match="holds model.keras that this package did not write"):
        save_folder(mine, net, ["a", "b"], transform)
    assert (mine / "model.keras").read_bytes() == b"my own model"
    save_folder(tmp_path / "ours", net, ["a", "b"], transform)
    save_folder(tmp_path / "ours", net, ["a", "b"], transform)  # its own folder: saved again, as model.save does
    assert json.loads((tmp_path / "ours" / "preprocessing.json").read_text())["written_by"] == "ilsvrc-keras model folder"


def test_a_live_run_locks_its_folder(photos, mobilenet_weights, tmp_path):
    """A second run into a folder another process is running in is refused by name and changes nothing; the
    lock goes with the process however it ends (here SIGKILL), and the folder is usable again."""
    import subprocess
    import sys

    from ilsvrc_keras.errors import IlsvrcKerasError

    from conftest import wait_for_stderr

    out = tmp_path / "race"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from ilsvrc_keras.files import run_folder\n"
        f"with run_folder({str(out)!r}, {{'run': 'fine_tune', 'model': 'first'}}):\n"
        "    print('holding', file=sys.stderr, flush=True)\n"
        "    time.sleep(120)\n")], stderr=subprocess.PIPE, text=True)
    try:
        wait_for_stderr(holder, "holding")
        before = snapshot(out)
        with pytest.raises(IlsvrcKerasError, match="in use by another run that is still going"):
            ilsvrc_keras.fine_tune(photos, model="mobilenet_0.25_128", weights=mobilenet_weights, out=out,
                                   epochs=1, head_epochs=1, overwrite=True)
        assert snapshot(out) == before and json.loads((out / "run.json").read_text())["model"] == "first"
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with ilsvrc_keras.files.run_folder(out, {"run": "fine_tune", "model": "first"}) as folder:
        assert folder == out


def test_a_run_that_fails_before_writing_takes_its_folder_back(tmp_path):
    from ilsvrc_keras.files import run_folder

    out = tmp_path / "new" / "run"
    with pytest.raises(RuntimeError), run_folder(out, {"run": "train", "model": "x"}):
        assert (out / "run.json").is_file()
        raise RuntimeError("the strategy could not start")
    assert not (tmp_path / "new").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(RuntimeError), run_folder(mine, {"run": "train", "model": "x"}):
        (mine / "checkpoints").mkdir()
        (mine / "checkpoints" / "ckpt-1.weights.h5").write_bytes(b"x")
        raise RuntimeError("killed mid-run")
    assert (mine / "run.json").is_file() and (mine / "checkpoints" / "ckpt-1.weights.h5").is_file()  # resumable
    users = _sentinels(tmp_path / "users")  # a user's folder, written into with overwrite: run.json goes, theirs stay
    (users / "history.csv").unlink()
    before = snapshot(users)
    with pytest.raises(RuntimeError), run_folder(users, {"run": "train", "model": "x"}, overwrite=True):
        assert (users / "run.json").is_file()
        raise RuntimeError("the strategy could not start")
    assert snapshot(users) == before
