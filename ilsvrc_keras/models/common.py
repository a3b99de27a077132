"""Pieces every family shares: the input and the end of the network, with keras.applications'
arguments (``input_tensor``, ``include_top``, ``pooling``, ``classifier_activation``)."""

from .._lazy import keras, layers


def model_input(input_shape, input_tensor=None):
    """``(the tensor the network starts from, the model's inputs)``, as keras.applications does:
    a new ``Input``, or ``input_tensor`` (a Keras tensor from another model, or a backend tensor)."""
    if input_tensor is None:
        x = keras.Input(shape=tuple(input_shape), name="input")
        return x, x
    if keras.backend.is_keras_tensor(input_tensor):
        return input_tensor, keras.utils.get_source_inputs(input_tensor)
    x = keras.Input(tensor=input_tensor, shape=tuple(input_shape), name="input")
    return x, x


def classifier(x, num_classes, activation="softmax", name="predictions"):
    # float32 so that the logits and the softmax stay accurate when the rest of the network runs in
    # bf16/fp16. activation=None gives logits (what training and Grad-CAM want).
    return layers.Dense(num_classes, activation=activation, dtype="float32", name=name)(x)


def fully_connected(dropout, names=("fc6", "fc7")):
    """The top of AlexNet, ZFNet (``fc6``, ``fc7``) and VGG (``fc1``, ``fc2``, keras' names): flatten,
    two 4096-wide layers with the papers' dropout, before the classifier. (keras' inference-only VGG
    omits the dropout; it has no weights, so keras' files load.)"""

    def top(x):
        x = layers.Flatten(name="flatten")(x)
        for name in names:
            x = layers.Dense(4096, activation="relu", name=name)(x)
            x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
        return x

    return top


def finish(inputs, x, name, *, include_top, pooling, num_classes, classifier_activation, top=None, extra=()):
    """The end every builder shares: with the top, ``top(x)`` (the family's own layers before the
    classifier: pooling, fully connected layers, dropout) and the classifier; without it, the
    feature map or its global ``pooling``. ``extra``: further outputs (GoogLeNet's side heads)."""
    if include_top:
        x = classifier(top(x) if top else x, num_classes, classifier_activation)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inputs, [x, *extra] if extra else x, name=name)


def ends_in_logits(model) -> bool:
    """Whether ``model``'s first output is logits rather than probabilities, for a model that declares
    neither (a user's own: the zoo's presets, model folders and ``train``/``fine_tune`` declare theirs, and
    ``RunConfig(from_logits=...)`` overrides). Measured, not read from Keras internals: on two random
    inputs, outputs that are non-negative with rows summing to 1 are probabilities, whether a ``Softmax``
    layer, an ``activation="softmax"`` or an ``ops.softmax`` made them.

    >>> import keras
    >>> net = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(3),
    ...                         keras.layers.Softmax()])
    >>> ends_in_logits(net)
    False
    """
    import numpy as np

    shape = [2] + [d if d is not None else 64 for d in model.inputs[0].shape[1:]]
    x = np.random.default_rng(0).uniform(-1.0, 1.0, shape).astype("float32")
    out = model(x, training=False)
    out = np.asarray(keras.ops.convert_to_numpy(out[0] if isinstance(out, (list, tuple)) else out), np.float64)
    probabilities = out.min() >= 0 and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3)
    return not probabilities