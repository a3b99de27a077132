"""Pieces every family shares: the input, the classifier head."""

from .._lazy import keras, layers


def model_input(input_shape):
    return keras.Input(shape=tuple(input_shape), name="input")


def classifier(x, num_classes, name="predictions"):
    # float32 so that softmax stays accurate when the rest of the network runs in bf16/fp16.
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name=name)(x)
