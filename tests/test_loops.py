"""Every loop end to end on the CPU path with offline proposers, plus the run directory's contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repro.cli import main
from repro.loops import LOOPS
from repro.records.ledger import read_jsonl

TASKS = Path(__file__).resolve().parents[1] / "repro" / "tasks"
PROBLEM = Path(__file__).resolve().parents[1] / "repro" / "gauntlet" / "kernels" / "problem_scale_add.py"
FAST = ["--device", "cpu", "--trials", "1", "--timing-iters", "2", "--warmup", "0", "--baselines", "eager",
        "--timeout", "120", "--quiet"]  # fmt: skip


@pytest.fixture(autouse=True)
def harness_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path_factory.getbasetemp() / "loops-cache"))


def run(out: Path, *extra: str, problem: Path = PROBLEM) -> int:
    return main(["run", "--problem", str(problem), "--out", str(out), *FAST, *extra])


LOOP_ARGS = {"evolve": ["--population", "1", "--islands", "1"]}


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_loop_end_to_end(loop: str, tmp_path: Path):
    out = tmp_path / "run"
    assert run(out, "--loop", loop, "--proposer", "mutate", "--budget", "2", *LOOP_ARGS.get(loop, [])) == 0
    traj = read_jsonl(out / "trajectory.jsonl")
    assert [r["index"] for r in traj] == [0, 1]
    seen = set()
    for rec in traj:
        assert set(rec["parents"]) <= seen, "a parent must be evaluated before its child"
        seen.add(rec["id"])
        assert rec["verdict"] == "correct", rec["reason"]
        assert (out / rec["source_path"]).is_file() and rec["proposer"] == "mutate"
    if loop == "best-of-n":
        assert not any(rec["parents"] for rec in traj), "best-of-n samples independently"
    else:
        assert traj[1]["parents"] == ["c0000"], "the loop did not build on the first candidate"
    if loop in ("judge", "bandit", "multi-agent"):
        assert any(rec["strategy"] for rec in traj)
    result = json.loads((out / "result.json").read_text())
    best = max(traj, key=lambda r: r["speedup"])
    assert result["correct"] and result["verdict"] == "correct" and result["id"] == best["id"]
    assert result["speedup"] == best["speedup"] and result["source"] == "best.py"
    assert (out / "best.py").read_text() == (out / best["source_path"]).read_text()
    assert "candidate budget of 2 per task" in result["stop_reason"]
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["candidates"] == 2 and ledger["llm_calls"] == 0


def test_suite_run_and_unsupported_task(tmp_path: Path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "01_gelu.py").write_text((TASKS / "level1" / "01_gelu.py").read_text())
    (suite / "02_causal_attention.py").write_text((TASKS / "level3" / "02_causal_attention.py").read_text())
    out = tmp_path / "run"
    assert main(["run", "--suite", str(suite), "--loop", "best-of-n", "--proposer", "template", "--budget", "1",
                 "--out", str(out), *FAST]) == 0  # fmt: skip
    result = json.loads((out / "result.json").read_text())
    by_task = {t["task"]: t for t in result["tasks"]}
    assert by_task["suite/01_gelu"]["correct"]
    assert (out / "suite" / "01_gelu" / "best.py").is_file()
    attn = by_task["suite/02_causal_attention"]
    assert attn["verdict"] == "no_candidate" and "before the matrix product" in attn["reason"]
    assert result["summary"]["tasks"] == 2 and result["summary"]["correct"] == 1


def test_memory_is_written_and_retrieved(tmp_path: Path):
    from repro.records.memory import MemoryStore

    mem = tmp_path / "mem"
    assert (
        run(
            tmp_path / "a",
            "--loop",
            "best-of-n",
            "--proposer",
            "template",
            "--budget",
            "1",
            "--memory",
            str(mem),
        )
        == 0
    )
    store = MemoryStore(mem)
    result = json.loads((tmp_path / "a" / "result.json").read_text())
    cases = store.cases()
    assert len(cases) == (1 if result["speedup"] > 1.0 else 0)
    signature = json.loads((tmp_path / "a" / "result.json").read_text())["signature"]
    store.add({"signature": signature, "task": "other/gelu", "speedup": 3.0, "source": "x = 1",
               "tunables": {"BLOCK": 1024, "NUM_WARPS": 2}})  # fmt: skip
    store.add({"signature": "rowwise:_softmax", "task": "other/softmax", "speedup": 9.0, "source": "y = 2"})
    got = store.retrieve(signature)
    assert [c["task"] for c in got][0] == "other/gelu" and all(c["task"] != "other/softmax" for c in got)
    # The template proposer tries the remembered configuration first.
    assert (
        run(
            tmp_path / "b",
            "--loop",
            "best-of-n",
            "--proposer",
            "template",
            "--budget",
            "1",
            "--memory",
            str(mem),
        )
        == 0
    )
    first = read_jsonl(tmp_path / "b" / "trajectory.jsonl")[0]
    assert first["operator"] == "template:flat[BLOCK=1024,NUM_WARPS=2]"
    assert first["correct"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--loop", "refine", "--proposer", "replay"], "--replay FILE"),
        (["--loop", "refine", "--proposer", "mutate", "--feedback", "timing,smell"], "unknown channel"),
        (["--loop", "refine", "--proposer", "mutate", "--cost-budget", "1"], "needs --price"),
        (["--loop", "refine", "--proposer", "mutate", "--price", "cheap"], "PROMPT,COMPLETION"),
        (["--loop", "refine", "--proposer", "mutate", "--budget", "0"], "at least 1"),
        (["--loop", "refine", "--proposer", "mutate", "--resume"], "holds no run.json"),
    ],
)
def test_bad_options_are_named(args, message, tmp_path: Path, capsys):
    assert run(tmp_path / "r", *args) == 2
    assert message in capsys.readouterr().err


def test_existing_run_needs_resume_and_same_options(tmp_path: Path, capsys):
    out = tmp_path / "r"
    assert run(out, "--loop", "best-of-n", "--proposer", "template", "--budget", "1") == 0
    assert run(out, "--loop", "best-of-n", "--proposer", "template", "--budget", "1") == 2
    assert "pass --resume" in capsys.readouterr().err
    assert run(out, "--loop", "refine", "--proposer", "template", "--budget", "1", "--resume") == 2
    err = capsys.readouterr().err
    assert "differ from the run" in err and "loop" in err


def test_replay_file_errors(tmp_path: Path):
    from repro.proposers.replay import ReplayProposer

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"source": "x"}\n{not json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not valid JSON"):
        ReplayProposer(bad)
    bad.write_text('{"note": 1}\n')
    with pytest.raises(ValueError, match="needs a 'source' or 'response'"):
        ReplayProposer(bad)
    with pytest.raises(ValueError, match="no such file"):
        ReplayProposer(tmp_path / "missing.jsonl")
