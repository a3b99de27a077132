"""The zoo's table of published checkpoints: keras.applications', torchvision's and timm's ImageNet weights,
one preset each.

Each entry is named as its publisher names it (timm's ``arch.tag``: ``resnet34.tv_in1k``,
``resnet50d.ra4_e3600_r224_in1k``) and carries its evaluation recipe as numbers (input size, crop
fraction, interpolation, mean and std) and the publisher's own top-1/top-5 with where they come from.
keras.applications' own files come first. Adding a checkpoint is one row; :mod:`ilsvrc_keras.presets` registers
them all (:func:`zoo_presets`).

Sources (read 2026-12): torchvision 0.29's ``Weights`` enums (``meta["_metrics"]``, ``transforms()``; the hex
digits in each file name are the first digits of its sha256, which torchvision checks and so does this
package); timm 1.0.31's ``pretrained_cfg`` and its ``results/results-imagenet.csv`` (top-1/top-5 at the
preset's size and ``crop_pct``). timm's files live on the Hugging Face hub, which publishes no hash
beside the file: they are fetched over HTTPS and checked by their tensors' names and shapes on loading.
"""

from __future__ import annotations

from .preset import Preset, WeightsSource
from .transforms import Normalization

IMAGENET = Normalization((0.485 * 255, 0.456 * 255, 0.406 * 255), (0.229 * 255, 0.224 * 255, 0.225 * 255), "rgb",
                         "torch")
HALF = Normalization((127.5, 127.5, 127.5), (127.5, 127.5, 127.5), "rgb", "tf")  # timm's (0.5, 0.5, 0.5)

_TV = "https://download.pytorch.org/models/"
_TV_SOURCE = "torchvision {} meta['_metrics'] (ImageNet-1K validation, resize {} + center crop 224, bilinear)"

# published name, zoo architecture, file, top-1, top-5, torchvision's enum, resize size
_TORCHVISION = [
    ("alexnet.tv_in1k", "alexnet_owt", "alexnet-owt-7be5be79.pth", 56.522, 79.066, "AlexNet_Weights.IMAGENET1K_V1",
     256),
    ("googlenet.tv_in1k", "googlenet_bn", "googlenet-1378be20.pth", 69.778, 89.53, "GoogLeNet_Weights.IMAGENET1K_V1",
     256),
    ("vgg11.tv_in1k", "vgg11", "vgg11-8a719046.pth", 69.02, 88.628, "VGG11_Weights.IMAGENET1K_V1", 256),
    ("vgg13.tv_in1k", "vgg13", "vgg13-19584684.pth", 69.928, 89.246, "VGG13_Weights.IMAGENET1K_V1", 256),
    ("vgg16.tv_in1k", "vgg16", "vgg16-397923af.pth", 71.592, 90.382, "VGG16_Weights.IMAGENET1K_V1", 256),
    ("resnet18.tv_in1k", "resnet18", "resnet18-f37072fd.pth", 69.758, 89.078, "ResNet18_Weights.IMAGENET1K_V1",
     256),
    ("resnet34.tv_in1k", "resnet34", "resnet34-b627a593.pth", 73.314, 91.42, "ResNet34_Weights.IMAGENET1K_V1", 256),
    ("resnet50.tv_in1k", "resnet50b", "resnet50-0676ba61.pth", 76.13, 92.862, "ResNet50_Weights.IMAGENET1K_V1",
     256),
    # The V2 recipe (long schedule, TrivialAugment, mixup/cutmix, EMA...): evaluated at resize 232, crop 224.
    ("resnet50.tv2_in1k", "resnet50b", "resnet50-11ad3fa6.pth", 80.858, 95.434, "ResNet50_Weights.IMAGENET1K_V2",
     232),
]

# published name, zoo architecture, crop_pct, normalization, top-1 and top-5 at 224, at 288 (timm's test size)
_TIMM = [
    # ra2: RandAugment recipe; the strongest published SE-ResNet-50 (a1/a2 "ResNet strikes back" are weaker at 224).
    ("seresnet50.ra2_in1k", "seresnet50", 0.875, IMAGENET, (80.260, 95.068), (81.288, 95.652)),
    # ra4_e3600_r224: 3600 epochs of the ra4 recipe at 224 px, the strongest ResNet-18-D and ResNet-50-D timm has.
    ("resnet18d.ra4_e3600_r224_in1k", "resnet18d", 0.9, HALF, (74.356, 91.826), (76.012, 92.784)),
    ("resnet50d.ra4_e3600_r224_in1k", "resnet50d", 0.95, HALF, (80.956, 95.380), (81.840, 95.926)),
]


# keras.applications' published files. A second set of weights for an architecture is one more entry.
_KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/"


def _keras_file(folder, stem, hashes=(None, None), converter=None, top_suffix="_weights_tf_dim_ordering_tf_kernels"):
    top, notop = f"{stem}{top_suffix}.h5", f"{stem}{top_suffix}_notop.h5"
    return WeightsSource(url=f"{_KERAS}{folder}/{top}", file_name=top, file_hash=hashes[0],
                         notop_url=f"{_KERAS}{folder}/{notop}", notop_file_name=notop, notop_file_hash=hashes[1],
                         converter=converter)


# keras.applications' published figures (its documentation's table: single 224 px center crop, validation).
_KERAS_FIGURES = {"vgg16": (71.3, 90.1), "vgg19": (71.3, 90.0), "resnet50": (74.9, 92.1), "resnet101": (76.4, 92.8),
                  "resnet152": (76.6, 93.1), "resnext50": (77.7, 93.8)}


def _keras_figures(name: str) -> dict:
    top1, top5 = _KERAS_FIGURES[name]
    where = ("keras-applications 1.0.8's README table" if name == "resnext50"
             else "keras.io/api/applications table (keras' own evaluation)")
    return {"published_top1": top1 / 100, "published_top5": top5 / 100, "published_source": where}


def _keras_presets():
    keras_resnets = {
        "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
        "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
        "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    }
    for name in ("vgg16", "vgg19"):
        yield Preset(name, "keras_in1k", 224, 0.875, "caffe", weights=_keras_file(name, name),
                     figures=_keras_figures(name)), False
    for name, hashes in keras_resnets.items():
        yield Preset(name, "keras_in1k", 224, 0.875, "caffe", weights=_keras_file("resnet", name, hashes),
                     figures=_keras_figures(name)), False
    # keras stores ResNeXt weights trained with torch-style normalization (keras-applications 1.0.8),
    # its grouped convolution in an older layout.
    yield Preset("resnext50", "keras_in1k", 224, 0.875, "torch", weights=_keras_file(
        "resnet", "resnext50", ("67a5b30d522ed92f75a1f16eef299d1a", "62527c363bdd9ec598bed41947b379fc"),
        converter="keras_resnext"), figures=_keras_figures("resnext50")), False
    mobilenet = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet/"
    yield Preset(
        "mobilenet_0.25_128", "keras_in1k", 128, 128 / 146, "tf",
        weights=WeightsSource(url=mobilenet + "mobilenet_2_5_128_tf.h5", file_name="mobilenet_2_5_128_tf.h5",
                              # keras states no hash for its MobileNet files; this is the file's sha256.
                              file_hash="fe295db7f78635f1403127e3ba8cdc6237f83262bdb745063a67c1d81190c7f8",
                              notop_url=mobilenet + "mobilenet_2_5_128_tf_no_top.h5",
                              notop_file_name="mobilenet_2_5_128_tf_no_top.h5"),
        figures={"accuracy": 0.40, "top_5_accuracy": 0.61, "published_top1": 0.415, "published_source": "keras' MobileNet README "
                 "table (alpha 0.25, 128 px)",
                 "how": "ilsvrc-keras evaluate on the 100 ILSVRC2012 validation images of the development assets"}), False



def _pytorch_presets():
    for name, arch, file_name, top1, top5, enum, resize in _TORCHVISION:
        tag = name.split(".", 1)[1]
        source = WeightsSource(url=_TV + file_name, file_name=file_name, file_hash=file_name.rsplit("-", 1)[1][:-4],
                               publisher="torchvision", license="BSD-3-Clause (torchvision)")
        yield Preset(
            # torchvision runs its pretrained GoogLeNet with transform_input=True, which turns ImageNet-normalized
            # input back into (x / 255 - 0.5) / 0.5 inside the network: those weights see pixels in [-1, 1].
            arch, tag, 224, 224 / resize, HALF if arch == "googlenet_bn" else IMAGENET, "bilinear",
            weights=source, outputs="probabilities", published_name=None if name == f"{arch}.{tag}" else name,
            figures={"published_top1": top1 / 100, "published_top5": top5 / 100,
                     "published_source": _TV_SOURCE.format(enum, resize)}), \
            arch in ("resnet50b",) and tag == "tv2_in1k"
    for name, arch, crop, normalization, at224, at288 in _TIMM:
        tag = name.split(".", 1)[1]
        url = f"https://huggingface.co/timm/{name}/resolve/main/model.safetensors"
        source = WeightsSource(url=url, file_name=f"{name}.safetensors", publisher="timm", license="Apache-2.0 (timm)")
        yield Preset(
            arch, tag, 224, crop, normalization, "bicubic", weights=source,
            figures={"published_top1": at224[0] / 100, "published_top5": at224[1] / 100,
                     "published_top1_288": at288[0] / 100, "published_top5_288": at288[1] / 100,
                     "published_source": f"timm results-imagenet.csv, {name} at 224 px, crop_pct {crop}, bicubic "
                                         "(and at its test size 288 px, crop_pct 0.95-1.0)"}), False


def zoo_presets():
    """Every published preset of the zoo as ``(preset, default)`` (``default``: what the bare architecture
    name means even where an earlier preset builds it), keras' files first."""
    yield from _keras_presets()
    yield from _pytorch_presets()
