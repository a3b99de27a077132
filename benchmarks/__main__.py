"""``python -m benchmarks TASK ...``: one benchmark task, its figures as a table or one JSON object."""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.tasks import TASKS, format_table, run  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("task", choices=sorted(TASKS), help="what to measure")
    p.add_argument("--data", help="image folder (input, fine-tune; default: the shared flowers)")
    p.add_argument("--model", help="registry name (default: each task's own: mobilenet_0.25_128 for predict and "
                                   "localize, resnet18d for train-recipe)")
    p.add_argument("--weights", help="weights file (default: ImageNet weights, found locally or downloaded)")
    p.add_argument("--repeats", type=int, default=50, help="timed repeats (predict, localize)")
    p.add_argument("--size", type=int, help="image size in px (gpu; default 224)")
    p.add_argument("--batch-per-replica", type=int, help="batch per accelerator (gpu; default 128)")
    p.add_argument("--steps", type=int, help="timed steps per setting (gpu; default 40)")
    p.add_argument("--warmup", type=int, help="untimed steps per setting, compilation included (gpu; default 10)")
    p.add_argument("--replicas", type=int, help="CPU replicas where there is no GPU (gpu)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    given = {k: getattr(args, k) for k in ("model", "size", "batch_per_replica", "steps", "warmup", "replicas")
             if getattr(args, k) is not None}
    result = run(args.task, weights=args.weights, repeats=args.repeats, data=args.data, **given)
    sys.stdout.write((json.dumps(result) if args.json else format_table(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
