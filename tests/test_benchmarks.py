"""The benchmark tasks run and report every figure they promise (speed itself is in docs/benchmarks.md)."""

from ilsvrc_keras import benchmarks

from conftest import flower_subset


def test_input_benchmark_reports_all_pipelines(flowers, tmp_path):
    data = flower_subset(flowers, tmp_path / "f", ("daisy", "tulip"), 24)
    result = benchmarks.run("input", data=str(data), size=64, batch_size=8, batches=3)
    rates = result["images_per_sec"]
    assert len(rates) == 5 and all(v > 0 for v in rates.values())
    assert result["ratio_vs_plain"] > 0 and result["ratio_vs_plain_both_cached"] > 0
    assert result["first_epoch_decode_into_memory_s"] >= 0
    text = benchmarks.format_table(result)
    assert "kept in memory" in text and "ratio" in text

