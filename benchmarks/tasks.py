"""The benchmark tasks: figures measured side by side in one run (these machines are noisy: compare ratios).

Run from the repository: ``python -m benchmarks TASK [--data DIR] [--weights FILE] [--json]``.
``predict`` prints, for one network:
- single-image latency of :meth:`Classifier.classify` (decode-free: an in-memory photo-sized
  array, through the transform and the compiled forward pass), of the compiled forward pass
  alone, of ``model.predict`` and of an eager ``model(x)`` call on the same preprocessed input;
- batch throughput of the compiled forward pass against ``model.predict`` on the same batch.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np


def _timeit(fn, repeats: int, warmup: int = 3) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1e3
    return {"p50_ms": round(float(np.median(ms)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}


def predict(model="mobilenet_0.25_128", weights=None, repeats=50, batch_size=64, **_) -> dict:
    from ilsvrc_keras.inference import load

    clf = load(model, weights)
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(375, 500, 3), dtype=np.uint8)  # a typical ImageNet size
    x1, _ = clf.preprocess([photo])
    xb = np.repeat(x1, batch_size, axis=0)

    single = {
        "classify (transform + compiled forward)": _timeit(lambda: clf.classify(photo), repeats),
        "compiled forward only": _timeit(lambda: clf.predict_batch(x1), repeats),
        "model.predict": _timeit(lambda: clf.model.predict(x1, verbose=0), repeats),
        "eager model(x)": _timeit(lambda: clf.model(x1, training=False), repeats),
    }
    batch_repeats = max(3, repeats // 10)
    ours = _timeit(lambda: clf.predict_batch(xb), batch_repeats, warmup=1)
    keras_ = _timeit(lambda: clf.model.predict(xb, batch_size=batch_size, verbose=0), batch_repeats, warmup=1)
    throughput = {
        "compiled forward": round(batch_size / (ours["p50_ms"] / 1e3), 1),
        "model.predict": round(batch_size / (keras_["p50_ms"] / 1e3), 1),
    }
    return {"task": "predict", "model": clf.name, "batch_size": batch_size, "repeats": repeats,
            "single_image_latency": single, "batch_images_per_sec": throughput}


def localize(model="mobilenet_0.25_128", weights=None, repeats=10, **_) -> dict:
    """Images/s of one top-1 localization (classification + heat map + box) per method, with
    the package defaults (the heat map at twice the input size), on one photo-sized image."""
    from ilsvrc_keras.localization import METHODS, localizer_for

    loc = localizer_for(model, weights)
    photo = np.random.default_rng(0).integers(0, 256, size=(375, 500, 3), dtype=np.uint8)
    rows = {}
    for method in METHODS:
        n = max(2, repeats // 5) if method == "scorecam" else repeats  # Score-CAM: one pass per channel
        t = _timeit(lambda: loc.localize(photo, top=1, method=method), n, warmup=1)
        rows[method] = {**t, "images_per_sec": round(1e3 / t["p50_ms"], 2)}
    base = rows["gradcam"]["p50_ms"]
    for r in rows.values():
        r["time_vs_gradcam"] = round(r["p50_ms"] / base, 1)
    return {"task": "localize", "model": loc.clf.name, "repeats": repeats, "methods": rows}


def _rate(ds, batches: int, warmup: int = 2) -> float:
    it = iter(ds)
    for _ in range(warmup):
        next(it)
    n, t = 0, time.perf_counter()
    for _ in range(batches):
        x = next(it)
        n += int((x[0] if isinstance(x, tuple) else x).shape[0])
    return n / (time.perf_counter() - t)


def input_pipeline(data=None, size=224, batch_size=64, batches=30, **_) -> dict:
    """Images/s of the training input pipeline (random-resized crop decoded from the JPEG bytes,
    flip, normalization) against a plain ``image_dataset_from_directory`` pipeline with the same
    augmentation on the decoded, resized images, and against bare JPEG decoding of the same files;
    also from TFRecord shards as ``ilsvrc-keras prepare`` writes them, with the files' own bytes and
    with ``--shorter-side`` at the evaluation resize (``size / 0.875``: 256 px for 224)."""
    import shutil
    import tempfile

    import keras
    import tensorflow as tf

    from ilsvrc_keras.datasets import (
        DecodedCache,
        Split,
        decode_image,
        list_images,
        make_dataset,
        prepare,
        random_crop_window,
    )
    from ilsvrc_keras.datasets import open_dataset as _open
    from ilsvrc_keras.transforms import EvalTransform

    data = Path(data) if data else _default_assets() / "flowers"
    classes = sorted(d for d in data.iterdir() if d.is_dir())
    paths, labels = [], []
    for i, d in enumerate(classes):
        files = [str(p) for p in list_images(d)]
        paths += files
        labels += [i] * len(files)
    split = Split(paths, labels)
    t = EvalTransform(size, 0.875, "torch")
    ours = make_dataset(split, t, batch_size, len(classes), training=True).repeat()
    started = time.perf_counter()
    decoded = DecodedCache(max_bytes=2**62).serve(split, t, training=True)
    cache_seconds = time.perf_counter() - started  # the first epoch's one-off decode into memory
    ours_cached = make_dataset(decoded, t, batch_size, len(classes), training=True).repeat()
    shard_dir = Path(tempfile.mkdtemp(prefix="ilsvrc-keras-bench-"))
    side = int(round(size / 0.875))
    shards, prepare_seconds = {}, {}
    for i, (name, shorter) in enumerate((("own bytes", None), (f"shorter side {side}", side))):
        started = time.perf_counter()
        # one shard of 99% of the images (prepare holds out a validation 1%)
        prepare(data, shard_dir / str(i), shard_size=len(paths), val_fraction=0.01,
                shorter_side=shorter, progress=False)
        prepare_seconds[name] = round(time.perf_counter() - started, 1)
        shards[name] = _open(shard_dir / str(i)).train

    def augment(x, y):
        def one(img_seed):
            img, seed = img_seed
            y0, x0, h, w = tf.unstack(random_crop_window(tf.shape(img), seed))
            crop = tf.image.crop_to_bounding_box(img, y0, x0, h, w)
            crop = tf.image.resize(crop, (size, size))
            return tf.image.stateless_random_flip_left_right(crop, seed)
        seeds = tf.random.uniform([tf.shape(x)[0], 2], maxval=2**31 - 1, dtype=tf.int64)
        x = tf.map_fn(one, (x, seeds), fn_output_signature=tf.float32)
        return t.normalize(x), y

    # keras' own folder loader decodes and resizes whole images (to 256 px, as the usual recipe).
    loader = keras.utils.image_dataset_from_directory(
        str(data), image_size=(int(size / 0.875), int(size / 0.875)), batch_size=batch_size, shuffle=True,
        seed=0, verbose=False)
    plain = loader.map(augment, num_parallel_calls=tf.data.AUTOTUNE).repeat().prefetch(tf.data.AUTOTUNE)
    cached = loader.cache()
    for _ in cached:  # fill keras' cache first, as our store is filled above
        pass
    plain_cached = cached.map(augment, num_parallel_calls=tf.data.AUTOTUNE).repeat().prefetch(tf.data.AUTOTUNE)
    bare = (tf.data.Dataset.from_tensor_slices(paths).map(lambda p: decode_image(tf.io.read_file(p)),
                                                          num_parallel_calls=tf.data.AUTOTUNE)
            .map(lambda im: tf.shape(im)).batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE))

    def from_shards(name):
        return make_dataset(shards[name], t, batch_size, len(classes), training=True).repeat()

    def bare_shards(name):
        return (shards[name].make(False, 0, (1, 0)).map(lambda c, y: tf.shape(decode_image(c)),
                                                         num_parallel_calls=tf.data.AUTOTUNE)
                .batch(batch_size).repeat().prefetch(tf.data.AUTOTUNE))

    small = f"shorter side {side}"
    rows = {"ilsvrc_keras pipeline (crop decoded from the JPEG)": _rate(ours, batches),
            "image_dataset_from_directory + same augmentation": _rate(plain, batches),
            "ilsvrc_keras pipeline, decoded images kept in memory": _rate(ours_cached, batches),
            "image_dataset_from_directory + cache() + same augmentation": _rate(plain_cached, batches),
            "bare decode (no resize, no augmentation)": _rate(bare, batches),
            "ilsvrc_keras pipeline from TFRecord shards (the files' own bytes)": _rate(from_shards("own bytes"), batches),
            f"ilsvrc_keras pipeline from TFRecord shards ({small} px)": _rate(from_shards(small), batches),
            f"bare decode of the shards' images ({small} px)": _rate(bare_shards(small), batches)}
    shutil.rmtree(shard_dir, ignore_errors=True)
    rows = {k: round(v, 1) for k, v in rows.items()}
    names = list(rows)
    return {"task": "input", "data": str(data), "images": len(paths), "size": size, "batch_size": batch_size,
            "images_per_sec": rows, "first_epoch_decode_into_memory_s": round(cache_seconds, 1),
            "ratio_vs_plain": round(rows[names[0]] / rows[names[1]], 2),
            "ratio_vs_plain_both_cached": round(rows[names[2]] / rows[names[3]], 2),
            "ratio_vs_plain_shards_shrunk": round(rows[names[6]] / rows[names[1]], 2),
            "shards_write_s": prepare_seconds}


def train_speed(model="resnet18", size=64, batch_size=32, steps=15, precisions=("fp32", "bf16"), **_) -> dict:
    """Training images/s of the engine's step against plain ``model.fit`` on the same model and
    batch (synthetic data in memory, so that only the training step is measured), XLA on and off,
    for each precision."""
    import keras
    import tensorflow as tf

    from ilsvrc_keras.training import POLICIES, make_optimizer, make_train_step
    from ilsvrc_keras.zoo import create_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch_size, size, size, 3)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, batch_size)]
    w = np.ones(batch_size, "float32")
    rows = []
    old = keras.mixed_precision.dtype_policy()
    try:
        for precision in precisions:
            keras.mixed_precision.set_dtype_policy(POLICIES[precision])
            for xla in (False, True):
                strategy = tf.distribute.get_strategy()
                m = create_model(model, num_classes=10, input_shape=(size, size, 3))
                opt = make_optimizer("sgd", 0.01, precision=precision)
                step = make_train_step(strategy, m, opt, global_batch_size=batch_size, xla=xla,
                                       loss_scale=precision == "fp16")
                batch = (tf.constant(x), tf.constant(y), tf.constant(w))
                engine = _timeit(lambda: step(batch), steps, warmup=2)
                m2 = create_model(model, num_classes=10, input_shape=(size, size, 3))
                m2.compile(make_optimizer("sgd", 0.01, precision=precision), "categorical_crossentropy",
                           jit_compile=xla)
                ds = tf.data.Dataset.from_tensors((x, y)).repeat(steps)
                m2.fit(tf.data.Dataset.from_tensors((x, y)).repeat(2), verbose=0)
                t = time.perf_counter()
                m2.fit(ds, verbose=0)
                fit_rate = batch_size * steps / (time.perf_counter() - t)
                rows.append({"precision": precision, "xla": xla,
                             "engine_images_per_sec": round(batch_size / (engine["p50_ms"] / 1e3), 1),
                             "fit_images_per_sec": round(fit_rate, 1)})
    finally:
        keras.mixed_precision.set_dtype_policy(old)
    return {"task": "train", "model": model, "size": size, "batch_size": batch_size, "rows": rows}


def plain_recipe(data, weights, seed=0) -> dict:
    """The plain Keras transfer-learning recipe of ``../shared/README.md``, written the way the Keras
    examples write it: frozen MobileNet-0.25, GAP + dropout + dense, Adam 1e-3 for 10 epochs, then
    all layers at 1e-5 for 5 epochs, flip and rotation, on the same seeded split as ``fine_tune``.
    Run as a script by the fine-tune benchmark (``python -m benchmarks.tasks plain DATA WEIGHTS``),
    so that both sides are timed as whole processes."""
    import keras
    import tensorflow as tf

    from ilsvrc_keras.datasets import decode_image, open_dataset
    from ilsvrc_keras.transforms import EvalTransform
    from ilsvrc_keras.weights import load_weights

    t = time.perf_counter()
    ds = open_dataset(data, val_fraction=0.2, seed=seed)
    tr = EvalTransform(128, 128 / 146, "tf")

    def files(split, training):
        d = tf.data.Dataset.from_tensor_slices((split.paths, split.labels))
        if training:
            d = d.shuffle(len(split), seed=seed)
        d = d.map(lambda p, y: (tr.crop(decode_image(tf.io.read_file(p))), y), num_parallel_calls=tf.data.AUTOTUNE)
        return d.batch(32).prefetch(tf.data.AUTOTUNE)

    keras.utils.set_random_seed(seed)
    base = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), include_top=False, weights=None)
    load_weights(base, weights)
    base.trainable = False
    inputs = keras.Input((128, 128, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.RandomRotation(0.1)(x)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(x)
    x = base(x, training=False)
    x = keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, keras.layers.Dense(len(ds.class_names), activation="softmax")(x))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    train, val = files(ds.train, True), files(ds.val, False)
    h1 = model.fit(train, validation_data=val, epochs=10, verbose=0)
    base.trainable = True
    model.compile(keras.optimizers.Adam(1e-5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    h2 = model.fit(train, validation_data=val, epochs=5, verbose=0)
    accs = h1.history["val_accuracy"] + h2.history["val_accuracy"]
    return {"val_accuracy": round(accs[-1], 4), "peak_val_accuracy": round(max(accs), 4),
            "epochs": len(accs), "seconds": round(time.perf_counter() - t, 1)}


def _timed_process(cmd) -> tuple:
    import os
    import subprocess

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    if done.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def fine_tune_vs_plain(data=None, weights=None, seed=0, **_) -> dict:
    """Validation accuracy and wall time of ``ilsvrc-keras fine-tune`` with its defaults against the
    plain Keras recipe (:func:`plain_recipe`), same split, each run as a whole process one after the
    other: ``seconds`` is the time inside the process after its imports, ``process_seconds`` the
    wall time of the whole process (Python and TensorFlow start-up included)."""
    import sys
    import tempfile

    data = Path(data).resolve() if data else _default_assets() / "flowers"
    weights = str(Path(weights).resolve()) if weights else str(_default_assets() / "weights" / "mobilenet_2_5_128_tf.h5")
    with tempfile.TemporaryDirectory() as out:
        ours, ours_wall = _timed_process([sys.executable, "-m", "ilsvrc_keras", "fine-tune", str(data), "--out", out,
                                          "--weights", str(weights), "--seed", str(seed), "--quiet", "--json"])
        history = json.loads((Path(out) / "report.json").read_text())["phases"]
    plain, plain_wall = _timed_process([sys.executable, "-m", "benchmarks.tasks", "plain", str(data),
                                        str(weights), str(seed)])
    peak = max(r["best_val_accuracy"] or 0.0 for r in history.values())
    rows = {"ilsvrc_keras fine-tune (defaults)": {
                "val_accuracy": ours["val_accuracy"], "peak_val_accuracy": round(peak, 4), "epochs": ours["epochs"],
                "seconds": ours["seconds"], "process_seconds": round(ours_wall, 1)},
            "plain Keras recipe (shared/README.md)": {**plain, "process_seconds": round(plain_wall, 1)}}
    a, b = rows.values()
    return {"task": "fine-tune", "data": str(data), "rows": rows,
            "accuracy_gain": round(a["val_accuracy"] - b["val_accuracy"], 4),
            "process_time_ratio": round(a["process_seconds"] / b["process_seconds"], 2)}


def split_folders(data, out, val_fraction=0.1, seed=0) -> tuple:
    """A class-per-folder tree split once (stratified, seeded) into ``out/train`` and ``out/val`` of
    symbolic links, so that both sides of a benchmark see exactly the same images."""
    from ilsvrc_keras.datasets.sources import files_by_class, stratified_split

    data, out = Path(data).resolve(), Path(out)
    train, val = stratified_split(files_by_class(data), val_fraction, seed)
    for name, split in (("train", train), ("val", val)):
        for cls, files in split.items():
            (out / name / cls).mkdir(parents=True, exist_ok=True)
            for f in files:
                link = out / name / cls / Path(f).name
                if not link.exists():
                    link.symlink_to(Path(f).resolve())
    return out / "train", out / "val"


def plain_fit(train_dir, val_dir, model="resnet18d", size=128, epochs=5, batch_size=64, lr=None, seed=0) -> dict:
    """The same network, epochs, batch, optimizer, schedule and label smoothing as the Imagenette recipe,
    written the way the Keras examples write it: ``image_dataset_from_directory`` (squashed to the
    size), ``RandomFlip`` + ``RandomZoom`` layers, the normalization as a ``Normalization`` layer in
    the model, ``model.fit(validation_data=...)``. Run as a script by the train-recipe benchmark
    (``python -m benchmarks.tasks plain-fit ...``), so that both sides are timed as whole processes."""
    import sys

    import keras
    import tensorflow as tf

    from ilsvrc_keras.presets import get_preset
    from ilsvrc_keras.zoo import create_model

    sys.path.insert(0, str(ROOT / "recipes"))
    from imagenette import RECIPE  # the recipe's settings, not a copy of them

    t = time.perf_counter()
    keras.utils.set_random_seed(seed)
    lr = lr or RECIPE["lr"] * batch_size / RECIPE["batch_size"]
    load = dict(image_size=(size, size), batch_size=batch_size, label_mode="categorical", seed=seed)
    train = keras.utils.image_dataset_from_directory(train_dir, shuffle=True, **load)
    val = keras.utils.image_dataset_from_directory(val_dir, shuffle=False, **load)
    classes = len(train.class_names)
    train, val = train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)
    norm = get_preset(model).normalization
    inputs = keras.Input((size, size, 3))
    x = keras.layers.RandomFlip("horizontal")(inputs)
    x = keras.layers.RandomZoom((-0.4, 0.0))(x)  # zoom in to 60-100% of the image, as the recipe's crops
    x = norm.layer()(x)
    net = create_model(model, num_classes=classes, input_shape=(size, size, 3), classifier_activation=None)
    model_ = keras.Model(inputs, net(x))
    steps = epochs * len(train)
    warmup = int(RECIPE["warmup_epochs"] * len(train))
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps - warmup, warmup_target=lr, warmup_steps=warmup)
    optimizer = keras.optimizers.SGD(schedule, momentum=RECIPE["momentum"], weight_decay=RECIPE["weight_decay"])
    model_.compile(optimizer, keras.losses.CategoricalCrossentropy(from_logits=True,
                                                                   label_smoothing=RECIPE["label_smoothing"]),
                   metrics=["accuracy"])
    class ValidationTime(keras.callbacks.Callback):  # the engine's figure leaves validation out too
        seconds = 0.0

        def on_test_begin(self, logs=None):
            self.t = time.perf_counter()

        def on_test_end(self, logs=None):
            ValidationTime.seconds += time.perf_counter() - self.t

    t_fit = time.perf_counter()
    h = model_.fit(train, validation_data=val, epochs=epochs, verbose=0, callbacks=[ValidationTime()])
    fit_seconds = time.perf_counter() - t_fit - ValidationTime.seconds
    n_train = sum(len(list(Path(train_dir, c).iterdir())) for c in os.listdir(train_dir))
    return {"val_accuracy": round(h.history["val_accuracy"][-1], 4), "epochs": epochs,
            "train_images_per_sec": round(n_train * epochs / fit_seconds, 1), "seconds": round(time.perf_counter() - t, 1)}


def train_recipe(data=None, model="resnet18d", size=128, epochs=5, val_fraction=0.1, seed=0, smoke=False, **_) -> dict:
    """Imagenette recipe (``recipes/imagenette.py``, its defaults) against :func:`plain_fit` with the
    same network, epochs and split, each as a whole process, one after the other: validation top-1 and
    training images/s (the engine's: from its summary; plain: images over ``model.fit``'s time)."""
    import sys
    import tempfile

    data = Path(data).resolve() if data else _default_assets() / "imagenette" / "train"
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, val_dir = split_folders(data, Path(tmp) / "split", val_fraction, seed)
        extra = ["--smoke"] if smoke else ["--size", str(size), "--epochs", str(epochs)]
        ours, ours_wall = _timed_process([sys.executable, "recipes/imagenette.py", "--data", str(train_dir), "--val",
                                          str(val_dir), "--out", str(Path(tmp) / "engine"), "--model", model,
                                          "--seed", str(seed), "--json", *extra])
        cfg = ours["recipe"]
        plain, plain_wall = _timed_process([sys.executable, "-m", "benchmarks.tasks", "plain-fit", str(train_dir),
                                            str(val_dir), model, str(cfg["image_size"]), str(cfg["epochs"]),
                                            str(cfg["batch_size"]), str(cfg["lr"]), str(seed)])
    rows = {"recipes/imagenette.py (engine)": {
                "val_accuracy": ours["val_accuracy"], "epochs": ours["epochs"],
                "train_images_per_sec": ours["train_images_per_sec"], "seconds": ours["seconds"],
                "process_seconds": round(ours_wall, 1)},
            "plain model.fit (Keras examples)": {**plain, "process_seconds": round(plain_wall, 1)}}
    a, b = rows.values()
    return {"task": "train-recipe", "model": model, "data": str(data), "size": cfg["image_size"],
            "epochs": cfg["epochs"], "val_fraction": val_fraction, "rows": rows,
            "accuracy_gain": round(a["val_accuracy"] - b["val_accuracy"], 4),
            "speed_ratio": round(a["train_images_per_sec"] / b["train_images_per_sec"], 2)}


def synthetic_jpegs(folder, count=256, classes=4, size=(500, 375), seed=0) -> Path:
    """A class-per-folder tree of photo-sized JPEGs (smooth noise, quality 90): what the input pipeline
    decodes, for machines that hold no dataset (the GPU benchmark's)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    folder = Path(folder)
    for i in range(count):
        d = folder / f"class{i % classes}"
        d.mkdir(parents=True, exist_ok=True)
        small = rng.integers(0, 256, size=(size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
        Image.fromarray(small).resize(size, Image.BILINEAR).save(d / f"{i:05d}.jpg", quality=90)
    return folder


def gpu_train(model="resnet50", size=224, batch_per_replica=128, steps=40, warmup=10, precision=None,
              data=None, replicas=None, **_) -> dict:
    """Training images/s and step time of ``model`` at ``size`` px on every accelerator (MirroredStrategy
    over all GPUs, or ``replicas`` CPU replicas), with XLA on and off, on synthetic tensors (the step
    alone) and on JPEGs through the training input pipeline (``data``, or generated photo-sized JPEGs).
    What ``benchmarks/gpu.sh`` runs."""
    import tempfile

    import keras
    import tensorflow as tf

    from ilsvrc_keras.datasets import folder_dataset, make_dataset
    from ilsvrc_keras.presets import get_preset
    from ilsvrc_keras.training import make_optimizer, make_train_step
    from ilsvrc_keras.training.strategy import choose_strategy, default_precision, precision_policy
    from ilsvrc_keras.zoo import create_model

    strategy = choose_strategy(replicas)
    n = strategy.num_replicas_in_sync
    precision = precision or default_precision()
    batch = batch_per_replica * n
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(data) if data else synthetic_jpegs(Path(tmp) / "jpegs", count=max(2 * batch, 64))
        split = folder_dataset(images, val_fraction=0.0)
        classes = len(split.class_names)
        transform = get_preset(model).transform(size)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(batch, size, size, 3)).astype("float32")
        y = np.eye(classes, dtype="float32")[rng.integers(0, classes, batch)]
        synthetic = tf.data.Dataset.from_tensors((x, y, np.ones(batch, "float32"))).repeat()
        rows = []
        for xla in (True, False):
            keras.backend.clear_session()
            with precision_policy(precision), strategy.scope():
                net = create_model(model, num_classes=classes, input_shape=(size, size, 3), classifier_activation=None)
                opt = make_optimizer("sgd", 0.1, weight_decay=1e-4, precision=precision)
                opt.build(net.trainable_variables)  # its slots mirrored now, as the Trainer does
                step = make_train_step(strategy, net, opt, global_batch_size=batch, xla=xla,
                                       loss_scale=precision == "fp16")
            for source in ("synthetic", "jpeg pipeline"):  # one compiled step for both sources
                ds = synthetic if source == "synthetic" else make_dataset(
                    split.train, transform, batch, classes, training=True).repeat()
                it = iter(strategy.experimental_distribute_dataset(ds))
                for _ in range(warmup):  # compile (once per setting) and fill the pipeline
                    step(next(it))
                float(step(next(it))[0])
                t = time.perf_counter()
                for _ in range(steps):
                    out = step(next(it))
                float(out[0])  # wait for the device
                seconds = time.perf_counter() - t
                rows.append({"xla": xla, "data": source, "images_per_sec": round(batch * steps / seconds, 1),
                             "step_ms": round(1000 * seconds / steps, 1)})
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or ["CPU"]
    return {"task": "gpu", "model": model, "size": size, "precision": precision, "replicas": n,
            "global_batch": batch, "steps": steps, "devices": devices, "rows": rows}


ROOT = Path(__file__).resolve().parents[1]  # the repository


def _default_assets():
    import os

    return Path(os.environ.get("ILSVRC_KERAS_ASSETS", ROOT.parent / "shared" / "assets"))


def _ema(**kwargs) -> dict:
    from benchmarks.ema import ema

    return ema(**kwargs)


def _tta(**kwargs) -> dict:
    from benchmarks.tta import tta

    return tta(**kwargs)


def _discriminative(**kwargs) -> dict:
    from benchmarks.discriminative import discriminative

    return discriminative(**kwargs)


TASKS = {"predict": predict, "localize": localize, "input": input_pipeline, "train": train_speed,
         "fine-tune": fine_tune_vs_plain, "train-recipe": train_recipe, "gpu": gpu_train, "tta": _tta, "ema": _ema,
         "discriminative": _discriminative}


def run(task: str, **kwargs) -> dict:
    return TASKS[task](**kwargs)


def format_table(result: dict) -> str:
    lines = [f"{result['task']} benchmark" + (f", {result['model']}" if 'model' in result else "")]
    if result["task"] == "predict":
        lines.append(f"{'single image':<42}{'p50 ms':>9}{'p95 ms':>9}")
        for k, v in result["single_image_latency"].items():
            lines.append(f"{k:<42}{v['p50_ms']:>9.2f}{v['p95_ms']:>9.2f}")
        lines.append(f"batch of {result['batch_size']}: images/s")
        for k, v in result["batch_images_per_sec"].items():
            lines.append(f"  {k:<40}{v:>9.1f}")
    if result["task"] == "localize":
        lines.append(f"{'method':<12}{'p50 ms':>10}{'images/s':>10}{'x Grad-CAM':>12}")
        for k, v in result["methods"].items():
            lines.append(f"{k:<12}{v['p50_ms']:>10.1f}{v['images_per_sec']:>10.2f}{v['time_vs_gradcam']:>12.1f}")
    if result["task"] == "input":
        lines.append(f"{result['images']} images from {result['data']} at {result['size']} px, batch {result['batch_size']}")
        for k, v in result["images_per_sec"].items():
            lines.append(f"  {k:<66}{v:>9.1f} img/s")
        lines.append(f"  ratio, ours / plain: {result['ratio_vs_plain']}; both with decoded images in memory: "
                     f"{result['ratio_vs_plain_both_cached']} (our first epoch decodes into memory in "
                     f"{result['first_epoch_decode_into_memory_s']} s); from shrunk shards / plain: "
                     f"{result['ratio_vs_plain_shards_shrunk']} (shards written in "
                     + ", ".join(f"{v} s ({k})" for k, v in result["shards_write_s"].items()) + ")")
    if result["task"] == "fine-tune":
        lines.append(f"{'':<40}{'val acc':>9}{'peak':>8}{'epochs':>8}{'seconds':>9}{'process s':>11}")
        for k, v in result["rows"].items():
            lines.append(f"{k:<40}{v['val_accuracy']:>9.3f}{v['peak_val_accuracy']:>8.3f}{v['epochs']:>8}"
                         f"{v['seconds']:>9.1f}{v['process_seconds']:>11.1f}")
        lines.append(f"accuracy gain {result['accuracy_gain']:+.3f}; whole-process time ratio (ours / plain) "
                     f"{result['process_time_ratio']}")
    if result["task"] == "gpu":
        lines.append(f"{result['size']} px, {result['precision']}, {result['replicas']} replica(s) "
                     f"({', '.join(result['devices'])}), global batch {result['global_batch']}")
        lines.append(f"{'xla':<6}{'data':<16}{'images/s':>10}{'step ms':>10}")
        for r in result["rows"]:
            lines.append(f"{str(r['xla']):<6}{r['data']:<16}{r['images_per_sec']:>10.1f}{r['step_ms']:>10.1f}")
    if result["task"] == "train-recipe":
        lines.append(f"{result['size']} px, {result['epochs']} epochs, {result['val_fraction']:.0%} held out of {result['data']}")
        lines.append(f"{'':<36}{'val top-1':>10}{'train img/s':>13}{'seconds':>9}{'process s':>11}")
        for k, v in result["rows"].items():
            lines.append(f"{k:<36}{v['val_accuracy']:>10.3f}{v['train_images_per_sec']:>13.1f}{v['seconds']:>9.1f}"
                         f"{v['process_seconds']:>11.1f}")
        lines.append(f"accuracy gain {result['accuracy_gain']:+.3f}; training speed ratio (engine / plain) "
                     f"{result['speed_ratio']}")
    if result["task"] in ("tta", "ema", "discriminative"):
        import importlib

        lines += importlib.import_module(f"benchmarks.{result['task']}").table(result)
    if result["task"] == "train":
        lines.append(f"{'precision':<10}{'xla':<6}{'engine img/s':>14}{'fit img/s':>12}")
        for r in result["rows"]:
            lines.append(f"{r['precision']:<10}{str(r['xla']):<6}{r['engine_images_per_sec']:>14.1f}"
                         f"{r['fit_images_per_sec']:>12.1f}")
    return "\n".join(lines)


if __name__ == "__main__":  # the plain recipe as its own process, for the fine-tune benchmark
    import sys as _sys

    if len(_sys.argv) >= 4 and _sys.argv[1] == "plain":
        print(json.dumps(plain_recipe(_sys.argv[2], _sys.argv[3], int(_sys.argv[4]) if len(_sys.argv) > 4 else 0)))
    if len(_sys.argv) == 10 and _sys.argv[1] == "plain-fit":
        a = _sys.argv[2:]
        print(json.dumps(plain_fit(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6]), int(a[7]))))
