"""Reading a KernelBench-format problem inside a worker process: shapes, inputs, models, tolerances.

The reference process and the candidate process both build inputs and models through these
functions, so the same seed gives the same parameters and the same input values in both.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from repro.records.task_settings import task_settings


def load_module(path: Path, name: str) -> ModuleType:
    """Import a Python file under a fixed module name (Triton's JIT needs the source file on disk)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def shapes_for(problem: ModuleType, device: str) -> list[dict[str, Any]]:
    """Shapes to check, first one timed (see `task.task_settings`)."""
    return list(task_settings(problem, device).shapes)


def tolerance(problem: ModuleType, dtype: torch.dtype) -> tuple[float, float]:
    """(atol, rtol) for an output of `dtype` (see `task.task_settings`)."""
    return task_settings(problem, "cpu").tolerance(dtype)


def trial_seed(base: int, shape_index: int, trial: int) -> int:
    return base * 1_000_003 + shape_index * 1009 + trial


def timing_seed(base: int, iteration: int) -> int:
    """Seeds for timed iterations that are not checked: disjoint from the trial seeds."""
    return base * 1_000_003 + 500_000 + iteration


def seed_generators(seed: int, device: str) -> None:
    """What `torch.manual_seed` does for the generators inputs are drawn from (the CPU's and the
    device's), without its Python overhead (about 0.09 ms a call on an H200 host, which the
    parent-clocked batch pays once per call): the same seed gives the same values."""
    torch.default_generator.manual_seed(seed)
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.init()
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        torch.cuda.default_generators[index].manual_seed(seed)
    elif dev.type != "cpu":
        torch.manual_seed(seed)


def make_inputs(problem: ModuleType, shape: dict[str, Any], seed: int, device: str) -> list[Any]:
    """Fresh inputs, generated directly on the device (fast, and deterministic for a given seed)."""
    seed_generators(seed, device)
    with torch.device(device):
        inputs = list(problem.get_inputs(**shape))
    return [x.to(device) if isinstance(x, torch.Tensor) else x for x in inputs]


def build_model(
    cls: type, problem: ModuleType, shape: dict[str, Any], seed: int, device: str
) -> torch.nn.Module:
    """KernelBench's parameter matching: seed the RNG identically before constructing each model."""
    torch.manual_seed(seed)
    init = list(problem.get_init_inputs(**shape))
    torch.manual_seed(seed)
    model = cls(*init)
    if isinstance(model, torch.nn.Module):
        model = model.to(device)
        model.eval()
    return model


def flatten_outputs(out: Any) -> list[torch.Tensor]:
    """Outputs must be plain tensors (exact type) or a tuple/list of them: no subclasses or lazy proxies."""
    items = list(out) if isinstance(out, tuple | list) else [out]
    for i, item in enumerate(items):
        if type(item) is not torch.Tensor:
            raise TypeError(
                f"output {i} is a {type(item).__module__}.{type(item).__qualname__}, "
                "not a plain torch.Tensor (subclasses and proxies are refused)"
            )
    return items
