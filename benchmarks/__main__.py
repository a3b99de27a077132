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
    p.add_argument("--model", default="mobilenet_0.25_128", help="registry name (predict, localize)")
    p.add_argument("--weights", help="weights file (default: ImageNet weights, found locally or downloaded)")
    p.add_argument("--repeats", type=int, default=50, help="timed repeats (predict, localize)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = p.parse_args(argv)
    result = run(args.task, model=args.model, weights=args.weights, repeats=args.repeats, data=args.data)
    sys.stdout.write((json.dumps(result) if args.json else format_table(result)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
