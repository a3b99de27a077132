"""The subcommands: each parses nothing (see :mod:`.options`) and calls one public function.

With ``--json`` stdout holds exactly one JSON object; logs and progress bars go to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

from ..errors import ArgumentError, IlsvrcKerasError, ImageError


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


def import_tensorflow():
    """Import Keras and TensorFlow with their C++ start-up lines kept off the terminal (the commands and
    the recipes call this first)."""
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
    from ..presets import get_preset, list_presets
    from ..registry import get_spec, list_models
    from ..weights import find_local_weights

    rows = []
    for name in list_models():
        preset = get_preset(name)  # the bare name's preset: its own default, or the published one named after it
        card = get_spec(name).card()
        local = find_local_weights(preset)
        card.update(preset=preset.name, imagenet_weights=preset.weights.file_name if preset.weights else None,
                    weights_here=str(local) if local else None, presets=list_presets(name))
        rows.append(card)
    lines = [f"{'model':<20}{'year':>5}{'params':>9}{'input':>7}{'top-1 err':>11}{'top-5 err':>11}  default weights"]
    for r in rows:
        weights = (("here: " if r["weights_here"] else "downloadable: ") + r["preset"]) if r["imagenet_weights"] \
            else "none published"
        lines.append(
            f"{r['name']:<20}{r['year']:>5}{r['params'] / 1e6:>8.1f}M{r['input_size']:>7}"
            f"{_fmt(r['reported_top1_error']):>11}{_fmt(r['reported_top5_error']):>11}  {weights}"
        )
    presets = []
    for name in list_presets():
        p = get_preset(name)
        local = find_local_weights(p)
        presets.append({"name": p.name, "arch": p.arch, "publisher": p.weights.publisher, "url": p.weights.url,
                        "file_name": p.weights.file_name, "hash": p.weights.file_hash, "license": p.weights.license,
                        "input_size": p.size, "crop_fraction": round(p.crop_fraction, 4),
                        "interpolation": p.interpolation, "normalization": p.normalization.to_dict(),
                        "published_top1": p.figures.get("published_top1"),
                        "published_top5": p.figures.get("published_top5"),
                        "published_source": p.figures.get("published_source"),
                        "weights_here": str(local) if local else None})
    lines += ["", f"{'preset':<32}{'builds':<20}{'from':<12}{'top-1':>7}{'size':>6}{'crop':>7}  {'resize':<9}here"]
    for p in presets:
        lines.append(f"{p['name']:<32}{p['arch']:<20}{p['publisher']:<12}"
                     f"{_fmt(p['published_top1'], '{:.1%}'):>7}{p['input_size']:>6}{p['crop_fraction']:>7.3f}  "
                     f"{p['interpolation']:<9}{'yes' if p['weights_here'] else '-'}")
    _emit({"models": rows, "presets": presets}, args.json, "\n".join(lines))
    return 0


def cmd_weights(args) -> int:
    from ..discovery import download_weights, weights_report

    if args.action == "download":
        if not args.names:

            raise ArgumentError("weights download: name the presets to fetch (see ilsvrc-keras models)")
        rows = download_weights(args.names)
        text = "\n".join(f"{r['preset']}: {r['path']} ({r['size'] / 1e6:.1f} MB"
                         f"{', downloaded' if r['downloaded'] else ', already here'})" for r in rows)
        _emit({"weights": rows}, args.json, text)
        return 0
    rows = weights_report(args.names or None)
    lines = [f"{'preset':<32}{'file':<46}{'size':>9}  hash"]
    for r in rows:
        size = f"{r['size'] / 1e6:.1f} MB" if r["size"] is not None else "-"
        check = {True: "matches", False: "DOES NOT MATCH", None: "not published" if r["path"] else "-"}[r["hash_ok"]]
        lines.append(f"{r['preset']:<32}{r['file_name']:<46}{size:>9}  {check}")
    here = sum(1 for r in rows if r["path"])
    lines.append(f"{here} of {len(rows)} here ($ILSVRC_KERAS_WEIGHTS_DIR or keras' cache)")
    _emit({"weights": rows}, args.json, "\n".join(lines))
    return 0 if all(r["hash_ok"] is not False for r in rows) else 1


def cmd_classify(args) -> int:
    import_tensorflow()
    import signal

    from ..inference import load
    from . import Stopped, signal_exit

    clf = load(args.model, args.weights)
    results, failed, stopped = [], [], None
    try:
        for path in args.images:
            try:
                preds = clf.classify(path, top=args.top, tta=args.tta)
                results.append({"image": path, "predictions": [p.to_dict() for p in preds]})
            except ImageError as exc:
                failed.append(exc)
                results.append({"image": path, "error": str(exc)})
    except (Stopped, KeyboardInterrupt) as exc:  # show what was done; classify does not resume
        stopped = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
    if stopped is not None:
        name, status = signal_exit(stopped)
        print(f"error: interrupted ({name}) after {len(results)} of {len(args.images)} images; the rest were not "
              "classified", file=sys.stderr)
        _emit({"model": clf.name, "results": results, "interrupted": True}, args.json, _classified_text(results))
        return status
    if len(failed) == len(results):  # nothing to show: one error, as for any fatal one
        raise failed[0] if len(failed) == 1 else ImageError(
            f"none of the {len(failed)} images could be read ({failed[0]})")
    for exc in failed:  # the others are shown; each unreadable one is an error line
        print(f"error: {exc}", file=sys.stderr)
    _emit({"model": clf.name, "results": results}, args.json, _classified_text(results))
    return 2 if failed else 0


def _classified_text(results) -> str:
    text = []
    for r in results:
        if "predictions" in r:
            text.append(r["image"])
            text += [f"  {p['probability']:6.1%}  {p['name']} ({p['label']})" for p in r["predictions"]]
    return "\n".join(text) or "no image classified"


def cmd_evaluate(args) -> int:
    import_tensorflow()
    from ..evaluation import evaluate

    options = _localize_options(args) if args.localization else {}
    r = evaluate(args.data, model=args.model, weights=args.weights, labels=args.labels, limit=args.limit,
                 batch_size=args.batch_size, progress=not args.quiet, localization=args.localization, tta=args.tta,
                 top_losses=args.top_losses, overwrite=args.overwrite, **options)
    text = (f"{r['model']}{' with TTA' if r.get('tta') else ''}: {r['n']} images, accuracy {r['accuracy']:.1%} "
            f"(top-1 error {r['top1_error']:.1%})")
    if "top_5_accuracy" in r:
        text += f", top-5 accuracy {r['top_5_accuracy']:.1%} (error {r['top5_error']:.1%})"
    if args.localization:
        text += (f", top-1 loc {r['top1_loc']:.1%}, top-5 loc {r['top5_loc']:.1%}, "
                 f"GT-known loc {r['gt_known_loc']:.1%}")
    text += f", {r['images_per_sec']} img/s"
    text += f", {len(r['skipped'])} undecodable files skipped" if r["skipped"] else ""
    text += f", {r['unlabeled']} images not in the labels file left out" if r.get("unlabeled") else ""
    if r.get("most_confused"):
        text += "; most confused: " + ", ".join(f"{c['true']} as {c['predicted']} ({c['count']})"
                                               for c in r["most_confused"][:3])
    text += f"; top losses drawn in {r['top_losses_png']}" if r.get("top_losses_png") else ""
    _emit(r, args.json, text)
    return 0


def _localize_options(args) -> dict:
    return {"method": args.method, "threshold": args.threshold, "region": args.region, "scale": args.scale,
            "component": args.component}


def cmd_localize(args) -> int:
    import_tensorflow()
    from ..files import image_output
    from ..images import load_image
    from ..localization import localize
    from ..plots import localization_overlay, save

    if args.out:  # a bad place, or a file this command did not make, fails now, not after the computation
        image_output(args.out, sources=[args.image], overwrite=args.overwrite)
    image = load_image(args.image)
    found = localize(image, model=args.model, weights=args.weights, top=args.top, **_localize_options(args))
    out = {"image": args.image, "results": [f.to_dict() for f in found]}
    if args.out:
        out["overlay"] = str(save(localization_overlay(image, found, all_boxes=args.all_boxes), args.out,
                                  sources=[args.image], overwrite=args.overwrite))
    text = "\n".join(f"{f.probability:6.1%}  {f.name} ({f.label})  box {tuple(round(v) for v in f.box)}"
                     for f in found)
    text += f"\noverlay written to {out['overlay']}" if args.out else ""
    _emit(out, args.json, text)
    return 0


def _augment(args, size: int):
    """The augmentation flags as an :class:`~ilsvrc_keras.datasets.Augment`; ``--scale-jitter`` in
    pixels of ``size``, the input size (given, or the network's)."""
    from ..datasets import Augment

    return Augment(crop_scale=(args.crop_scale, 1.0), randaugment=args.randaugment, mixup=args.mixup,
                   cutmix=args.cutmix, scale_jitter=tuple(s / size for s in args.scale_jitter or ()) or None)


def _options(args, names) -> dict:
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


TRAIN_CONFIG = ("accumulate_steps", "clip_norm", "lr", "base_lr", "optimizer", "schedule", "warmup_epochs",
                "weight_decay", "label_smoothing", "ema", "checkpoint_every", "patience", "progressive_from", "replicas", "xla", "precision", "cluster_timeout")


def cmd_train(args) -> int:
    # Logical CPU devices must be configured before TensorFlow starts its runtime.
    import_tensorflow()
    from ..registry import get_spec
    from ..training import configure_cpu_replicas, train

    configure_cpu_replicas(args.replicas)
    options = _options(args, TRAIN_CONFIG)
    options.update(milestones=tuple(args.milestones or ()), progressive_ramp=tuple(args.progressive_ramp),
                   restore_best=args.restore_best, progress=not args.quiet,
                   augment=_augment(args, args.image_size or get_spec(args.model).input_size))
    result = train(args.data, args.model, args.out, epochs=args.epochs, batch_size=args.batch_size,
                   image_size=args.image_size, weights=args.weights, val_data=args.val_data,
                   val_fraction=args.val_fraction,
                   labels=args.labels, seed=args.seed, data_dir=args.data_dir, manual_dir=args.manual_dir,
                   overwrite=args.overwrite, model_options=dict(args.model_option or ()) or None, **options)
    summary = result.to_dict()
    figures = [f"{k} {summary[k]}" for k in ("val_accuracy", "val_top_5_accuracy") if summary[k] is not None]
    text = (f"{summary['epochs_completed']}/{summary['epochs']} epochs, {', '.join(figures + [''])}"
            f"{summary['train_images_per_sec']} img/s, {summary['seconds']} s; model and logs in {summary['out']}")
    if summary["interrupted"]:
        text += "\ninterrupted: checkpoint saved; run the same command again to continue"
    _emit(summary, args.json, text)
    # 143 (128 + SIGTERM): a scheduler sees that the run was stopped, not finished.
    return 143 if summary["interrupted"] else 0


def cmd_prepare(args) -> int:
    import_tensorflow()
    from ..datasets import prepare

    meta = prepare(args.src, args.out, shard_size=args.shard_size, val_fraction=args.val_fraction, seed=args.seed,
                   labels=args.labels, workers=args.workers, progress=not args.quiet, shorter_side=args.shorter_side,
                   overwrite=args.overwrite)
    summary = {"out": meta["out"], "classes": len(meta["class_names"]), "train": meta["train"]["count"],
               "shorter_side": meta["shorter_side"],
               "val": meta["val"]["count"], "train_shards": len(meta["train"]["files"]),
               "val_shards": len(meta["val"]["files"]), "unreadable": meta["unreadable"]}
    text = (f"{summary['train']} training and {summary['val']} validation images of {summary['classes']} classes in "
            f"{summary['train_shards']} + {summary['val_shards']} shards under {summary['out']}"
            + (f"; {len(meta['unreadable'])} unreadable files left out" if meta["unreadable"] else ""))
    _emit(summary, args.json, text)
    return 0


FINE_TUNE_OPTIONS = ("head_epochs", "head_lr", "lr", "epochs", "batch_size", "image_size", "crop_fraction",
                     "optimizer", "head_optimizer", "weight_decay", "warmup_epochs", "unfreeze", "train_bn", "lr_mult",
                     "bn_momentum", "dropout", "label_smoothing", "class_weight", "patience", "precision", "xla",
                     "replicas", "cluster_timeout", "val_fraction", "data_dir", "val_data", "seed", "overwrite",
                     "labels")


def cmd_fine_tune(args) -> int:
    import_tensorflow()
    from ..discovery import choose_default_model
    from ..finetune import fine_tune
    from ..presets import get_preset
    from ..training import configure_cpu_replicas

    configure_cpu_replicas(args.replicas)
    options = _options(args, FINE_TUNE_OPTIONS)
    model = args.model or choose_default_model(args.weights)  # said on stderr
    result = fine_tune(args.data, model=model, weights=args.weights or "imagenet", out=args.out,
                       export=args.export or (), progress=not args.quiet,
                       augment=_augment(args, args.image_size or get_preset(model).size), **options)
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


def cmd_lr_find(args) -> int:
    import_tensorflow()
    from ..finetune import lr_find

    found = lr_find(args.data, model=args.model, weights=args.weights or "imagenet", phase=args.phase,
                    steps=args.steps, start_lr=args.start_lr, end_lr=args.end_lr, batch_size=args.batch_size,
                    image_size=args.image_size, optimizer=args.optimizer, labels=args.labels, seed=args.seed,
                    out=args.out, overwrite=args.overwrite if args.out else None, progress=not args.quiet)
    text = (f"suggested learning rate {found.suggestion:.2g} (valley); steepest descent at {found.steepest:.2g}; "
            f"lowest loss at {found.minimum * 10:.2g} ({len(found.lrs)} steps"
            + (", stopped at divergence" if found.stopped_early else "") + ")"
            + (f"; curve in {found.plot}" if found.plot else ""))
    _emit(found.to_dict(), args.json, text)
    return 0


def cmd_app(args) -> int:
    """Start the web demo with its server settings, wherever the command runs."""
    import importlib.util

    from ..app import SCRIPT, SERVER_OPTIONS

    if importlib.util.find_spec("streamlit") is None:
        raise IlsvrcKerasError("the web app needs Streamlit: pip install 'ilsvrc-keras[app]'")
    for folder in args.models_dir:
        if not os.path.isdir(folder):
            raise IlsvrcKerasError(f"--models-dir {folder}: no such folder")
    page_args = [a for a in args.page_args if a != "--"]
    server = [a for a in page_args if a.startswith("--server.") or a.startswith("--browser.")]
    if server:
        raise IlsvrcKerasError(f"{server[0]}: the server's settings are this command's own options (--port, "
                               "--address); what follows -- goes to the page")
    _check_port_free(args.address, args.port)
    options = {**SERVER_OPTIONS, "server.port": str(args.port), "server.address": args.address}
    cmd = [sys.executable, "-m", "streamlit", "run", str(SCRIPT)]
    cmd += [f"--{k}={v}" for k, v in options.items()]
    page_args += [a for d in args.models_dir for a in ("--models-dir", d)]
    page_args += [a for f in args.results for a in ("--results", f)]
    sys.stdout.flush()
    sys.stderr.flush()
    # The server takes this process's place: a SIGTERM or Ctrl-C sent to `ilsvrc-keras app` reaches the
    # server itself, which stops (a child process would keep serving once its wrapper had gone).
    os.execv(sys.executable, cmd + (["--", *page_args] if page_args else []))


def _check_port_free(address: str, port: int) -> None:
    import errno
    import socket

    host = "" if address in ("0.0.0.0", "") else address
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise IlsvrcKerasError(f"port {port} on {address} is in use (another server?); choose another with "
                                   "--port") from None
        raise IlsvrcKerasError(f"cannot serve on {address}:{port}: {exc.strerror}") from None


def cmd_export(args) -> int:
    import_tensorflow()
    from ..serving import export

    result = export(args.model, args.out, format=args.format, weights=args.weights, overwrite=args.overwrite)
    _emit(result, args.json, f"{result['model']} -> {result['path']} ({result['format']}; input: raw RGB uint8 "
                             f"{result['input']['center_crop']}x{result['input']['center_crop']}, the center crop "
                             f"after resizing the shorter side to {result['input']['resize_shorter_side_to']} px; "
                             f"labels: {result['labels']})")
    return 0
