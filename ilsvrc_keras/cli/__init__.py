"""``ilsvrc-keras``: the command line, a thin layer over the public API.

The parser is built from :mod:`.options` (each option defined once, with the defaults of the function
it feeds); the subcommands are in :mod:`.commands`. With ``--json`` stdout holds exactly one JSON
object; logs and progress bars go to stderr. Exit status: 0 done, 2 a usage error or bad input
(one ``error:`` line), 1 any other failure (one ``error:`` line; ``ILSVRC_KERAS_DEBUG=1`` shows the
traceback), 143 a run stopped by SIGTERM and 130 by Ctrl-C (train and fine-tune: rerun the same command to
resume).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..errors import IlsvrcKerasError
from ..training.schedules import OPTIMIZERS
from . import options as o

EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 143


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors in the command's one form: the usage, one ``error:`` line
    naming the option, exit status 2, and with ``--json`` the error object on stdout too."""

    as_json = False  # set by main() from the command line, before parsing

    def __init__(self, *args, **kwargs):
        # No prefix matching: `--val DIR` must never be read as `--val-fraction DIR` (subcommands inherit it).
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.print_usage(sys.stderr)
        _fail(f"{message} (see {self.prog} --help)", EXIT_BAD_INPUT, self.as_json, "UsageError")
        sys.exit(EXIT_BAD_INPUT)


def _localize_args(sp) -> None:
    from ..localization import (
        DEFAULT_COMPONENT,
        DEFAULT_METHOD,
        DEFAULT_REGION,
        DEFAULT_SCALE,
        DEFAULT_THRESHOLD,
        METHODS,
        REGIONS,
    )

    g = sp.add_argument_group("localization")
    g.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD, help="class activation method")
    g.add_argument("--threshold", type=o.ranged("threshold"), default=DEFAULT_THRESHOLD,
                   help="heat-map threshold for the box, relative to the map's maximum")
    g.add_argument("--region", choices=REGIONS, default=DEFAULT_REGION,
                   help="what the heat map covers: the classification crop, the whole image, or the whole image "
                        "squashed to the input size")
    g.add_argument("--scale", type=o.ranged("scale"), default=DEFAULT_SCALE,
                   help="run the heat map at this multiple of the input size (finer maps; default 2 where the "
                        "network takes any size, else 1)")
    g.add_argument("--component", choices=["all", "largest"], default=DEFAULT_COMPONENT,
                   help="box every pixel over the threshold, or only the largest connected region")


def _model_args(sp) -> None:
    sp.add_argument("--model", help="zoo name or preset `arch.tag` (see `ilsvrc-keras models`), or a model folder "
                                    "written by train/fine-tune (default: the strongest network whose ImageNet "
                                    "weights are on this machine, else resnet50, downloaded; the choice is printed)")
    sp.add_argument("--weights", help="weights file for a zoo network (default: its ImageNet weights, found locally "
                                      "or downloaded)")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    from . import commands as c

    p = Parser(prog="ilsvrc-keras", description="The ILSVRC milestone networks in Keras 3.",
                                formatter_class=o.HelpFormatter)
    p.add_argument("--version", action="version", version=f"ilsvrc-keras {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_):
        sp = sub.add_parser(name, help=help_, description=help_, formatter_class=o.HelpFormatter)
        sp.set_defaults(func=func)
        sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        sp.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines on stderr")
        return sp

    add("models", c.cmd_models, "list the model zoo and every preset's published weights")
    _weights_command(add("weights", c.cmd_weights, "list the published weights files, or download them for "
                                                    "offline use"))
    _inference_commands(add, c)
    _train_command(add("train", c.cmd_train, "train a zoo network (resumable: rerun the same command to continue)"))
    _prepare_command(add("prepare", c.cmd_prepare,
                         "write a class-per-folder or ILSVRC dataset as TFRecord shards (in parallel)"))
    _fine_tune_command(add("fine-tune", c.cmd_fine_tune, "adapt a pretrained network to a new dataset (two phases)"))
    _lr_find_command(add("lr-find", c.cmd_lr_find, "the learning-rate finder: train while the rate grows, draw "
                                                   "the loss curve, suggest a rate"))
    _export_command(add("export", c.cmd_export, "write a SavedModel / TFLite / ONNX file that takes raw pixels"))
    _app_command(add("app", c.cmd_app, "start the web demo (Streamlit) on http://localhost:PORT"))
    return p


def _weights_command(sp) -> None:
    sp.add_argument("action", choices=["list", "download"],
                    help="list: which files are here, their size and whether their hash matches; download: fetch "
                         "them into keras' cache ($KERAS_HOME/models)")
    sp.add_argument("names", nargs="*", metavar="NAME",
                    help="presets (resnet34.tv_in1k) or zoo names (their default preset); list: default all")


TTA_HELP = "test-time augmentation: average six views (center, four corners, mirrored center) in one batched pass"


def _inference_commands(add, c) -> None:
    """classify, evaluate and localize."""
    sp = add("classify", c.cmd_classify, "classify images with a pretrained network")
    sp.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    _model_args(sp)
    sp.add_argument("--top", type=o.ranged("top"), default=5, help="how many classes to show per image")
    sp.add_argument("--tta", action="store_true", help=TTA_HELP)

    sp = add("evaluate", c.cmd_evaluate, "ILSVRC top-1/top-5 over a labeled image folder")
    sp.add_argument("data", help="flat folder of validation images (with --labels) or class-per-folder tree")
    _model_args(sp)
    sp.add_argument("--labels", help="LOC_val_solution.csv, a label-per-line file, or a Pascal-VOC XML folder")
    sp.add_argument("--limit", type=o.ranged("limit"), help="evaluate the first N images only")
    sp.add_argument("--batch-size", type=o.ranged("batch_size"), default=32, help="images per batch")
    sp.add_argument("--tta", action="store_true", help=TTA_HELP)
    sp.add_argument("--top-losses", metavar="PNG",
                    help="draw the images it got most confidently wrong (with the Grad-CAM of its answer) here")
    sp.add_argument("--overwrite", action="store_true", help="replace a --top-losses picture this command drew")
    sp.add_argument("--localization", action="store_true",
                    help="also ILSVRC localization: top1_loc, top5_loc, gt_known_loc (needs boxes)")
    _localize_args(sp)

    sp = add("localize", c.cmd_localize, "class activation map and box for the top classes of an image")
    sp.add_argument("image", metavar="IMAGE", help="an image file")
    _model_args(sp)
    sp.add_argument("--top", type=o.ranged("top"), default=5, help="how many classes to localize")
    _localize_args(sp)
    sp.add_argument("--out", help="write a PNG overlay (heat map of the top class, boxes with names)")
    sp.add_argument("--all-boxes", action="store_true", help="draw the box of every top class on the overlay")
    sp.add_argument("--overwrite", action="store_true",
                    help="replace an overlay this command wrote before at --out (never another picture)")



def _train_command(sp) -> None:
    from ..datasets import Augment
    from ..training.run import train
    from ..training.trainer import RunConfig

    train_defaults = o.defaults_of(RunConfig, train, Augment)
    train_defaults["crop_scale"] = Augment().crop_scale[0]
    sp.add_argument("--model", required=True, help="registry name (see `ilsvrc-keras models`)")
    sp.add_argument("--data", required=True, help="train/ + val/ class folders, one class-per-folder tree, a folder "
                                                  "written by `ilsvrc-keras prepare`, or a TFDS name")
    sp.add_argument("--out", required=True, help="output folder (checkpoints, logs, model)")
    g = sp.add_argument_group("data and run")
    g.add_argument("--data-dir", help="TFDS: where its prepared records live")
    g.add_argument("--manual-dir", help="TFDS imagenet2012: the folder holding the ILSVRC2012 tars")
    g.add_argument("--labels", help="ground truth of a flat val/ folder (LOC_val_solution.csv ...)")
    g.add_argument("--weights", help="initial weights (a file, or 'imagenet'; default: random)")
    g.add_argument("--model-option", type=o.model_option, action="append", metavar="NAME=VALUE",
                   help="an option of the network's builder, as create_model takes it (a ResNet's activation=mish, "
                        "stem_pool=maxblur; dropout=0.2); repeatable")
    g.add_argument("--val", dest="val_data", metavar="DIR",
                   help="validation data: class folders, prepared shards or a TFDS split (default: a held-out part "
                        "of --data)")
    g.add_argument("--val-fraction", type=o.ranged("val_fraction"), default=train_defaults["val_fraction"],
                   help="fraction of each class held out for validation when --val is not given (0: no validation)")
    o.add_group(sp, "run", o.RUN, train_defaults, helps={"--image-size": "input size in px (default: the paper's)"})
    o.add_group(sp, "machine", o.MACHINE, train_defaults)
    o.add_group(sp, "schedule", o.SCHEDULE + o.TRAIN_SCHEDULE, train_defaults)
    o.add_group(sp, "augmentation", o.AUGMENT, train_defaults)



def _prepare_command(sp) -> None:
    sp.add_argument("src", help="train/ + val/ class folders (val/ flat with --labels for ILSVRC), or one tree")
    sp.add_argument("out", help="output folder for the shards and dataset.json (then: train --data OUT)")
    sp.add_argument("--overwrite", action="store_true",
                    help="replace a previous `prepare` output at OUT (nothing else is ever replaced)")
    sp.add_argument("--shard-size", type=o.ranged("shard_size"), default=1024, help="examples per shard")
    sp.add_argument("--val-fraction", type=o.ranged("val_fraction"), default=0.2, help="held out when SRC has no val/ (0: none)")
    sp.add_argument("--labels", help="ground truth of a flat val/ folder (LOC_val_solution.csv ...)")
    sp.add_argument("--workers", type=o.ranged("workers"), help="threads writing shards (default: 2 per core)")
    sp.add_argument("--shorter-side", type=o.ranged("shorter_side"), metavar="PX",
                    help="shrink images whose shorter side is larger to PX (JPEG quality 90): fewer pixels to "
                         "decode every epoch (256 for 224 px training); default: the files' own bytes")
    sp.add_argument("--seed", type=int, default=0, help="seed of the split and of the shards' order")



def _fine_tune_command(sp) -> None:
    from ..datasets import Augment
    from ..finetune import CROP_SCALE, fine_tune

    ft_defaults = o.defaults_of(fine_tune)
    ft_defaults["crop_scale"] = CROP_SCALE[0]
    ft_defaults.update({k: v for k, v in o.defaults_of(Augment).items() if k in ("mixup", "cutmix")})
    sp.add_argument("data", help="class-per-folder dataset (train/ + val/, or one tree), a `prepare` folder, "
                                 "or a TFDS name")
    sp.add_argument("--out", required=True, help="output folder (model, report, plots, checkpoints)")
    _model_args(sp)
    g = sp.add_argument_group("data and run")
    g.add_argument("--labels", help="ground truth of a flat val/ folder (the raw ILSVRC layout: LOC_val_solution.csv)")
    o.add_group(sp, "run", o.RUN, ft_defaults, helps={"--epochs": "epochs of the whole-network phase"})
    o.add_group(sp, "fine-tuning", o.FINE_TUNE, ft_defaults)
    o.add_group(sp, "machine", o.MACHINE, ft_defaults)
    o.add_group(sp, "schedule of the whole-network phase", o.SCHEDULE, ft_defaults)
    o.add_group(sp, "augmentation", o.AUGMENT, ft_defaults)



def _lr_find_command(sp) -> None:
    from ..finetune import lr_find

    d = o.defaults_of(lr_find)
    sp.add_argument("data", help="class-per-folder dataset (as fine-tune takes it)")
    _model_args(sp)
    sp.add_argument("--out", help="draw the curve into this PNG")
    sp.add_argument("--overwrite", action="store_true", help="replace a curve this command drew before at --out")
    sp.add_argument("--phase", choices=("head", "all"), default=d["phase"],
                    help="probe the new head on the frozen backbone (the rate for --head-lr), or every layer "
                         "(for --lr)")
    sp.add_argument("--steps", type=o.ranged("steps"), default=d["steps"], help="most steps of the probe")
    sp.add_argument("--start-lr", type=o.ranged("start_lr"), default=d["start_lr"], help="the first rate")
    sp.add_argument("--end-lr", type=o.ranged("end_lr"), default=d["end_lr"], help="the last rate")
    sp.add_argument("--optimizer", choices=OPTIMIZERS, default=d["optimizer"], help="optimizer of the probe")
    sp.add_argument("--labels", help="ground truth of a flat val/ folder")
    o.add_group(sp, "run", o.RUN, d, only=("--batch-size", "--image-size", "--seed"),
                helps={"--seed": "seed of the split and the batches"})


def _export_command(sp) -> None:
    from ..serving import EXPORT_FORMATS

    sp.add_argument("out", help="where to write: a folder for savedmodel, a file for tflite and onnx")
    _model_args(sp)
    sp.add_argument("--format", choices=EXPORT_FORMATS, default="savedmodel",
                    help="SavedModel (TF Serving), TFLite/LiteRT (phones, edge), ONNX (needs tf2onnx)")
    sp.add_argument("--overwrite", action="store_true",
                    help="replace a previous export at OUT (nothing else is ever replaced)")


def _app_command(sp) -> None:
    sp.add_argument("--port", type=o.ranged("port"), default=8501, help="port to serve on")
    sp.add_argument("--address", default="localhost", help="address to listen on (0.0.0.0 for every interface)")
    sp.add_argument("--models-dir", action="append", default=[],
                    help="a fine-tuned model folder, or a folder of them, to offer (repeatable)")
    sp.add_argument("--results", action="append", default=[], metavar="JSON",
                    help="an `ilsvrc-keras evaluate --json` output to show beside the papers' figures (repeatable)")
    sp.add_argument("page_args", nargs=argparse.REMAINDER, metavar="-- PAGE_ARGS",
                    help="passed to the page after `--`")




class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a message comes (not the stream of the moment it was
    made): a caller that swaps stderr (a test, a notebook) never gets a write to a closed file."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _configure_logging(quiet: bool) -> None:
    """Library messages (``ilsvrc_keras.*`` loggers) on stderr; ``--quiet`` keeps warnings only."""
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("ilsvrc_keras")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


def _fail(message: str, status: int, as_json: bool, kind: str) -> int:
    import json

    print(f"error: {message}", file=sys.stderr)
    if as_json:
        sys.stdout.write(json.dumps({"error": {"type": kind, "message": message}}) + "\n")
    return status


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    Parser.as_json = "--json" in argv
    args = build_parser().parse_args(argv)
    _configure_logging(getattr(args, "quiet", False))
    return guarded(lambda: args.func(args), getattr(args, "json", False),
                   resumable=args.command in ("train", "fine-tune"))


class Stopped(BaseException):
    """SIGTERM or SIGINT while a command works outside a training loop (which has its own handling)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum, frame):
    raise Stopped(signum)


def signal_exit(signum) -> tuple[str, int]:
    """``(name, exit status)`` of a stop: SIGTERM 143 (a scheduler's), SIGINT 130 (Ctrl-C)."""
    import signal

    return ("SIGTERM", EXIT_INTERRUPTED) if signum == signal.SIGTERM else ("SIGINT", 130)


def guarded(call, as_json: bool = False, resumable: bool = True) -> int:
    """``call()`` (returning an exit status) under the command line's error contract, for the
    subcommands and the recipes alike: the package's errors exit 2, SIGTERM 143 and SIGINT (Ctrl-C) 130,
    anything else 1, each as one ``error:`` line (and one JSON object on stdout with ``as_json``), never a
    traceback unless ``ILSVRC_KERAS_DEBUG`` is set. ``resumable``: the command resumes when rerun (train,
    fine-tune, the recipes), which the interruption's message says."""
    import signal
    import threading

    def interrupted(signum):
        name, status = signal_exit(signum)
        tail = "rerun the same command to resume" if resumable else "stopped before the end"
        return _fail(f"interrupted ({name}); {tail}", status, as_json, "Interrupted")

    main_thread = threading.current_thread() is threading.main_thread()
    old = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGINT)} if main_thread else {}
    try:
        return call()
    except IlsvrcKerasError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT, as_json, type(exc).__name__)
    except Stopped as stop:
        return interrupted(stop.signum)
    except KeyboardInterrupt:
        return interrupted(signal.SIGINT)
    except OSError as exc:  # a full disk anywhere (a plot, a report, shards): said as such
        from ..files import disk_full

        full = disk_full(exc, ".")
        if full is None and os.environ.get("ILSVRC_KERAS_DEBUG"):
            raise
        if full is None:
            return _fail(f"{type(exc).__name__}: {exc}", EXIT_FAILURE, as_json, type(exc).__name__)
        return _fail(str(full), EXIT_BAD_INPUT, as_json, "DiskFull")
    except Exception as exc:  # one line, never a traceback (unless asked for)
        if os.environ.get("ILSVRC_KERAS_DEBUG"):
            raise
        return _fail(f"{type(exc).__name__}: {exc}", EXIT_FAILURE, as_json, type(exc).__name__)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
