"""The benchmark tasks by name, each in a module of its own: figures measured side by side in one run
(these machines are noisy: compare ratios).

Run from the repository: ``python -m benchmarks TASK [--data DIR] [--weights FILE] [--json]``. Each task's
module has the function that measures it and a ``table(result)`` that prints it.
"""

from __future__ import annotations

import importlib

# task -> (module, function)
TASKS = {
    "predict": ("predict", "predict"),
    "localize": ("localize", "localize"),
    "input": ("input", "input_pipeline"),
    "train": ("train_step", "train_speed"),
    "fine-tune": ("fine_tune", "fine_tune_vs_plain"),
    "train-recipe": ("train_recipe", "train_recipe"),
    "gpu": ("gpu", "gpu_train"),
    "tta": ("tta", "tta"),
    "ema": ("ema", "ema"),
    "discriminative": ("discriminative", "discriminative"),
    "ingredients": ("ingredients", "ingredients"),
}


def _module(task: str):
    return importlib.import_module(f"benchmarks.{TASKS[task][0]}")


def run(task: str, **kwargs) -> dict:
    return getattr(_module(task), TASKS[task][1])(**kwargs)


def format_table(result: dict) -> str:
    lines = [f"{result['task']} benchmark" + (f", {result['model']}" if "model" in result else "")]
    return "\n".join(lines + _module(result["task"]).table(result))
