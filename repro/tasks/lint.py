"""Lint the task suite: refuse tasks that are incomplete or that a trivial candidate could pass.

A task is refused when it lacks SHAPES, CPU_SHAPES, flops or bytes_moved; when its get_inputs defaults
differ from SHAPES[0]; when its reference output is not finite; when zeros, a constant (the output's mean),
one of its own inputs, or the output for different inputs passes its tolerance; and, on a GPU, when eager
PyTorch runs faster than a launch-cost floor at the timed shape (then the task would time launches).

    python -m repro.tasks.lint [SUITE] [--device cpu|cuda] [--floor-us 20]
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
from collections.abc import Callable
from types import ModuleType

import torch

from repro.records.task_settings import TaskSettings, task_settings
from repro.tasks import Task, list_tasks, load_problem, problem_shapes

DEFAULT_FLOOR_US = 20.0
SEED = 0


def _outputs(value: object) -> list[torch.Tensor]:
    """A forward's result as a list of tensors (a tensor, or a tuple/list of tensors)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return list(value)
    raise TypeError(f"forward returned {type(value).__name__}; expected a tensor or a tuple of tensors")


def run_reference(module: ModuleType, shape: dict, device: str, seed: int = SEED) -> tuple[list, list]:
    """Build the reference model and inputs the way the harness does (seeded) and run it once."""
    torch.manual_seed(seed)
    model = module.Model(*module.get_init_inputs(**shape)).to(device)
    torch.manual_seed(seed + 1)
    inputs = [x.to(device) if isinstance(x, torch.Tensor) else x for x in module.get_inputs(**shape)]
    with torch.no_grad():
        return inputs, _outputs(model(*inputs))


def _passes(candidate: list[torch.Tensor], reference: list[torch.Tensor], task: TaskSettings) -> bool:
    """Whether `candidate` would pass the harness's check: each output at its own dtype's tolerance."""
    return all(
        c.shape == r.shape
        and torch.allclose(
            c.double(), r.double(), atol=task.tolerance(r.dtype)[0], rtol=task.tolerance(r.dtype)[1]
        )
        for c, r in zip(candidate, reference, strict=True)
    )


def _check_declarations(module: ModuleType) -> list[str]:
    problems = []
    for name in ("Model", "get_inputs", "get_init_inputs"):
        if not hasattr(module, name):
            problems.append(f"missing {name} (every KernelBench problem defines it)")
    for name in ("SHAPES", "CPU_SHAPES"):
        value = getattr(module, name, None)
        if not (isinstance(value, list) and value and all(isinstance(s, dict) for s in value)):
            problems.append(f"missing or empty {name}: add a non-empty list of shape dicts")
    for name in ("flops", "bytes_moved"):
        if not callable(getattr(module, name, None)):
            problems.append(
                f"missing {name}(**shape): declare it so speed-of-light fractions can be computed"
            )
    if problems:
        return problems
    for shape in module.SHAPES:
        for name in ("flops", "bytes_moved"):
            try:
                value = float(getattr(module, name)(**shape))
            except Exception as exc:  # a user's function may fail in any way; report it
                problems.append(f"{name}(**{shape}) raised {type(exc).__name__}: {exc}")
                continue
            if not (math.isfinite(value) and value > 0):
                problems.append(f"{name}(**{shape}) = {value}; it must be a positive finite number")
    first = module.SHAPES[0]
    for fn in (module.get_inputs, module.get_init_inputs):
        params = inspect.signature(fn).parameters
        for key, value in first.items():
            if key in params and params[key].default != value:
                problems.append(
                    f"{fn.__name__} default {key}={params[key].default!r} differs from SHAPES[0] {key}={value!r}"
                )
            elif key not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                problems.append(f"{fn.__name__} does not accept the shape key {key!r}")
    return problems


def _check_shape(module: ModuleType, shape: dict, device: str) -> list[str]:
    """Degeneracy checks at one shape: each trivial answer must fail the task's tolerance."""
    task = task_settings(module, device)  # the harness's per-output tolerances, read the harness's way
    inputs, ref = run_reference(module, shape, device)
    at = f"at shape {shape}"
    if not all(torch.isfinite(r.double()).all() for r in ref):
        return [f"reference output is not finite {at}"]
    problems = []
    trivial: dict[str, Callable[[], list[torch.Tensor]]] = {
        "zeros": lambda: [torch.zeros_like(r) for r in ref],
        "a constant (the output mean)": lambda: [torch.full_like(r, r.double().mean().item()) for r in ref],
        "the output for different inputs": lambda: run_reference(module, shape, device, seed=SEED + 100)[1],
    }
    for i, x in enumerate(inputs):
        if isinstance(x, torch.Tensor) and len(ref) == 1 and x.shape == ref[0].shape:

            def itself(x: torch.Tensor = x) -> list[torch.Tensor]:
                return [x.to(ref[0].dtype)]

            trivial[f"input {i} itself"] = itself
    for what, make in trivial.items():
        if _passes(make(), ref, task):
            atol, rtol = task.tolerance(ref[0].dtype)
            problems.append(
                f"{what} passes the tolerance (atol={atol}, rtol={rtol}) {at}: the task is degenerate"
            )
    return problems


def eager_time_us(module: ModuleType, shape: dict) -> float:
    """Median eager time of the reference at `shape` on the current CUDA device, in microseconds."""
    import triton.testing  # imported here: the CPU lint needs no Triton

    torch.manual_seed(SEED)
    model = module.Model(*module.get_init_inputs(**shape)).cuda()
    inputs = [x.cuda() if isinstance(x, torch.Tensor) else x for x in module.get_inputs(**shape)]
    with torch.no_grad():
        return 1e3 * triton.testing.do_bench(lambda: model(*inputs), return_mode="median")


def lint_task(task: Task, device: str = "cpu", floor_us: float = DEFAULT_FLOOR_US) -> list[str]:
    """Every problem found in one task, each a sentence naming what to fix; empty when the task is sound."""
    try:
        module = load_problem(task.path)
    except Exception as exc:  # a broken task file is a finding, not a crash of the lint
        return [f"cannot import: {type(exc).__name__}: {exc}"]
    problems = _check_declarations(module)
    if problems:
        return problems
    for shape in problem_shapes(module, device):
        try:
            problems += _check_shape(module, shape, device)
        except Exception as exc:
            problems.append(f"reference failed at shape {shape}: {type(exc).__name__}: {exc}")
    if device == "cuda" and not problems:
        us = eager_time_us(module, module.SHAPES[0])
        if us < floor_us:
            problems.append(
                f"eager time {us:.1f} us at SHAPES[0] is under the {floor_us} us launch-cost floor"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repro.tasks.lint", description=__doc__.splitlines()[0])
    parser.add_argument(
        "suite", nargs="?", default="all", help="level1|level2|level3|all|smoke or a directory"
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--floor-us", type=float, default=DEFAULT_FLOOR_US, help="eager-time floor on cuda")
    args = parser.parse_args(argv)
    tasks = list_tasks(args.suite)
    failed = 0
    for task in tasks:
        problems = lint_task(task, args.device, args.floor_us)
        failed += bool(problems)
        print(f"{'FAIL' if problems else 'ok':4s}  {task.name}")
        for problem in problems:
            print(f"      {task.path}: {problem}")
    print(f"{len(tasks) - failed}/{len(tasks)} tasks pass the lint on {args.device}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
