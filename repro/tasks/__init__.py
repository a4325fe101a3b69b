"""The kernel task suite: KernelBench-format problem files grouped by level, with optional reference solutions.

A task is one readable Python file (`class Model`, `get_inputs`, `get_init_inputs`) plus optional module-level
extensions described in `repro/tasks/README.md`. This module finds tasks, pairs them with their reference
solution under `repro/solutions/`, and imports problem files as fresh, isolated modules.
"""

from __future__ import annotations

import importlib.util
import itertools
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

TASKS_DIR = Path(__file__).resolve().parent
SOLUTIONS_DIR = TASKS_DIR.parent / "solutions"
LEVELS = ("level1", "level2", "level3")
SUITES = (*LEVELS, "all", "smoke")

# Cheap tasks whose reference solutions run through the Triton interpreter in about a second each.
SMOKE = (
    "level1/01_gelu",
    "level1/03_softmax",
    "level1/06_rms_norm",
    "level1/07_row_sum",
    "level2/04_bias_gelu_residual",
)


_module_counter = itertools.count()


@dataclass(frozen=True)
class Task:
    """One problem file and, when one exists, its hand-written Triton solution."""

    name: str  # "level1/03_softmax"
    level: int  # 0 for task directories outside the level layout
    path: Path
    solution: Path | None


def _level_of(directory: Path) -> int:
    match = re.fullmatch(r"level(\d+)", directory.name)
    return int(match.group(1)) if match else 0


def _task_from_file(path: Path) -> Task:
    path = path.resolve()
    solution = None
    if path.parent.parent == TASKS_DIR:
        candidate = SOLUTIONS_DIR / path.parent.name / path.name
        solution = candidate if candidate.is_file() else None
    return Task(
        name=f"{path.parent.name}/{path.stem}", level=_level_of(path.parent), path=path, solution=solution
    )


def _tasks_in(directory: Path) -> list[Task]:
    files = sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))
    return [_task_from_file(p) for p in files]


def list_tasks(suite: str) -> list[Task]:
    """Tasks of a suite: `level1|level2|level3|all|smoke`, or a directory of problem files.

    Raises ValueError for an unknown suite or a directory without problem files, naming the fix.
    """
    if suite in LEVELS:
        return _tasks_in(TASKS_DIR / suite)
    if suite == "all":
        return [t for level in LEVELS for t in _tasks_in(TASKS_DIR / level)]
    if suite == "smoke":
        by_name = {t.name: t for t in list_tasks("all")}
        missing = [n for n in SMOKE if n not in by_name]
        if missing:
            raise ValueError(f"smoke suite names tasks that do not exist: {missing}")
        return [by_name[n] for n in SMOKE]
    directory = Path(suite)
    if not directory.is_dir():
        raise ValueError(
            f"unknown suite {suite!r}: use one of {', '.join(SUITES)} or a directory of problem files"
        )
    tasks = _tasks_in(directory)
    if not tasks:
        raise ValueError(f"suite directory {directory} holds no problem files (*.py not starting with '_')")
    return tasks


def load_problem(path: str | Path) -> ModuleType:
    """Import a problem (or candidate) file as a fresh module under a unique name.

    Each call executes the file again, so module-level state never leaks between evaluations.
    The module is registered in sys.modules because Triton and dataclasses look modules up there.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"problem file {path} does not exist")
    stem = re.sub(r"\W", "_", path.stem)
    name = f"kernelatlas_problem_{stem}_{next(_module_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def problem_shapes(module: ModuleType, device: str) -> list[dict]:
    """Shapes to check on `device`: the harness's own reading (`repro.records.task_settings.task_settings`)."""
    from repro.records.task_settings import task_settings

    return list(task_settings(module, device).shapes)


def problem_tolerance(module: ModuleType) -> tuple[float, float]:
    """(atol, rtol) of an output of the task's DTYPE (float32 when unset), as the harness judges it;
    outputs of other dtypes get their own (`task_settings(module, device).tolerance(dtype)`)."""
    from repro.records.task_settings import task_settings

    return task_settings(module, "cpu").declared_tolerance()
