"""The task suite: discovery, isolated loading, tolerances, and the lint over the whole suite."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from repro.tasks import (
    SMOKE,
    TASKS_DIR,
    Task,
    lint,
    list_tasks,
    load_problem,
    problem_shapes,
    problem_tolerance,
)


def test_suite_has_the_promised_size_and_layout() -> None:
    tasks = list_tasks("all")
    assert len(tasks) >= 30
    counts = {level: len(list_tasks(f"level{level}")) for level in (1, 2, 3)}
    assert counts[1] >= 14 and counts[2] >= 10 and counts[3] >= 6
    assert len({t.name for t in tasks}) == len(tasks)
    for task in tasks:
        assert task.name == f"level{task.level}/{task.path.stem}"
        assert task.path.is_file()
        if task.solution is not None:
            assert task.solution.parent.name == f"level{task.level}" and task.solution.name == task.path.name


def test_half_precision_tasks_are_present() -> None:
    dtypes = {getattr(load_problem(t.path), "DTYPE", "float32") for t in list_tasks("all")}
    assert {"float32", "float16", "bfloat16"} <= dtypes


def test_smoke_suite_is_a_subset_with_solutions() -> None:
    smoke = list_tasks("smoke")
    assert [t.name for t in smoke] == list(SMOKE)
    assert all(t.solution is not None for t in smoke)


def test_directory_suite(tmp_path: Path) -> None:
    (tmp_path / "level7").mkdir()
    (tmp_path / "level7" / "a_task.py").write_text("x = 1\n")
    (tmp_path / "level7" / "_helper.py").write_text("x = 1\n")
    [task] = list_tasks(str(tmp_path / "level7"))
    assert task == Task(
        name="level7/a_task", level=7, path=(tmp_path / "level7" / "a_task.py"), solution=None
    )
    assert [t.name for t in list_tasks(str(TASKS_DIR / "level1"))] == [t.name for t in list_tasks("level1")]


def test_bad_suites_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown suite 'level9'.*level1, level2, level3, all, smoke"):
        list_tasks("level9")
    with pytest.raises(ValueError, match="holds no problem files"):
        list_tasks(str(tmp_path))


def test_load_problem_gives_a_fresh_module_each_time(tmp_path: Path) -> None:
    path = tmp_path / "counter.py"
    path.write_text("STATE = []\n")
    first, second = load_problem(path), load_problem(path)
    first.STATE.append(1)
    assert first is not second and first.__name__ != second.__name__
    assert second.STATE == []
    with pytest.raises(FileNotFoundError, match="missing.py"):
        load_problem(tmp_path / "missing.py")


def test_load_problem_propagates_import_errors(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('broken on purpose')\n")
    with pytest.raises(RuntimeError, match="broken on purpose"):
        load_problem(path)


def test_shapes_and_tolerances(tmp_path: Path) -> None:
    path = tmp_path / "p.py"
    path.write_text("SHAPES = [dict(N=8)]\nCPU_SHAPES = [dict(N=2)]\nDTYPE = 'bfloat16'\n")
    module = load_problem(path)
    assert problem_shapes(module, "cpu") == [{"N": 2}]
    assert problem_shapes(module, "cuda") == [{"N": 8}]
    assert problem_tolerance(module) == (1e-2, 1e-2)
    path.write_text("ATOL = 1e-3\n")
    module = load_problem(path)
    assert problem_shapes(module, "cpu") == [{}]
    assert problem_tolerance(module) == (1e-3, 1e-4)


def test_whole_suite_passes_the_lint_on_cpu() -> None:
    failures = {t.name: lint.lint_task(t, "cpu") for t in list_tasks("all")}
    assert {name: problems for name, problems in failures.items() if problems} == {}


GOOD_HEADER = """
import torch
import torch.nn as nn

SHAPES = [dict(M=64, N=32)]
CPU_SHAPES = [dict(M=8, N=16)]

def get_inputs(M=64, N=32):
    return [torch.randn(M, N)]

def get_init_inputs(M=64, N=32):
    return []
"""
FLOPS = "\ndef flops(M=64, N=32):\n    return M * N\n\ndef bytes_moved(M=64, N=32):\n    return 8 * M * N\n"


def forward(body: str) -> str:
    return f"\nclass Model(nn.Module):\n    def forward(self, x):\n        return {body}\n"


BAD_TASKS = {
    # name: (source, words the finding must contain)
    "near_zero": (GOOD_HEADER + FLOPS + forward("1e-6 * x"), "zeros passes"),
    "constant": (GOOD_HEADER + FLOPS + forward("0 * x + 3.0"), "a constant (the output mean) passes"),
    "identity": (GOOD_HEADER + FLOPS + forward("x.clone()"), "input 0 itself passes"),
    "insensitive": (
        GOOD_HEADER + FLOPS + forward("x.sum() * 0 + torch.arange(x.numel()).view_as(x).float()"),
        "the output for different inputs passes",
    ),
    "no_flops": (GOOD_HEADER + forward("torch.sin(x)"), "missing flops"),
    "no_cpu_shapes": (
        GOOD_HEADER.replace("CPU_SHAPES = [dict(M=8, N=16)]", "") + FLOPS + forward("torch.sin(x)"),
        "missing or empty CPU_SHAPES",
    ),
    "wrong_default": (
        GOOD_HEADER.replace("def get_inputs(M=64", "def get_inputs(M=65") + FLOPS + forward("torch.sin(x)"),
        "get_inputs default M=65 differs from SHAPES[0] M=64",
    ),
    "not_finite": (GOOD_HEADER + FLOPS + forward("x / 0"), "not finite"),
    "bad_flops": (
        GOOD_HEADER + FLOPS.replace("return M * N", "return -1") + forward("torch.sin(x)"),
        "must be a positive finite number",
    ),
    "broken": ("import torch\nraise ValueError('nope')\n", "cannot import: ValueError: nope"),
}


@pytest.mark.parametrize("name", sorted(BAD_TASKS))
def test_lint_refuses_bad_tasks(tmp_path: Path, name: str) -> None:
    source, words = BAD_TASKS[name]
    path = tmp_path / "level1" / f"{name}.py"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(source))
    problems = lint.lint_task(Task(name=f"level1/{name}", level=1, path=path, solution=None), "cpu")
    assert any(words in p for p in problems), problems


def test_lint_accepts_a_sound_task_and_reports_through_main(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "good.py").write_text(GOOD_HEADER + FLOPS + forward("torch.sin(x)"))
    assert lint.main([str(tmp_path)]) == 0
    (tmp_path / "bad.py").write_text(GOOD_HEADER + FLOPS + forward("1e-6 * x"))
    assert lint.main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  " in out and "bad.py: zeros passes" in out and "1/2 tasks pass" in out


def test_harness_and_lint_read_a_task_through_one_function(tmp_path: Path) -> None:
    """A task folder from anywhere is linted with the tolerances it is judged with: per output dtype."""
    import torch

    from repro.harness import problem as harness_problem
    from repro.records.task_settings import TaskError, task_settings

    path = tmp_path / "mixed.py"
    path.write_text(
        "import torch\nDTYPE = 'bfloat16'\nSHAPES = [dict(n=8)]\nALLOWED_OPS = ['aten::mm']\n"
        "def flops(n=8):\n    return 2.0 * n\n"
    )
    module = load_problem(path)
    task = task_settings(module, "cuda")
    # the output's dtype decides, in the harness and in the lint alike; DTYPE gives the declared one
    assert task.tolerance(torch.float32) == harness_problem.tolerance(module, torch.float32) == (1e-4, 1e-4)
    assert task.tolerance(torch.bfloat16) == problem_tolerance(module) == (1e-2, 1e-2)
    assert task.tolerance(torch.int64) == (0.0, 0.0)
    assert task.shapes == ({"n": 8},) and task.allowed_ops == ("aten::mm",) and task.flops({"n": 8}) == 16.0
    assert task.bytes_moved({"n": 8}) is None
    for bad, words in [("ATOL = 'tight'", "ATOL = 'tight'"), ("DTYPE = 'floaty'", "not a torch dtype"),
                       ("ALLOWED_OPS = 'aten::mm'", "ALLOWED_OPS"), ("CPU_SHAPES = []", "non-empty list")]:  # fmt: skip
        path.write_text(bad + "\n")
        with pytest.raises(TaskError, match=words):
            task_settings(load_problem(path), "cpu")
