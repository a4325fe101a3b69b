"""The eval, eval-suite and bench-harness commands: exit codes, JSON/CSV outputs, resuming, suite metrics."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from repro.cli import main
from repro.harness import procfs, sandbox
from repro.records.suite_results import suite_metrics
from repro.runners.gauntlet import kernel_source

KERNELS = Path(__file__).parents[1] / "repro" / "gauntlet" / "kernels"
FAST = ["--device", "cpu", "--trials", "2", "--timing-iters", "5", "--warmup", "1", "--baselines", "eager"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path_factory.getbasetemp() / "kernelatlas-cli-cache"))


def _standby_processes() -> int:
    """Candidate processes started ahead (`--standby`) still alive under this process, as /proc shows
    them: one warden each (the worker it starts is its child)."""
    count = 0
    for pid in procfs.descendants(os.getpid()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        count += any(part.endswith(b"warden.py") for part in cmd) and b"--standby" in cmd
    return count


def _ready_cpu() -> list[sandbox.Worker]:
    return sandbox.POOL._ready.get(("cpu", None), [])


def test_eval_exits_zero_on_a_failing_verdict_and_writes_json(tmp_path: Path, capsys) -> None:
    out = tmp_path / "res.json"
    args = ["eval", "--problem", str(KERNELS / "problem_scale_add.py"), "--candidate"]
    wrong = tmp_path / "wrong_output.py"
    wrong.write_text(kernel_source("wrong_output.py"))
    started, ready = sandbox.POOL.started, len(_ready_cpu())  # an earlier test may have left some ready
    rc = main([*args, str(wrong), "--json", str(out), *FAST])
    assert rc == 0
    d = json.loads(out.read_text())
    assert d["verdict"] == "incorrect" and d["correct"] is False and "max abs error" in d["reason"]
    assert "INCORRECT" in capsys.readouterr().out
    # One evaluation and nothing after it: the one candidate process it used, and no replacement
    # started ahead for a next candidate (it would only be killed at exit).
    assert sandbox.POOL.started - started == (0 if ready else 1)
    assert len(_ready_cpu()) == max(0, ready - 1)
    assert _standby_processes() == len(_ready_cpu())


def test_eval_exits_two_on_a_missing_file(tmp_path: Path, capsys) -> None:
    rc = main(
        ["eval", "--problem", str(tmp_path / "nope.py"), "--candidate", str(KERNELS / "good_triton.py")]
    )
    assert rc == 2
    assert "--problem" in capsys.readouterr().err


def test_bench_harness_names_a_missing_candidate(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nope.py"
    rc = main(["bench-harness", "--candidate", str(missing), "--device", "cpu"])
    assert rc == 2
    assert f"--candidate {missing}: no such file" in capsys.readouterr().err


def test_eval_exits_two_when_the_reference_is_broken(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken_problem.py"
    broken.write_text(
        "import torch\n\nclass Model(torch.nn.Module):\n    pass\n\ndef get_inputs():\n    return []\n"
    )
    rc = main(["eval", "--problem", str(broken), "--candidate", str(KERNELS / "good_triton.py"), *FAST])
    assert rc == 2
    err = capsys.readouterr().err
    assert "broken_problem.py" in err and "reference model could not be evaluated" in err


def test_eval_suite_matches_by_name_writes_metrics_and_resumes(tmp_path: Path, capsys) -> None:
    problems, candidates, out = tmp_path / "problems", tmp_path / "cands", tmp_path / "out"
    problems.mkdir(), candidates.mkdir()
    for name in ("a_good", "b_wrong", "c_missing"):
        shutil.copy(KERNELS / "problem_scale_add.py", problems / f"{name}.py")
    shutil.copy(KERNELS / "good_triton.py", candidates / "a_good.py")
    (candidates / "b_wrong.py").write_text(kernel_source("wrong_output.py"))
    args = ["eval-suite", "--problems", str(problems), "--candidates", str(candidates), "--out", str(out)]
    assert main([*args, "--workers", "2", *FAST]) == 0
    summary = json.loads((out / "results.json").read_text())
    verdicts = {r["task"]: r["verdict"] for r in summary["results"]}
    assert verdicts == {
        "problems/a_good": "correct",
        "problems/b_wrong": "incorrect",
        "problems/c_missing": None,
    }
    metrics = dict(csv.reader((out / "metrics.csv").open()))
    assert float(metrics["correct_rate"]) == pytest.approx(1 / 3)
    assert len((out / "evaluations.jsonl").read_text().splitlines()) == 2
    # Several evaluations: a candidate process is kept ready for each of the two workers' next candidate
    # (more only where an earlier test in this process reserved more lanes).
    assert len(_ready_cpu()) >= 2 and all(w.proc.poll() is None for w in _ready_cpu())
    assert _standby_processes() == len(_ready_cpu())
    capsys.readouterr()
    assert main([*args, *FAST]) == 0  # second run: everything already evaluated
    assert len((out / "evaluations.jsonl").read_text().splitlines()) == 2
    assert "1/3 correct" in capsys.readouterr().out


def test_eval_suite_rejects_a_missing_candidates_folder(tmp_path: Path, capsys) -> None:
    rc = main(["eval-suite", "--problems", str(KERNELS), "--candidates", str(tmp_path / "none"), *FAST])
    assert rc == 2 and "not a folder" in capsys.readouterr().err


def test_eval_suite_rejects_a_per_gpu_below_one(tmp_path: Path, capsys) -> None:
    rc = main(["eval-suite", "--problems", str(KERNELS), "--candidates", str(tmp_path), "--device", "cuda",
               "--per-gpu", "0"])  # fmt: skip
    assert rc == 2 and "--per-gpu 0: give at least 1" in capsys.readouterr().err


def test_suite_metrics() -> None:
    rows = [
        {"correct": True, "speedups": {"eager": 2.5, "compile": 1.2}, "sol_fraction": 0.5},
        {"correct": True, "speedups": {"eager": 0.5, "compile": 0.4}, "sol_fraction": 0.1},
        {"correct": False, "speedups": {"eager": 9.0}},
        {"correct": False},
    ]
    m = suite_metrics(rows)
    assert m["correct_rate"] == 0.5
    assert (m["fast_0_eager"], m["fast_1_eager"], m["fast_2_eager"]) == (0.5, 0.25, 0.25)
    assert (m["fast_1_compile"], m["fast_1.5_compile"]) == (0.25, 0.0)
    assert m["geomean_speedup_eager"] == pytest.approx((2.5 * 0.5) ** 0.5)
    assert m["mean_sol_fraction"] == pytest.approx(0.3)


def test_bench_harness_breaks_the_overhead_down_by_phase() -> None:
    from repro.bench.harness import breakdown

    runs = [
        {"phases_s": {"start-up": 0.3, "forward": 0.8}, "parent_s": {"judge": 0.5, "clean up": 1.0}},
        {"phases_s": {"start-up": 0.9, "forward": 1.0}, "parent_s": {"judge": 0.7}},
        {"phases_s": {"start-up": 0.4, "forward": 0.9}, "parent_s": {"judge": 0.6, "clean up": 2.0}},
    ]
    assert breakdown(runs) == {
        "candidate process": {"start-up": 0.4, "forward": 0.9},
        "evaluating process": {"judge": 0.6, "clean up": 1.0},  # a phase a run lacks counts 0 there
    }
