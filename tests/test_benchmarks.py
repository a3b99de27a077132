"""The benchmark tasks run and report every figure they promise (speed itself is in docs/benchmarks.md)."""

import pytest

from benchmarks import elpv
from benchmarks import tasks as benchmarks

from conftest import flower_subset, load_recipe


def test_input_benchmark_reports_all_pipelines(flowers, tmp_path):
    data = flower_subset(flowers, tmp_path / "f", ("daisy", "tulip"), 24)
    result = benchmarks.run("input", data=str(data), size=64, batch_size=8, batches=3)
    rates = result["images_per_sec"]
    assert len(rates) == 8 and all(v > 0 for v in rates.values())
    assert result["ratio_vs_plain"] > 0 and result["ratio_vs_plain_both_cached"] > 0
    assert result["ratio_vs_plain_shards_shrunk"] > 0
    assert list(result["shards_write_s"]) == ["own bytes", "shorter side 73"]  # 64 / 0.875
    assert result["first_epoch_decode_into_memory_s"] >= 0
    text = benchmarks.format_table(result)
    assert "kept in memory" in text and "ratio" in text


def test_ingredient_variants_are_the_recipe_with_their_flags():
    """Each variant of `python -m benchmarks ingredients` parses as recipes/imagenette.py flags, no two train
    alike, and the variant it names as the recipe's default trains exactly what the recipe's defaults do."""
    from benchmarks.ingredients import DEFAULT, VARIANTS

    recipe = load_recipe("imagenette")

    def trains(flags):  # what ilsvrc_keras.train is given, comparable as text
        return repr(sorted(recipe.settings(recipe.parser().parse_args(["--data", "d", "--out", "o", *flags])).items()))

    as_text = {name: trains(flags) for name, flags in VARIANTS.items()}
    assert len(set(as_text.values())) == len(VARIANTS)
    assert [name for name, text in as_text.items() if text == trains([])] == [DEFAULT]


def test_elpv_folders_sorts_cells_by_defect_probability(tmp_path):
    from PIL import Image

    src = tmp_path / "elpv"
    (src / "images").mkdir(parents=True)
    rows = [("cell0001.png", "1.0", "mono"), ("cell0002.png", "0.0", "poly"),
            ("cell0003.png", "0.3333333333333333", "mono"), ("cell0004.png", "0.6666666666666666", "poly"),
            ("cell0005.png", "0.0", "mono")]
    for i, (name, _, _) in enumerate(rows):
        Image.new("L", (30, 30), 40 * i).save(src / "images" / name)
    (src / "labels.csv").write_text("".join(f"images/{n}  {p}  {t}\n" for n, p, t in rows))
    counts = elpv.elpv_folders(tmp_path / "out", source=src)
    assert counts == {"functional": 2, "possibly_defective": 1, "likely_defective": 1, "defective": 1}
    assert sorted(p.name for p in (tmp_path / "out" / "functional").iterdir()) == ["cell0002.png", "cell0005.png"]
    assert (tmp_path / "out" / "defective" / "cell0001.png").read_bytes() == (src / "images" / "cell0001.png").read_bytes()


@pytest.mark.slow
def test_gpu_script_runs_on_cpu_with_a_tiny_setting():
    """benchmarks/gpu.sh, as a GPU machine runs it, shrunk to a tiny CPU run (2 CPU replicas, so that
    MirroredStrategy is exercised): a table and one JSON line with every setting it promises."""
    import json
    import os
    import subprocess
    import sys

    from conftest import ROOT

    p = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu.sh")], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "GPU_BENCH_TINY": "1", "PYTHON": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["global_batch"] == 4
    assert {(r["xla"], r["data"]) for r in result["rows"]} == {(x, d) for x in (True, False)
                                                                for d in ("synthetic", "jpeg pipeline")}
    assert all(r["images_per_sec"] > 0 and r["step_ms"] > 0 for r in result["rows"])
    assert "images/s" in p.stdout and "step ms" in p.stdout


@pytest.mark.slow
def test_train_recipe_benchmark_smoke(tmp_path):
    """Both sides of the Imagenette benchmark run on a few real Imagenette images (smoke settings)."""
    from conftest import ASSETS, _need

    nette = _need(ASSETS / "imagenette" / "train")
    mini = tmp_path / "nette"
    for d in sorted(nette.iterdir())[:3]:
        (mini / d.name).mkdir(parents=True)
        for f in sorted(d.iterdir())[:6]:
            (mini / d.name / f.name).symlink_to(f)
    result = benchmarks.run("train-recipe", data=str(mini), smoke=True, val_fraction=0.34)
    engine, plain = result["rows"].values()
    assert result["size"] == 72 and result["epochs"] == 2 and engine["epochs"] == plain["epochs"] == 2
    assert engine["train_images_per_sec"] > 0 and plain["train_images_per_sec"] > 0
    assert result["speed_ratio"] == round(engine["train_images_per_sec"] / plain["train_images_per_sec"], 2)
    assert "speed ratio" in benchmarks.format_table(result)


@pytest.mark.slow
def test_gpu_against_timm_script_runs_on_cpu_in_its_smoke_form():
    """benchmarks/gpu_vs_timm.py --smoke: the zoo side trains and infers (JAX where installed, else Keras'
    backend here); the timm side runs where torch and timm are installed and otherwise says why it did not."""
    import json
    import subprocess
    import sys

    from conftest import ROOT

    p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_vs_timm.py"), "--smoke"], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    result = json.loads(p.stdout.strip().splitlines()[-1])
    zoo = result["sides"]["keras-jax"]
    assert zoo["model"] == "zoo resnet50b" and set(zoo["rows"]) == {"train", "inference"}, zoo
    assert all(r["images_per_sec"] > 0 and r["step_ms"] > 0 for r in zoo["rows"].values())
    timm_side = result["sides"]["timm-torch"]
    assert set(timm_side.get("rows", {})) == {"train", "inference"} or "No module named" in timm_side["skipped"]
    assert "images/s" in p.stdout and result["settings"]["batch"] == 2
