"""The milestone networks of the ILSVRC challenge, one module per family.

Importing this package registers every network in :mod:`ilsvrc_keras.registry`. Builders are
plain functions ``(input_shape, num_classes, include_top, *, input_tensor, pooling, classifier_activation, **options) -> keras.Model``; use
:func:`ilsvrc_keras.create_model` to get one with weights.
"""

from . import alexnet, googlenet, mobilenet, resnet, vgg, zfnet  # noqa: F401  (registration)
