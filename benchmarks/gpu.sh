#!/usr/bin/env bash
# ResNet-50 training throughput on every NVIDIA GPU of this machine: bf16 (where the GPU computes it,
# else fp16), XLA on and off, synthetic tensors (the step alone) and photo-sized JPEGs through the
# training input pipeline, with MirroredStrategy over all GPUs. Prints a table, then one JSON line.
# About 4-6 minutes on one A100/H100 (most of it XLA compilation); the reference point is NVIDIA's
# TF ResNet-50 with XLA + AMP, about 2,400 images/s on one A100.
#
#   bash benchmarks/gpu.sh                       # from the repository, with the package installed
#   bash benchmarks/gpu.sh --data /data/imagenet/train   # real JPEGs instead of generated ones
#   GPU_BENCH_TINY=1 bash benchmarks/gpu.sh      # a tiny CPU run (ResNet-18, 32 px, 2 CPU replicas) that checks
#                                                # the script (the tests do)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if [ -n "${GPU_BENCH_TINY:-}" ]; then
    args=(--model resnet18 --size 32 --batch-per-replica 2 --steps 2 --warmup 1 --replicas 2)
else
    args=(--model resnet50 --size 224 --batch-per-replica 128 --steps 40)
fi
"$PY" -c "import tensorflow as tf; print('GPUs:', [d.name for d in tf.config.list_physical_devices('GPU')] or 'none')"
result=$("$PY" -m benchmarks gpu "${args[@]}" --json "$@")
"$PY" -c 'import json, sys; from benchmarks.tasks import format_table; print(format_table(json.loads(sys.argv[1])))' "$result"
echo "$result"
