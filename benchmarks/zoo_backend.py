"""Training-step throughput of the zoo's networks on any Keras 3 backend (JAX where TensorFlow is absent).

The zoo's builders are plain Keras 3 (TensorFlow loads only where the tf.data pipelines need it), so
the same ``create_model`` networks train under JAX. This measures the step alone: synthetic images
already on the accelerator, one jitted step (forward, backward, SGD with momentum) per batch, mixed
precision where asked. It is what a GPU machine without TensorFlow can tell about the architectures;
``benchmarks/gpu.sh`` measures the TensorFlow engine with its input pipeline.

    KERAS_BACKEND=jax python benchmarks/zoo_backend.py --models resnet50 resnet50d --size 224 --batch 256
    KERAS_BACKEND=jax python benchmarks/zoo_backend.py --models alexnet zfnet googlenet vgg16 resnet50  # own sizes
    KERAS_BACKEND=jax python benchmarks/zoo_backend.py --models resnet18d --size 32 --batch 4 --steps 2  # CPU
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def jax_steps(model, optimizer, loss_fn):
    """A Keras model's jitted training step (forward, backward and the optimizer's update, through
    ``stateless_call`` / ``stateless_apply``) and inference pass on the JAX backend, with its state:
    ``train(state, x, y) -> (loss, state)``, ``infer(state, x) -> logits``; ``state`` is (trainable,
    non-trainable, optimizer variables)."""
    import jax
    import keras

    def loss_and_state(trainable, non_trainable, x, y):
        logits, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, keras.ops.cast(logits, "float32")), non_trainable

    grad = jax.value_and_grad(loss_and_state, has_aux=True)

    @jax.jit
    def train(state, x, y):
        trainable, non_trainable, opt_vars = state
        (loss, non_trainable), grads = grad(trainable, non_trainable, x, y)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return loss, (trainable, non_trainable, opt_vars)

    @jax.jit
    def infer(state, x):
        return model.stateless_call(state[0], state[1], x, training=False)[0]

    state = ([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables])
    return train, infer, state


def measure(name: str, size, batch: int, steps: int, warmup: int, precision: str) -> dict:
    import jax
    import keras
    import numpy as np

    from ilsvrc_keras.registry import get_spec
    from ilsvrc_keras.zoo import create_model

    spec = get_spec(name)
    size = size or spec.input_size

    keras.mixed_precision.set_global_policy({"bf16": "mixed_bfloat16", "fp16": "mixed_float16",
                                             "fp32": "float32"}[precision])
    keras.utils.set_random_seed(0)
    model = create_model(name, num_classes=1000, input_shape=(size, size, 3), classifier_activation=None)
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    optimizer.build(model.trainable_variables)
    step, _, state = jax_steps(model, optimizer, keras.losses.CategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = jax.device_put(rng.standard_normal((batch, size, size, 3), np.float32))
    y = jax.device_put(np.eye(1000, dtype=np.float32)[rng.integers(0, 1000, batch)])
    t0 = time.perf_counter()
    loss, state = step(state, x, y)
    loss.block_until_ready()
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        loss, state = step(state, x, y)
    loss.block_until_ready()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss, state = step(state, x, y)
    loss.block_until_ready()
    seconds = time.perf_counter() - t0
    return {"model": name, "year": spec.year, "reported_top5_error": spec.reported_top5_error, "size": size, "batch": batch, "precision": precision, "steps": steps,
            "images_per_sec": round(batch * steps / seconds, 1), "step_ms": round(1000 * seconds / steps, 2),
            "compile_s": round(compile_s, 1), "loss": round(float(loss), 3), "params": model.count_params()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["resnet50", "resnet50d"])
    p.add_argument("--size", type=int, help="input size in px (default: each network's own)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--precision", choices=("bf16", "fp16", "fp32"), default="bf16")
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = p.parse_args(argv)
    import jax
    import keras

    rows = [measure(m, args.size, args.batch, args.steps, args.warmup, args.precision) for m in args.models]
    result = {"backend": keras.backend.backend(), "devices": [str(d) for d in jax.devices()],
              "keras": keras.__version__, "jax": jax.__version__, "rows": rows}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['backend']} on {', '.join(result['devices'])}")
        for r in rows:
            print(f"{r['model']:<12}{r['size']:>5}px  batch {r['batch']:<5}{r['precision']:<6}"
                  f"{r['images_per_sec']:>10.1f} img/s  {r['step_ms']:>9.2f} ms/step  compile {r['compile_s']} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    sys.exit(main())
