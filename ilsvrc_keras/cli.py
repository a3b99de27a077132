"""``ilsvrc-keras``: the command line, a thin layer over the public API.

With ``--json`` stdout holds exactly one JSON object; logs and progress bars go to stderr.
Expected failures (unknown model, missing file, bad image, missing weights) print one line
on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what TensorFlow's C++ runtime prints while it loads (absl/CUDA probing).

    Those lines are written to file descriptor 2 directly, below Python's logging, so the
    descriptor itself is pointed at /dev/null for the duration of the import.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet_native_stderr():
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()  # device probing (cuInit) prints here, not mid-command
    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)


def _emit(obj, as_json: bool, text: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, os.PathLike):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _fmt(value, spec="{:.1f}", none="-"):
    return none if value is None else spec.format(value)


# --- subcommands -------------------------------------------------------------------------------


def cmd_models(args) -> int:
    from .registry import get_spec, list_models
    from .weights import find_local_weights

    rows = []
    for name in list_models():
        spec = get_spec(name)
        card = spec.card()
        local = find_local_weights(spec)
        card["weights_here"] = str(local) if local else None
        rows.append(card)
    lines = [f"{'model':<20}{'year':>5}{'params':>9}{'input':>7}{'top-1 err':>11}{'top-5 err':>11}  weights"]
    for r in rows:
        weights = ("here: " + os.path.basename(r["weights_here"])) if r["weights_here"] else (
            "downloadable" if r["imagenet_weights"] else "none published")
        lines.append(
            f"{r['name']:<20}{r['year']:>5}{r['params'] / 1e6:>8.1f}M{r['input_size']:>7}"
            f"{_fmt(r['reported_top1_error']):>11}{_fmt(r['reported_top5_error']):>11}  {weights}"
        )
    _emit({"models": rows}, args.json, "\n".join(lines))
    return 0


def cmd_classify(args) -> int:
    _import_tensorflow()
    from .errors import ImageError
    from .inference import load

    clf = load(args.model, args.weights)
    results, failed = [], 0
    for path in args.images:
        try:
            preds = clf.classify(path, top=args.top)
            results.append({"image": path, "predictions": [p.to_dict() for p in preds]})
        except ImageError as exc:
            failed += 1
            results.append({"image": path, "error": str(exc)})
            print(f"error: {exc}", file=sys.stderr)
    text = []
    for r in results:
        if "predictions" in r:
            text.append(r["image"])
            text += [f"  {p['probability']:6.1%}  {p['name']} ({p['label']})" for p in r["predictions"]]
    _emit({"model": clf.name, "results": results}, args.json, "\n".join(text) or "no image classified")
    return 2 if failed else 0


def cmd_evaluate(args) -> int:
    _import_tensorflow()
    from .evaluation import evaluate

    options = _localize_options(args) if args.localization else {}
    r = evaluate(args.data, model=args.model, weights=args.weights, labels=args.labels, limit=args.limit,
                 batch_size=args.batch_size, progress=not args.quiet, localization=args.localization, **options)
    text = (f"{r['model']}: {r['n']} images, top-1 {r['top1']:.1%} (error {r['top1_error']:.1%}), "
            f"top-5 {r['top5']:.1%} (error {r['top5_error']:.1%})")
    if args.localization:
        text += (f", top-1 loc {r['top1_loc']:.1%}, top-5 loc {r['top5_loc']:.1%}, "
                 f"GT-known loc {r['gt_known_loc']:.1%}")
    text += f", {r['images_per_sec']} img/s"
    text += f", {len(r['skipped'])} undecodable files skipped" if r["skipped"] else ""
    _emit(r, args.json, text)
    return 0


def _localize_options(args) -> dict:
    return {"method": args.method, "threshold": args.threshold, "region": args.region, "scale": args.scale,
            "component": args.component}


def cmd_localize(args) -> int:
    _import_tensorflow()
    from .images import load_image
    from .localization import localize
    from .plots import localization_overlay, save

    image = load_image(args.image)
    found = localize(image, model=args.model, weights=args.weights, top=args.top, **_localize_options(args))
    out = {"image": args.image, "results": [f.to_dict() for f in found]}
    if args.out:
        out["overlay"] = str(save(localization_overlay(image, found, all_boxes=args.all_boxes), args.out))
    text = "\n".join(f"{f.probability:6.1%}  {f.name} ({f.label})  box {tuple(round(v) for v in f.box)}"
                     for f in found)
    text += f"\noverlay written to {out['overlay']}" if args.out else ""
    _emit(out, args.json, text)
    return 0


def cmd_train(args) -> int:
    # Logical CPU devices must be configured before TensorFlow starts its runtime.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _import_tensorflow()
    from .datasets import Augment
    from .registry import get_spec
    from .training import configure_cpu_replicas, train

    configure_cpu_replicas(args.replicas)
    options = {k: v for k, v in {
        "lr": args.lr, "base_lr": args.base_lr, "optimizer": args.optimizer, "schedule": args.schedule,
        "warmup_epochs": args.warmup_epochs, "weight_decay": args.weight_decay, "label_smoothing": args.label_smoothing,
        "replicas": args.replicas, "xla": args.xla, "precision": args.precision, "ema": args.ema,
        "checkpoint_every": args.checkpoint_every, "progress": not args.quiet,
        "milestones": tuple(args.milestones) if args.milestones else None,
        "restore_best": args.keep_best or None, "progressive_from": args.progressive_from,
        "progressive_ramp": tuple(args.progressive_ramp) if args.progressive_ramp else None,
    }.items() if v is not None}
    if args.randaugment or args.mixup or args.cutmix or args.crop_scale or args.scale_jitter:
        size = args.image_size or get_spec(args.model).input_size
        options["augment"] = Augment(crop_scale=(args.crop_scale or 0.08, 1.0), randaugment=args.randaugment,
                                     mixup=args.mixup, cutmix=args.cutmix,
                                     scale_jitter=tuple(s / size for s in args.scale_jitter or ()) or None)
    result = train(args.model, args.data, args.out, epochs=args.epochs, batch_size=args.batch_size,
                   image_size=args.image_size, weights=args.weights, val_fraction=args.val_fraction,
                   labels=args.labels, seed=args.seed, data_dir=args.data_dir, manual_dir=args.manual_dir,
                   **options)
    summary = result.to_dict()
    text = (f"{summary['epochs_completed']}/{summary['epochs']} epochs, val top-1 {summary['val_top1']}, "
            f"top-5 {summary['val_top5']}, {summary['train_images_per_sec']} img/s, {summary['seconds']} s; "
            f"model and logs in {summary['out']}")
    if summary["interrupted"]:
        text += "\ninterrupted: checkpoint saved; run the same command again to continue"
    _emit(summary, args.json, text)
    # 143 (128 + SIGTERM): a scheduler sees that the run was stopped, not finished.
    return 143 if summary["interrupted"] else 0


def cmd_prepare(args) -> int:
    _import_tensorflow()
    from .datasets import prepare

    meta = prepare(args.src, args.out, shard_size=args.shard_size, val_fraction=args.val_fraction, seed=args.seed,
                   labels=args.labels, workers=args.workers, progress=not args.quiet, shorter_side=args.shorter_side)
    summary = {"out": meta["out"], "classes": len(meta["class_names"]), "train": meta["train"]["count"],
               "shorter_side": meta["shorter_side"],
               "val": meta["val"]["count"], "train_shards": len(meta["train"]["files"]),
               "val_shards": len(meta["val"]["files"]), "unreadable": meta["unreadable"]}
    text = (f"{summary['train']} training and {summary['val']} validation images of {summary['classes']} classes in "
            f"{summary['train_shards']} + {summary['val_shards']} shards under {summary['out']}"
            + (f"; {len(meta['unreadable'])} unreadable files left out" if meta["unreadable"] else ""))
    _emit(summary, args.json, text)
    return 0


def cmd_fine_tune(args) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _import_tensorflow()
    from .finetune import fine_tune
    from .training import configure_cpu_replicas

    configure_cpu_replicas(args.replicas)
    weights = args.weights or "imagenet"
    options = {k: v for k, v in {
        "head_epochs": args.head_epochs, "head_lr": args.head_lr, "lr": args.lr, "batch_size": args.batch_size,
        "image_size": args.image_size, "unfreeze": args.unfreeze, "class_weight": args.class_weight,
        "patience": args.patience, "precision": args.precision, "xla": args.xla, "replicas": args.replicas,
        "bn_momentum": args.bn_momentum, "train_bn": False if args.frozen_bn else None,
    }.items() if v is not None}
    if options.get("unfreeze", "all") != "all":
        options["unfreeze"] = int(options["unfreeze"])
    if args.epochs is not None:
        options["epochs"] = args.epochs
    result = fine_tune(args.data, model=args.model, weights=weights, out=args.out, val_data=args.val,
                       seed=args.seed, export=args.export or (), progress=not args.quiet,
                       **options)
    summary = result.summary()
    summary.pop("metrics")
    if result.interrupted:
        _emit(summary, args.json, "interrupted: checkpoint saved; run the same command again to continue")
        return 143  # as train: a scheduler sees that the run was stopped, not finished
    summary["per_class"] = result.metrics["per_class"]
    text = (f"val accuracy {result.val_accuracy:.1%} on {result.metrics['n']} images, {len(result.history)} "
            f"epochs in {result.seconds:.0f} s; model, report and plots in {result.paths['out']}")
    _emit(summary, args.json, text)
    return 0


def cmd_benchmark(args) -> int:
    _import_tensorflow()
    from . import benchmarks

    result = benchmarks.run(args.task, model=args.model, weights=args.weights, repeats=args.repeats, data=args.data)
    _emit(result, args.json, benchmarks.format_table(result))
    return 0


# --- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ilsvrc-keras", description="The ILSVRC milestone networks in Keras 3.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=func)
        sp.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        return sp

    def model_args(sp):
        sp.add_argument("--model", default="mobilenet_0.25_128",
                        help="registry name (see `ilsvrc-keras models`) or a fine-tuned model folder")
        sp.add_argument("--weights", help="weights file (default: ImageNet weights, found locally or downloaded)")

    def localize_args(sp):
        from .localization import (DEFAULT_COMPONENT, DEFAULT_METHOD, DEFAULT_REGION, DEFAULT_SCALE,
                                   DEFAULT_THRESHOLD, METHODS, REGIONS)

        sp.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD)
        sp.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="heat-map threshold, relative to its maximum, for the box")
        sp.add_argument("--region", choices=REGIONS, default=DEFAULT_REGION,
                        help="what the heat map covers: the classification crop, the whole image, or "
                             "the whole image squashed to the input size")
        sp.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                        help="run the heat map at this multiple of the input size (finer maps; "
                             "default 2 where the network takes any size, else 1)")
        sp.add_argument("--component", choices=["all", "largest"], default=DEFAULT_COMPONENT,
                        help="box every pixel over the threshold, or only the largest connected region")

    add("models", cmd_models, "list the model zoo")

    sp = add("classify", cmd_classify, "classify images with a pretrained network")
    sp.add_argument("images", nargs="+", metavar="IMAGE")
    model_args(sp)
    sp.add_argument("--top", type=int, default=5)

    sp = add("evaluate", cmd_evaluate, "ILSVRC top-1/top-5 over a labeled image folder")
    sp.add_argument("data", help="flat folder of validation images (with --labels) or class-per-folder tree")
    model_args(sp)
    sp.add_argument("--labels", help="LOC_val_solution.csv, a label-per-line file, or a Pascal-VOC XML folder")
    sp.add_argument("--limit", type=int, help="evaluate the first N images only")
    sp.add_argument("--batch-size", type=int, default=32)
    sp.add_argument("--quiet", action="store_true", help="no progress bar")

    sp.add_argument("--localization", action="store_true",
                    help="also ILSVRC localization: top1_loc, top5_loc, gt_known_loc (needs boxes)")
    localize_args(sp)

    sp = add("localize", cmd_localize, "class activation map and box for the top classes of an image")
    sp.add_argument("image", metavar="IMAGE")
    model_args(sp)
    sp.add_argument("--top", type=int, default=5)
    localize_args(sp)
    sp.add_argument("--out", help="write a PNG overlay (heat map of the top class, boxes with names)")
    sp.add_argument("--all-boxes", action="store_true", help="draw the box of every top class on the overlay")

    sp = add("train", cmd_train, "train a zoo network (resumable: rerun the same command to continue)")
    sp.add_argument("--model", required=True, help="registry name")
    sp.add_argument("--data", required=True, help="train/ + val/ class folders, one class-per-folder tree, a folder "
                                                  "written by `ilsvrc-keras prepare`, or a TFDS name")
    sp.add_argument("--data-dir", help="TFDS: where its prepared records live")
    sp.add_argument("--manual-dir", help="TFDS imagenet2012: the folder holding the ILSVRC2012 tars")
    sp.add_argument("--out", required=True, help="output folder (checkpoints, logs, model)")
    sp.add_argument("--weights", help="initial weights (a file, or 'imagenet')")
    sp.add_argument("--labels", help="ground truth of a flat val/ folder (LOC_val_solution.csv ...)")
    sp.add_argument("--epochs", type=int, default=10)
    sp.add_argument("--batch-size", type=int, default=128, help="global batch size")
    sp.add_argument("--image-size", type=int, help="input size (default: the paper's)")
    sp.add_argument("--val-fraction", type=float, default=0.2)
    sp.add_argument("--replicas", type=int, help="on a CPU-only machine: split the CPU into N devices")
    xla = sp.add_mutually_exclusive_group()
    xla.add_argument("--xla", dest="xla", action="store_true", default=None, help="compile each replica's step")
    xla.add_argument("--no-xla", dest="xla", action="store_false")
    sp.add_argument("--precision", choices=["bf16", "fp16", "fp32"])
    sp.add_argument("--lr", type=float, help="peak learning rate for the global batch")
    sp.add_argument("--base-lr", type=float, help="learning rate at batch 256, scaled linearly (default 0.1)")
    sp.add_argument("--optimizer", choices=["sgd", "adam", "adamw", "rmsprop"])
    sp.add_argument("--schedule", choices=["cosine", "step", "constant"])
    sp.add_argument("--milestones", type=float, nargs="*", help="epochs of the step schedule's decays")
    sp.add_argument("--warmup-epochs", type=float)
    sp.add_argument("--weight-decay", type=float)
    sp.add_argument("--label-smoothing", type=float)
    sp.add_argument("--ema", type=float, help="keep an exponential moving average of the weights (momentum)")
    sp.add_argument("--crop-scale", type=float, help="smallest crop area of the random-resized crop (default 0.08)")
    sp.add_argument("--scale-jitter", type=float, nargs=2, metavar=("MIN", "MAX"),
                    help="AlexNet/VGG-style crops instead: the shorter side resized to MIN-MAX px, then a random "
                         "square of --image-size (AlexNet at 224 px: 256 256; VGG: 256 512)")
    sp.add_argument("--progressive-from", type=int, metavar="PX",
                    help="progressive resizing: the first epochs train at PX, growing to --image-size by the "
                         "last ones (more epochs in the same time; evaluation stays at --image-size)")
    sp.add_argument("--progressive-ramp", type=float, nargs=2, metavar=("START", "END"),
                    help="fractions of the run over which the size grows (default 0.5 0.85)")
    sp.add_argument("--randaugment", action="store_true")
    sp.add_argument("--mixup", type=float, default=0.0, help="MixUp alpha")
    sp.add_argument("--cutmix", type=float, default=0.0, help="CutMix alpha")
    sp.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    sp.add_argument("--keep-best", action="store_true",
                    help="end with the weights of the best validation epoch (model.keras, summary)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--quiet", action="store_true")

    sp = add("prepare", cmd_prepare, "write a class-per-folder or ILSVRC dataset as TFRecord shards (in parallel)")
    sp.add_argument("src", help="train/ + val/ class folders (val/ flat with --labels for ILSVRC), or one tree")
    sp.add_argument("out", help="output folder for the shards and dataset.json (then: train --data OUT)")
    sp.add_argument("--shard-size", type=int, default=1024, help="examples per shard")
    sp.add_argument("--val-fraction", type=float, default=0.2, help="held out when SRC has no val/")
    sp.add_argument("--labels", help="ground truth of a flat val/ folder (LOC_val_solution.csv ...)")
    sp.add_argument("--workers", type=int, help="threads writing shards (default: 2 per core)")
    sp.add_argument("--shorter-side", type=int, metavar="PX",
                    help="shrink images whose shorter side is larger to PX (JPEG quality 90): fewer pixels to "
                         "decode every epoch (256 for 224 px training); default: the files' own bytes")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--quiet", action="store_true")

    sp = add("fine-tune", cmd_fine_tune, "adapt a pretrained network to a new dataset (two phases)")
    sp.add_argument("data", help="class-per-folder dataset (train/ + val/, or one tree), or a TFDS name")
    sp.add_argument("--out", required=True)
    sp.add_argument("--val", help="validation data (default: a seeded, stratified 20%% of DATA)")
    sp.add_argument("--model", default="mobilenet_0.25_128")
    sp.add_argument("--weights", help="backbone weights file (default: ImageNet, found locally or downloaded)")
    sp.add_argument("--epochs", type=int, help="epochs of the whole-network phase (default 7)")
    sp.add_argument("--head-epochs", type=int, help="epochs of the head phase (default 3)")
    sp.add_argument("--head-lr", type=float)
    sp.add_argument("--lr", type=float, help="peak learning rate of the whole-network phase")
    sp.add_argument("--batch-size", type=int)
    sp.add_argument("--image-size", type=int)
    sp.add_argument("--unfreeze", help="'all' or the number of top layers to unfreeze")
    sp.add_argument("--frozen-bn", action="store_true",
                    help="keep BatchNorm in inference mode in the whole-network phase too")
    sp.add_argument("--bn-momentum", type=float,
                    help="momentum of the moving statistics of BatchNorm while it trains (default 0.9)")
    sp.add_argument("--class-weight", choices=["balanced"])
    sp.add_argument("--patience", type=int, help="early stopping after N epochs without improvement")
    sp.add_argument("--precision", choices=["bf16", "fp16", "fp32"])
    sp.add_argument("--replicas", type=int)
    xla2 = sp.add_mutually_exclusive_group()
    xla2.add_argument("--xla", dest="xla", action="store_true", default=None)
    xla2.add_argument("--no-xla", dest="xla", action="store_false")
    sp.add_argument("--export", nargs="*", choices=["savedmodel", "tflite"])
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--quiet", action="store_true")

    sp = add("benchmark", cmd_benchmark, "print speed figures measured side by side")
    sp.add_argument("--task", choices=["predict", "localize", "input", "train", "fine-tune"], default="predict")
    sp.add_argument("--data", help="image folder for --task input (default: the shared flowers)")
    model_args(sp)
    sp.add_argument("--repeats", type=int, default=50)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import IlsvrcKerasError

    try:
        return args.func(args)
    except IlsvrcKerasError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
