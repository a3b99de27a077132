"""The data layer: one front door, :func:`open_dataset`, for training, fine-tuning, evaluation and
``prepare``.

- :mod:`.sources`: the front door, over one module per kind of source: :mod:`.folders` (class
  folders, the ILSVRC layout with its ground truth), :mod:`.records` (``prepare``'s TFRecord shards),
  :mod:`.tfds` (TFDS names), :mod:`.memory` (arrays, any ``tf.data.Dataset``); the splits they serve
  are :mod:`.splits`;
- :mod:`.ground_truth`: ILSVRC's ground-truth files;
- :mod:`.pipeline`: the training and evaluation ``tf.data`` pipelines over a split;
- :mod:`.cache`: the decoded-image store, an explicit object a run owns;
- :mod:`.prepare`: TFRecord shards.

Data flows one way: source -> split -> (cache) -> pipeline -> batches.
"""

from .cache import CACHE_BYTES, DecodedCache
from .folders import folder_dataset, stratified_split
from .ground_truth import (
                           IMAGE_EXTENSIONS,
                           GroundTruth,
                           LabeledImages,
                           labeled_images,
                           list_images,
                           read_ground_truth,
                           read_label_lines,
                           read_loc_csv,
                           read_voc_folder,
)
from .memory import array_split, stream_split
from .pipeline import (
                           CROP_RATIO,
                           CROP_SCALE,
                           TRAIN_CACHE_SCALE,
                           Augment,
                           decode_image,
                           decode_random_crop,
                           make_dataset,
                           random_crop_window,
                           scale_jitter_window,
)
from .prepare import prepare, shrink_image
from .records import is_record_folder, record_dataset
from .sources import open_dataset
from .splits import ImageDataset, Split, StreamSplit, all_of, first, remap_labels
from .tfds import tfds_builder, tfds_dataset

__all__ = [
    "CACHE_BYTES", "CROP_RATIO", "CROP_SCALE", "IMAGE_EXTENSIONS", "TRAIN_CACHE_SCALE", "Augment", "DecodedCache",
    "GroundTruth", "ImageDataset", "LabeledImages", "Split", "StreamSplit", "all_of", "array_split", "decode_image",
    "decode_random_crop", "first", "folder_dataset", "is_record_folder", "labeled_images", "list_images", "make_dataset",
    "open_dataset", "prepare", "random_crop_window", "read_ground_truth", "read_label_lines", "read_loc_csv",
    "read_voc_folder", "record_dataset", "remap_labels", "scale_jitter_window", "shrink_image", "stratified_split",
    "stream_split", "tfds_builder", "tfds_dataset",
]
