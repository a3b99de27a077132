"""What every recipe shares: its command line and the call into the training engine.

A recipe is the paper's schedule as data (see each recipe's ``PAPER``); this module turns it into
an ``ilsvrc_keras.train`` call. ``--smoke`` shrinks the run (72 px, batch 8,
two short epochs) so that a recipe can be checked on a laptop before a cluster spends a week on it.
"""

from __future__ import annotations

import argparse
import json
import sys

from ilsvrc_keras.datasets import Augment

SMOKE = {"epochs": 2, "batch_size": 8, "image_size": 72, "checkpoint_every": 5}  # 72 px: AlexNet needs 67


def parser(doc: str) -> argparse.ArgumentParser:
    from ilsvrc_keras.cli import Parser, options

    class Formatter(argparse.RawDescriptionHelpFormatter, options.HelpFormatter):
        pass

    # The CLI's parser: a usage error is one `error:` line (and, the output being JSON, one JSON object).
    Parser.as_json = True
    p = Parser(description=doc, formatter_class=Formatter)
    p.add_argument("--data", required=True,
                   help="ImageNet: train/<wnid>/ and val/<wnid>/ (or val/ with --labels), or any class-per-folder tree")
    p.add_argument("--labels", help="ground truth for a flat val/ folder (LOC_val_solution.csv ...)")
    p.add_argument("--out", required=True, help="output folder; rerun the same command to resume")
    options.add_group(p, "run", options.RUN, {}, only=("--batch-size", "--epochs", "--overwrite"),
                      helps={"--batch-size": "global batch (default: the paper's; the learning rate scales linearly "
                                             "with it)", "--epochs": "epochs (default: the paper's)"})
    p.add_argument("--accumulate-steps", type=options.ranged("accumulate_steps"), metavar="N",
                   help="the paper's batch in N steps of batch/N (gradients averaged into one update): a small "
                        "machine trains the paper's schedule")
    p.add_argument("--smoke", action="store_true", help="a tiny run: 2 epochs, 72 px, batch 8")
    options.add_group(p, "machine", options.MACHINE, {})  # the same flags as ilsvrc-keras train
    return p


def run(model: str, paper: dict, doc: str, argv=None) -> dict:
    """Parse the recipe's command line, train, print the summary as JSON and return it."""
    args = parser(doc).parse_args(argv)
    from ilsvrc_keras.cli.commands import import_tensorflow

    import_tensorflow()
    from ilsvrc_keras.training import configure_cpu_replicas, train

    configure_cpu_replicas(args.replicas)
    cfg = dict(paper)
    paper_batch = cfg["batch_size"]
    if args.smoke:
        cfg.update(SMOKE)
    if args.batch_size:
        cfg["batch_size"] = args.batch_size
    if args.epochs:
        cfg["epochs"] = args.epochs
    # Linear scaling rule (Goyal et al. 2017): the paper's rate belongs to the paper's batch.
    cfg["lr"] = cfg.pop("lr") * cfg["batch_size"] / paper_batch
    if args.accumulate_steps and args.accumulate_steps > 1:  # the same update batch, in N steps
        if cfg["batch_size"] % args.accumulate_steps:
            from ilsvrc_keras.errors import ArgumentError

            raise ArgumentError(f"--accumulate-steps {args.accumulate_steps} does not divide the batch of "
                                f"{cfg['batch_size']}")
        cfg["batch_size"] //= args.accumulate_steps
        cfg["accumulate_steps"] = args.accumulate_steps
    augment = {k: cfg.pop(k) for k in ("scale_jitter", "randaugment") if k in cfg}
    if "scale_jitter" in augment:  # the paper's shorter sides around its 224 px crops, as multiples of the crop
        augment["scale_jitter"] = tuple(side / 224 for side in augment["scale_jitter"])
    if augment:
        cfg["augment"] = Augment(**augment)
    for k in ("replicas", "precision", "xla"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    summary = train(args.data, model, args.out, labels=args.labels, overwrite=args.overwrite, **cfg).to_dict()
    print(json.dumps(summary, indent=2))
    return summary


def main(model: str, paper: dict, doc: str) -> None:
    """The recipe as a command, under the CLI's contract: exit 0 done, 2 bad input (one `error:` line and
    one JSON object), 1 any other failure, 143 interrupted (rerun the same command to resume)."""
    from ilsvrc_keras.cli import guarded

    sys.exit(guarded(lambda: 143 if run(model, paper, doc)["interrupted"] else 0, as_json=True))
