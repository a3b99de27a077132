"""The zoo's ResNet-50 through Keras 3 on JAX against timm's ResNet-50 in PyTorch, side by side.

One prepared run for a GPU machine that has PyTorch, timm and JAX but no TensorFlow (Keras installed from its
wheel). Each side runs in a process of its own (one framework's allocator never sees the other's), on the
same batch, input size and precision:

- ``keras-jax``: ``create_model("resnet50b")`` (the ResNet-50 with its stride on the 3x3, as torchvision and
  timm build it) under ``KERAS_BACKEND=jax``, channels-last as Keras always is, one ``jax.jit`` step of
  forward, backward and SGD with momentum (``stateless_call`` / ``stateless_apply``), bf16 as
  ``mixed_bfloat16``; the inference pass jitted alike.
- ``timm-torch``: ``timm.create_model("resnet50")``, ``channels_last``, ``torch.autocast(bfloat16)``,
  ``torch.compile``, SGD with momentum, the same cross-entropy; the inference pass under ``torch.inference_mode``.

Synthetic images already on the device: the step alone. Warm-up steps (compilation included) are not timed;
images/s and ms per step are. About 5 minutes on one H100 with the defaults, most of it compilation.

    python benchmarks/gpu_vs_timm.py                     # ResNet-50, 224 px, batch 256, bf16
    python benchmarks/gpu_vs_timm.py --smoke             # a tiny CPU run of both sides (the tests run it)
    python benchmarks/gpu_vs_timm.py --smoke --torch-python ../refvenv/bin/python   # torch and timm elsewhere

Prints a table, then one JSON line. A side whose framework is missing is reported as skipped, with the reason.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIDES = ("keras-jax", "timm-torch")
SMOKE = {"size": 32, "batch": 2, "steps": 2, "warmup": 1, "precision": "fp32"}


def keras_side(size: int, batch: int, steps: int, warmup: int, precision: str) -> dict:
    import keras
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from ilsvrc_keras.zoo import create_model

    keras.mixed_precision.set_global_policy({"bf16": "mixed_bfloat16", "fp32": "float32"}[precision])
    keras.utils.set_random_seed(0)
    model = create_model("resnet50b", num_classes=1000, input_shape=(size, size, 3), classifier_activation=None)
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    backend = keras.backend.backend()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, size, size, 3), np.float32)
    y = np.eye(1000, dtype=np.float32)[rng.integers(0, 1000, batch)]
    state = None

    if backend == "jax":
        import jax

        from benchmarks.zoo_backend import jax_steps

        train, infer, state = jax_steps(model, optimizer, loss_fn)
        x, y = jax.device_put(x), jax.device_put(y)
        devices = [str(d) for d in jax.devices()]

        def ready(v):
            v.block_until_ready()
    else:  # a CPU smoke run where JAX is absent: the same network and loss through the installed backend
        model.compile(optimizer=optimizer, loss=loss_fn, jit_compile=False)

        def train(state, x, y):
            return model.train_on_batch(x, y), state

        def infer(state, x):
            return model.predict_on_batch(x)

        devices = [backend]

        def ready(v):
            return None

    def timed(fn, n):
        t0 = time.perf_counter()
        out = None
        for _ in range(n):
            out = fn()
        ready(out)
        return time.perf_counter() - t0

    rows = {}
    holder = [state]

    def one_train():
        loss, holder[0] = train(holder[0], x, y)
        return loss

    compile_s = timed(one_train, 1)
    timed(one_train, warmup)
    seconds = timed(one_train, steps)
    rows["train"] = _row(batch, steps, seconds, compile_s)
    compile_s = timed(lambda: infer(holder[0], x), 1)
    timed(lambda: infer(holder[0], x), warmup)
    seconds = timed(lambda: infer(holder[0], x), steps)
    rows["inference"] = _row(batch, steps, seconds, compile_s)
    return {"framework": f"keras {keras.__version__} ({backend})", "devices": devices, "model": "zoo resnet50b",
            "params": model.count_params(), "rows": rows}


def torch_side(size: int, batch: int, steps: int, warmup: int, precision: str, compile_model: bool) -> dict:
    import timm
    import torch

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    model = timm.create_model("resnet50", num_classes=1000).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch, 3, size, size, device=device).to(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (batch,), device=device)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    autocast = torch.autocast(device.type, dtype=dtype, enabled=precision == "bf16")
    forward = torch.compile(model) if compile_model else model

    def train():
        with autocast:
            loss = loss_fn(forward(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    def infer():
        with torch.inference_mode(), autocast:
            return forward(x)

    def timed(fn, n):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    rows = {}
    model.train()
    compile_s = timed(train, 1)
    timed(train, warmup)
    rows["train"] = _row(batch, steps, timed(train, steps), compile_s)
    model.eval()
    compile_s = timed(infer, 1)  # eval mode recompiles
    timed(infer, warmup)
    rows["inference"] = _row(batch, steps, timed(infer, steps), compile_s)
    return {"framework": f"torch {torch.__version__}, timm {timm.__version__}"
                         + (" (torch.compile)" if compile_model else ""),
            "devices": [torch.cuda.get_device_name(0)] if cuda else ["cpu"], "model": "timm resnet50",
            "params": sum(p.numel() for p in model.parameters()), "rows": rows}


def _row(batch: int, steps: int, seconds: float, compile_s: float) -> dict:
    return {"images_per_sec": round(batch * steps / seconds, 1), "step_ms": round(1000 * seconds / steps, 2),
            "first_step_s": round(compile_s, 1)}


def run_side(side: str, args, timeout: int) -> dict:
    """One side in its own process (``--side``), its JSON line back; a failure or a missing framework is a row
    that says why."""
    python = args.torch_python if side == "timm-torch" and args.torch_python else sys.executable
    cmd = [python, __file__, "--side", side, "--size", str(args.size), "--batch", str(args.batch),
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--precision", args.precision]
    cmd += ["--no-compile"] if args.no_compile else []
    # JAX where it is installed (the GPU image); elsewhere (the tests' CPU smoke run) Keras' installed backend.
    jax = importlib.util.find_spec("jax") is not None
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **({"KERAS_BACKEND": "jax"} if jax else {})}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"skipped": f"did not finish in {timeout} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return {"skipped": (done.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return json.loads(lines[-1])


def table(result: dict) -> str:
    s = result["settings"]
    lines = [f"ResNet-50, {s['size']} px, batch {s['batch']}, {s['precision']}, {s['steps']} timed steps",
             f"{'side':<12}{'pass':<11}{'images/s':>10}{'ms/step':>10}{'first step s':>14}  framework"]
    for side, r in result["sides"].items():
        if "skipped" in r:
            lines.append(f"{side:<12}skipped: {r['skipped']}")
            continue
        for kind, row in r["rows"].items():
            lines.append(f"{side:<12}{kind:<11}{row['images_per_sec']:>10.1f}{row['step_ms']:>10.2f}"
                         f"{row['first_step_s']:>14.1f}  {r['framework']} on {', '.join(r['devices'])}")
    for kind, ratio in result.get("keras_over_timm", {}).items():
        lines.append(f"keras-jax / timm-torch, {kind}: {ratio}x images/s")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--precision", choices=("bf16", "fp32"), default="bf16")
    p.add_argument("--no-compile", action="store_true", help="timm without torch.compile")
    p.add_argument("--smoke", action="store_true", help="a tiny CPU run of both sides (no torch.compile)")
    p.add_argument("--timeout", type=int, default=240, help="seconds each side may take")
    p.add_argument("--torch-python", help="the interpreter of the timm side (default: this one), e.g. a virtualenv "
                                          "holding torch and timm beside the project's")
    args = p.parse_args(argv)
    if args.smoke:
        for k, v in SMOKE.items():
            setattr(args, k, v)
        args.no_compile = True
    if args.side == "keras-jax":
        print(json.dumps(keras_side(args.size, args.batch, args.steps, args.warmup, args.precision)))
        return 0
    if args.side == "timm-torch":
        print(json.dumps(torch_side(args.size, args.batch, args.steps, args.warmup, args.precision,
                                    not args.no_compile)))
        return 0
    sides = {side: run_side(side, args, args.timeout) for side in SIDES}
    result = {"task": "gpu-vs-timm", "settings": {k: getattr(args, k) for k in ("size", "batch", "steps", "warmup",
                                                                              "precision", "no_compile")},
              "sides": sides}
    if all("rows" in r for r in sides.values()):
        a, b = sides["keras-jax"]["rows"], sides["timm-torch"]["rows"]
        result["keras_over_timm"] = {k: round(a[k]["images_per_sec"] / b[k]["images_per_sec"], 2) for k in a}
    print(table(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
