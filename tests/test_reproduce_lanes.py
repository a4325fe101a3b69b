"""`python -m repro reproduce` in parallel lanes (`--workers N` on CPU): the same results as one lane,
every task measured once, one unit's failure confined to its record, Ctrl-C, resuming, bad options."""

from __future__ import annotations

import importlib
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from shared_setup import shared_folder

import repro.runners.reproduction
import repro.tasks
from repro.cli import main

TASKS = ("level1/01_gelu", "level1/02_silu", "level1/07_row_sum")  # cheap, each with a solution
METHODS = ("baselines", "solutions")
FAST = ["--device", "cpu", "--trials", "1", "--timing-iters", "2", "--warmup", "0", "--baselines", "eager",
        "--timeout", "120", "--methods", ",".join(METHODS)]  # fmt: skip


@pytest.fixture(autouse=True)
def three_task_smoke(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The smoke suite cut to three cheap level-1 tasks; a harness cache shared by the tests."""
    monkeypatch.setattr(repro.tasks, "SMOKE", TASKS)
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path_factory.getbasetemp() / "lanes-cache"))


def reproduce(out: Path, *extra: str) -> int:
    return main(["reproduce", "--suite", "smoke", "--out", str(out), "--work", str(out.parent / "work"),
                 *FAST, *extra])  # fmt: skip


def records(out: Path, method: str) -> list[dict[str, Any]]:
    return json.loads((out / "cpu" / "smoke" / f"{method}.json").read_text())["tasks"]


def outcomes(out: Path) -> dict[tuple[str, str], tuple[Any, ...]]:
    """What a run concluded per (method, task), leaving out timings and dates."""
    return {(m, r["task"]): (r["status"], r.get("verdict"), r.get("correct")) for m in METHODS
            for r in records(out, m)}  # fmt: skip


@pytest.fixture(scope="module")
def one_lane(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three tasks reproduced in one lane, once per test run (read only: tests take a copy)."""

    def make(folder: Path) -> None:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(repro.tasks, "SMOKE", TASKS)
            mp.setenv("KERNELATLAS_CACHE", str(tmp_path_factory.getbasetemp() / "lanes-cache"))
            assert reproduce(folder / "results", "--workers", "1", "--quiet") == 0

    return shared_folder(tmp_path_factory, "one-lane", make) / "results"


def test_two_lanes_reach_the_verdicts_of_one_and_a_rerun_skips_them(
    one_lane: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "results"
    assert reproduce(out, "--workers", "2") == 0
    captured = capsys.readouterr()
    assert "6 unit(s) measured, 0 already measured" in captured.out and "on 2 lane(s)" in captured.out
    assert "worker 1]" in captured.err and "worker 2]" in captured.err  # both lanes measured tasks
    for method in METHODS:
        rows = records(out, method)
        assert [r["task"] for r in rows] == list(TASKS)  # every task once, in suite order
        assert all(r["status"] == "measured" and r["gpu_index"] is None for r in rows), rows
    assert outcomes(out) == outcomes(one_lane)
    assert all(v == ("measured", "correct", True) for (m, _), v in outcomes(out).items() if m == "solutions")
    assert reproduce(out, "--workers", "2", "--quiet") == 0
    assert "0 unit(s) measured, 6 already measured" in capsys.readouterr().out


def test_a_unit_that_raises_is_recorded_failed_and_the_other_lane_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    real = repro.runners.reproduction.measure_unit

    def faulty(task: Any, method: str, *args: Any) -> dict[str, Any]:
        if (task.name, method) == (TASKS[0], "baselines"):
            raise RuntimeError("injected fault")
        return real(task, method, *args)

    monkeypatch.setattr(repro.runners.reproduction, "measure_unit", faulty)
    out = tmp_path / "results"
    assert reproduce(out, "--workers", "2", "--quiet") == 0
    assert "6 unit(s) measured" in capsys.readouterr().out
    base = {r["task"]: r for r in records(out, "baselines")}
    assert base[TASKS[0]]["status"] == "failed" and base[TASKS[0]]["reason"] == "RuntimeError: injected fault"
    assert all(base[t]["status"] == "measured" for t in TASKS[1:])
    assert all(r["status"] == "measured" for r in records(out, "solutions"))
    monkeypatch.setattr(repro.runners.reproduction, "measure_unit", real)
    assert reproduce(out, "--workers", "2", "--quiet") == 0  # the failed unit is tried again
    assert "1 unit(s) measured, 5 already measured" in capsys.readouterr().out
    assert all(r["status"] == "measured" for r in records(out, "baselines"))


def test_ctrl_c_keeps_finished_units_stops_the_lanes_and_a_rerun_measures_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    real = repro.runners.reproduction.measure_unit

    def interrupting(task: Any, method: str, *args: Any) -> dict[str, Any]:
        record = real(task, method, *args)
        if (task.name, method) == (TASKS[0], "baselines"):
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C
        time.sleep(1)  # every unit ends well after the main thread has seen it
        return record

    monkeypatch.setattr(repro.runners.reproduction, "measure_unit", interrupting)
    out = tmp_path / "results"
    assert reproduce(out, "--workers", "2", "--quiet") == 130
    err = capsys.readouterr().err
    assert "finishing the units in progress" in err and "finished units are kept" in err
    base, sol = ({r["task"]: r for r in records(out, m)} for m in METHODS)
    first = base[TASKS[0]]
    assert first["status"] == "measured"  # finished before Ctrl-C: kept
    assert sol[TASKS[0]]["status"] == "not_run"  # its lane started no further unit
    assert base[TASKS[2]]["status"] == sol[TASKS[2]]["status"] == "not_run"  # no lane took a new task
    kept = sum(r["status"] == "measured" for m in (base, sol) for r in m.values())
    monkeypatch.setattr(repro.runners.reproduction, "measure_unit", real)
    assert reproduce(out, "--workers", "2", "--quiet") == 0
    assert f"{6 - kept} unit(s) measured, {kept} already measured" in capsys.readouterr().out
    assert all(r["status"] == "measured" for m in METHODS for r in records(out, m))
    assert {r["task"]: r for r in records(out, "baselines")}[TASKS[0]] == first


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--gpus", "0,1"], "--gpus needs --device cuda; on CPU give --workers N"),
        (["--device", "cuda", "--workers", "2"], "--workers applies to --device cpu; on GPUs give --gpus"),
        (["--device", "cuda", "--gpus", "0,x"], "--gpus '0,x': give comma-separated GPU indices"),
        (["--device", "cuda", "--gpus", "1,1"], "--gpus '1,1': name each GPU once"),
        (["--backend", "ray", "--workers", "2"], "--workers applies to --backend local"),
        (["--tasks", "level1/99_nope"], "--tasks: ['level1/99_nope'] not in --suite smoke"),
    ],
)
def test_bad_lane_options_exit_2_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture, extra: list[str], message: str
) -> None:
    assert reproduce(tmp_path / "results", *extra) == 2
    assert message in capsys.readouterr().err


def test_gpus_of_different_models_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    names = {0: "NVIDIA H100 80GB HBM3", 1: "NVIDIA A100-SXM4-40GB"}  # what nvidia-smi would report
    monkeypatch.setattr(importlib.import_module("repro.harness.evaluate"), "_gpu_name", names.get)
    assert reproduce(tmp_path / "results", "--device", "cuda", "--gpus", "0,1") == 2
    err = capsys.readouterr().err
    assert "different models (0: NVIDIA H100 80GB HBM3, 1: NVIDIA A100-SXM4-40GB)" in err
    assert "run each model separately" in err


def test_tasks_remeasures_only_the_named_task_and_keeps_the_others(
    one_lane: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    out = tmp_path / "results"
    shutil.copytree(one_lane, out)
    before = {m: {r["task"]: r for r in records(out, m)} for m in METHODS}
    assert reproduce(out, "--tasks", TASKS[1], "--force", "--quiet") == 0
    assert "2 unit(s) measured, 0 already measured" in capsys.readouterr().out
    for m in METHODS:
        after = {r["task"]: r for r in records(out, m)}
        assert after[TASKS[0]] == before[m][TASKS[0]] and after[TASKS[2]] == before[m][TASKS[2]]
        assert after[TASKS[1]]["date"] >= before[m][TASKS[1]]["date"]
        assert after[TASKS[1]]["status"] == "measured"
