"""Resume after a killed run, exact replay, budget enforcement, and the API key never reaching disk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.cli import main
from repro.records.ledger import read_jsonl
from tests.llm_server import LLMServer, code_answer

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "repro" / "gauntlet" / "kernels" / "problem_scale_add.py"
GOOD = (ROOT / "repro" / "gauntlet" / "kernels" / "good_triton.py").read_text()
KEY = "sk-test-NEVER-ON-DISK-93b2"
FAST = ["--device", "cpu", "--trials", "1", "--timing-iters", "2", "--warmup", "0", "--baselines", "eager",
        "--timeout", "120", "--quiet", "--problem", str(PROBLEM)]  # fmt: skip
EVOLVE = ["--loop", "evolve", "--proposer", "mutate", "--budget", "5", "--population", "2", "--islands", "1"]


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path_factory.getbasetemp() / "loops-cache"
    monkeypatch.setenv("KERNELATLAS_CACHE", str(path))
    return path


def test_killed_run_resumes_without_repeating_or_losing(tmp_path: Path, cache: Path):
    out = tmp_path / "run"
    env = {**os.environ, "KERNELATLAS_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "repro", "run", *FAST, *EVOLVE, "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while len(read_jsonl(out / "trajectory.jsonl")) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the run produced no candidates in time"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    before = read_jsonl(out / "trajectory.jsonl")
    assert 2 <= len(before) < 5

    assert main(["run", *FAST, *EVOLVE, "--out", str(out), "--resume"]) == 0
    after = read_jsonl(out / "trajectory.jsonl")
    assert [r["index"] for r in after] == [0, 1, 2, 3, 4], "a candidate was evaluated twice or lost"
    assert after[: len(before)] == before, "finished candidates were evaluated again"
    proposals = [r["index"] for r in read_jsonl(out / "proposals.jsonl")]
    assert sorted(proposals) == sorted(set(proposals)) == [0, 1, 2, 3, 4], "a proposal was asked for twice"
    result = json.loads((out / "result.json").read_text())
    assert result["candidates"] == 5 and result["ledger"]["candidates"] == 5

    # The recorded proposals replay the same candidates (lineage may differ: timings are measured anew).
    again = tmp_path / "replay"
    replay = ["--loop", "evolve", "--proposer", "replay", "--replay", str(out / "proposals.jsonl"),
              "--budget", "5", "--population", "2", "--islands", "1"]  # fmt: skip
    assert main(["run", *FAST, *replay, "--out", str(again)]) == 0
    replayed = read_jsonl(again / "trajectory.jsonl")
    assert [r["source_sha256"] for r in replayed] == [r["source_sha256"] for r in after]


def llm_run(out: Path, server: LLMServer, *extra: str) -> dict:
    status = main(["run", *FAST, "--loop", "refine", "--proposer", "openai", "--model", "test-model",
                   "--base-url", server.base_url, "--llm-timeout", "5", "--llm-retries", "1",
                   "--out", str(out), *extra])  # fmt: skip
    assert status == 0
    return json.loads((out / "result.json").read_text())


def test_llm_call_budget_and_key_never_written(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = tmp_path / "run"
    with LLMServer(["prose", code_answer(GOOD)]) as server:
        result = llm_run(out, server, "--budget", "5", "--call-budget", "2", "--price", "1,2")
    assert "LLM call budget of 2 reached" in result["stop_reason"]
    traj = read_jsonl(out / "trajectory.jsonl")
    assert [r["verdict"] for r in traj] == ["no_candidate", "correct"]
    assert "no ```python code block" in traj[0]["reason"]
    assert result["correct"] and result["id"] == "c0001"
    ledger = json.loads((out / "ledger.json").read_text())
    assert ledger["llm_calls"] == 2 and ledger["prompt_tokens"] > 0 and ledger["cost_usd"] > 0
    assert len(server.requests) == 2
    for path in [*out.rglob("*"), *cache.rglob("*")]:
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"the API key was written to {path}"

    # Export: a reward record per candidate, an SFT example for the accepted improvement.
    assert main(["export", str(out), "--out", str(tmp_path / "data"), "--min-gain", "0"]) == 0
    rewards = read_jsonl(tmp_path / "data" / "rewards.jsonl")
    assert [(r["compiled"], r["correct"]) for r in rewards] == [(False, False), (True, True)]
    assert rewards[1]["speedup"] == traj[1]["speedup"] and "class ModelNew" in rewards[1]["completion"]
    sft = read_jsonl(tmp_path / "data" / "sft.jsonl")
    assert len(sft) == 1 and [m["role"] for m in sft[0]["messages"]] == ["system", "user", "assistant"]
    assert sft[0]["messages"][-1]["content"] == code_answer(GOOD)
    assert sft[0]["messages"][:2] == server.requests[1]["body"]["messages"]
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "none")]) == 2


def test_token_and_time_budgets(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with LLMServer(["prose"]) as server:
        result = llm_run(tmp_path / "tokens", server, "--budget", "5", "--token-budget", "10")
        assert "token budget of 10 reached" in result["stop_reason"] and result["candidates"] == 1
        result = llm_run(tmp_path / "time", server, "--budget", "5", "--time-budget", "0.001")
        # The clock starts before the first check, which may come within the millisecond.
        assert "wall-time budget of 0.001 s reached" in result["stop_reason"] and result["candidates"] <= 1
    assert len(server.requests) <= 2
