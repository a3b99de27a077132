"""Every command-line option, defined once.

Options are grouped (machine, schedule, augmentation, fine-tuning...); ``ilsvrc-keras train``,
``ilsvrc-keras fine-tune`` and the recipes add the groups they take, with the defaults of the
function they call (:class:`~ilsvrc_keras.training.RunConfig` and :func:`~ilsvrc_keras.train` for
training, :func:`~ilsvrc_keras.fine_tune`'s signature for fine-tuning), so their flags, help texts
and choices cannot drift from each other or from the library. Values are checked as they are
parsed: a bad one is a usage error (exit status 2) naming the option and what it accepts.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect

from ..checks import RANGES

# The choices are the library's own lists (light modules: no TensorFlow at --help time).
from ..serving import EXPORT_FORMATS
from ..training.schedules import OPTIMIZERS, SCHEDULES
from ..training.strategy import PRECISIONS

# --- value types: each rejects a bad value with a message argparse prints as a usage error -------------


def _number(kind, low=None, high=None, low_open=False, what=""):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole number' if kind is int else 'number'}")
        if (low is not None and (value < low or (low_open and value == low))) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is out of range: {what}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


@functools.lru_cache(maxsize=None)
def ranged(name: str):
    """The argparse type of ``name``'s range in :data:`ilsvrc_keras.checks.RANGES` (the table the Python
    functions check against): a value outside it is a usage error naming what it accepts."""
    r = RANGES[name]
    parse = _number(r.kind, r.low, r.high, r.low_open, what=r.words())
    parse.range_name = name  # which row of the table it parses (the tests walk them)
    return parse


@functools.lru_cache(maxsize=None)
def rate_or_find(name: str):
    """A learning rate in ``name``'s range, or ``find``: read off the learning-rate finder's curve."""
    number = ranged(name)

    def parse(text):
        return text if text == "find" else number(text)

    parse.__name__, parse.range_name = "float", name
    return parse


def model_option(text):
    """``NAME=VALUE``: one keyword of the network's builder, the value read as a number, true/false/none, or text."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=VALUE, e.g. activation=mish")
    words = {"true": True, "false": False, "none": None}
    if value.lower() in words:
        return name, words[value.lower()]
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


def unfreeze_value(text):
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give 'all' or a number of layers >= 0") from None
    if value < RANGES["unfreeze"].low:
        raise argparse.ArgumentTypeError(f"{text}: give 'all' or a number of layers >= 0")
    return value


unfreeze_value.range_name = "unfreeze"  # beside "all", a number in the table's range


@dataclasses.dataclass(frozen=True)
class Opt:
    """One option: its flags, help text and argparse settings (``default`` comes from the function
    it feeds, unless fixed here)."""

    flags: tuple
    help: str
    kwargs: dict = dataclasses.field(default_factory=dict)

    @property
    def dest(self) -> str:
        return self.kwargs.get("dest") or self.flags[0].lstrip("-").replace("-", "_")


def opt(*flags, help, **kwargs) -> Opt:  # noqa: A002 (argparse's own word)
    return Opt(flags, help, kwargs)


# --- the groups ----------------------------------------------------------------------------------------

# What every training command takes (train, fine-tune, lr-find and the recipes pick theirs with add_group's
# ``only``, and may say more in ``helps``).
RUN = [
    opt("--epochs", type=ranged("epochs"), help="epochs"),
    opt("--batch-size", type=ranged("batch_size"), help="global batch size, across all replicas"),
    opt("--image-size", type=ranged("image_size"), metavar="PX", help="input size in px (default: the network's)"),
    opt("--seed", type=int, help="seed of the split, the initialization and the augmentation"),
    opt("--overwrite", action="store_true",
        help="replace a run of other settings in --out (default: refuse it; the same settings resume)"),
]

MACHINE = [
    opt("--replicas", type=ranged("replicas"), metavar="N",
        help="replicas to train on; on a CPU-only machine the CPU is split into N devices (default: every GPU, "
             "else one device)"),
    opt("--xla", dest="xla", action="store_true",
        help="compile each replica's step with XLA (default: on for GPUs, off on CPUs)"),
    opt("--no-xla", dest="xla", action="store_false", help="do not compile the step with XLA"),
    opt("--precision", choices=PRECISIONS,
        help="numeric precision (default: bf16 on GPUs that have it, fp16 on older GPUs, fp32 on CPUs)"),
    opt("--cluster-timeout", type=ranged("cluster_timeout"), metavar="SECONDS",
        help="with TF_CONFIG naming a cluster: give up after this long waiting for the other workers, naming "
             "those that never answered (default: 600)"),
]

SCHEDULE = [
    opt("--lr", type=rate_or_find("lr"),
        help="peak learning rate for the global batch, or 'find' (the learning-rate finder's suggestion; train "
             "without it: --base-lr scaled to --batch-size)"),
    opt("--optimizer", choices=OPTIMIZERS, help="optimizer (radam: rectified Adam; ranger: RAdam with Lookahead)"),
    opt("--weight-decay", type=ranged("weight_decay"), help="decoupled weight decay of kernels (not BatchNorm or biases)"),
    opt("--warmup-epochs", type=ranged("warmup_epochs"), help="epochs of linear warmup to the peak rate"),
    opt("--label-smoothing", type=ranged("label_smoothing"), help="label smoothing of the loss"),
    opt("--patience", type=ranged("patience"),
        help="stop after this many epochs without a better validation top-1 (default: never)"),
]

TRAIN_SCHEDULE = [
    opt("--base-lr", type=ranged("base_lr"),
        help="learning rate at batch 256, scaled linearly to --batch-size when --lr is not given"),
    opt("--schedule", choices=SCHEDULES, help="learning-rate decay after the warmup (flat_cos: the peak rate, then "
                                             "cosine decay from --flat-fraction of the run)"),
    opt("--flat-fraction", type=ranged("flat_fraction"), help="--schedule flat_cos: the part of the run at the peak "
                                                              "rate"),
    opt("--milestones", type=ranged("milestones"), nargs="*", metavar="EPOCH",
        help="epochs at which the step schedule divides the rate by 10"),
    opt("--ema", type=ranged("ema"), metavar="MOMENTUM",
        help="keep an exponential moving average of the weights with this momentum (default: off)"),
    opt("--accumulate-steps", type=ranged("accumulate_steps"), metavar="N",
        help="average the gradients of N steps into one update: an update's batch is N x --batch-size (a "
             "recipe's batch on a small machine)"),
    opt("--clip-norm", type=ranged("clip_norm"), metavar="C",
        help="scale each update's gradients to a global norm of at most C (default: off)"),
    opt("--checkpoint-every", type=ranged("checkpoint_every"), metavar="STEPS", help="steps between mid-epoch checkpoints"),
    opt("--keep-best", action="store_true", dest="restore_best",
        help="end with the weights of the best validation epoch (model.keras and the figures)"),
    opt("--progressive-from", type=ranged("progressive_from"), metavar="PX",
        help="progressive resizing: the first epochs train at PX, growing to --image-size by the last ones "
             "(evaluation stays at --image-size; default: off)"),
    opt("--progressive-ramp", type=ranged("progressive_ramp"), nargs=2, metavar=("START", "END"),
        help="fractions of the run over which the size grows"),
]

AUGMENT = [
    opt("--crop-scale", type=ranged("crop_scale"), metavar="AREA",
        help="smallest crop area (fraction of the image) of the random-resized crop"),
    opt("--scale-jitter", type=ranged("scale_jitter"), nargs=2, metavar=("MIN", "MAX"),
        help="AlexNet/VGG-style crops instead: the shorter side resized to MIN-MAX px, then a random square of "
             "the input size (AlexNet at 224 px: 256 256; VGG: 256 512; default: off)"),
    opt("--randaugment", action="store_true", help="RandAugment (Keras' layer) on every training batch"),
    opt("--mixup", type=ranged("mixup"), metavar="ALPHA", help="MixUp's Beta(alpha, alpha); 0 is off"),
    opt("--cutmix", type=ranged("cutmix"), metavar="ALPHA", help="CutMix's Beta(alpha, alpha); 0 is off"),
]

FINE_TUNE = [
    opt("--val", dest="val_data", metavar="DIR", help="validation data (default: a held-out part of DATA)"),
    opt("--data-dir", help="TFDS: where its prepared records live"),
    opt("--val-fraction", type=ranged("val_fraction"),
        help="fraction of each class held out for validation when --val is not given (0: no validation)"),
    opt("--head-epochs", type=ranged("head_epochs"), help="epochs of the head phase (the backbone frozen)"),
    opt("--head-lr", type=rate_or_find("head_lr"), help="learning rate of the head phase, or 'find'"),
    opt("--head-optimizer", choices=OPTIMIZERS, help="optimizer of the head phase"),
    opt("--lr-mult", type=ranged("lr_mult"), metavar="M",
        help="discriminative rates in the whole-network phase (fastai's slice(lr/M, lr)): the backbone's first "
             "half trains at --lr / M, its second half at --lr / sqrt(M), the head at --lr; 1: one rate"),
    opt("--unfreeze", type=unfreeze_value, metavar="all|N", help="'all' or the number of top layers to unfreeze"),
    opt("--frozen-bn", dest="train_bn", action="store_false",
        help="keep BatchNorm in inference mode in the whole-network phase too"),
    opt("--bn-momentum", type=ranged("bn_momentum"), help="momentum of BatchNorm's moving statistics while it trains"),
    opt("--dropout", type=ranged("dropout"), help="dropout before the new head"),
    opt("--class-weight", choices=("balanced",), help="weight the loss by inverse class frequency (default: off)"),
    opt("--crop-fraction", type=ranged("crop_fraction"),
        help="evaluation crop: the shorter side resized to size / fraction (default: the network's own)"),
    opt("--export", nargs="*", choices=EXPORT_FORMATS, default=(),
        help="also write these serving formats into --out"),
]

def defaults_of(*sources) -> dict:
    """Defaults by name from functions' signatures and dataclasses' fields (later sources win)."""
    out = {}
    for src in sources:
        if dataclasses.is_dataclass(src):
            out.update({f.name: f.default for f in dataclasses.fields(src) if f.default is not dataclasses.MISSING})
        else:
            out.update({k: p.default for k, p in inspect.signature(src).parameters.items()
                        if p.default is not inspect.Parameter.empty})
    return out


def add_group(parser, title: str, opts, defaults: dict, only=None, helps=None):
    """Add ``opts`` (those named in ``only``, by flag, where given) under ``title`` with the defaults of the
    function they feed; ``helps``: help texts by flag that say more for this command. Returns the group."""
    group = parser.add_argument_group(title)
    for o in opts:
        if only is not None and o.flags[0] not in only:
            continue
        kwargs = dict(o.kwargs)
        if o.dest in defaults and kwargs.get("action") not in ("store_true", "store_false"):
            kwargs["default"] = _cli_value(defaults[o.dest])
        elif kwargs.get("action") in ("store_true", "store_false") and "default" not in kwargs:
            kwargs["default"] = None if o.dest == "xla" else kwargs["action"] == "store_false"
        group.add_argument(*o.flags, help=(helps or {}).get(o.flags[0], o.help), **kwargs)
    return group


def _cli_value(value):
    return list(value) if isinstance(value, tuple) and value else value


class HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default where it has one worth showing."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        shown = not (default is None or isinstance(default, bool) or default is argparse.SUPPRESS
                     or (isinstance(default, (list, tuple)) and not default))
        if shown and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text
