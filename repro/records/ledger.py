"""The run's ledger: what was proposed and evaluated, what it cost, and the budgets that stop a run.

Everything is append-only JSON lines, flushed and fsynced per record, so a run killed at any moment
loses at most the candidate in flight. `proposals.jsonl` gets a line as soon as a proposer answers (an
LLM response is paid for, so a resumed run must not ask again); `trajectory.jsonl` gets a line once
the candidate is evaluated. A resumed run replays its loop deterministically and takes each proposal
and evaluation it already has from these files instead of producing it again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic

__all__ = ["Budget", "BudgetExhausted", "Ledger", "read_jsonl", "write_json_atomic"]


class BudgetExhausted(Exception):
    """A budget ran out; the message names which one. `scope` is "task" (go on with the next task) or "run"."""

    def __init__(self, message: str, scope: str = "run") -> None:
        super().__init__(message)
        self.scope = scope


@dataclass(frozen=True)
class Budget:
    """Limits for one run. `candidates` is per task; the others cover the whole run (None: no limit)."""

    candidates: int = 8
    llm_calls: int | None = None
    tokens: int | None = None
    wall_s: float | None = None
    cost_usd: float | None = None

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("--budget must be at least 1 candidate per task")
        for name in ("llm_calls", "tokens", "wall_s", "cost_usd"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"budget {name} must be positive, got {value}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Complete lines of a JSON-lines file; a torn last line (the process was killed mid-write) is dropped."""
    if not path.is_file():
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.endswith("\n"):
                break  # torn write
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{path}:{number}: not valid JSON ({exc.msg}); the run directory is damaged"
                ) from None
    return records


def _append(path: Path, record: dict[str, Any]) -> None:
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    with open(path, "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _truncate_torn(path: Path) -> None:
    """Drop a partial last line so that new records start on a line of their own."""
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        path.write_bytes(data[: data.rfind(b"\n") + 1])


class Ledger:
    """Counters, budgets and the two logs of one run directory; safe to share between task threads."""

    def __init__(self, run_dir: Path, budget: Budget, prices: dict[str, float] | None = None) -> None:
        self.dir = run_dir
        self.budget = budget
        self.prices = prices or {}  # USD per 1M tokens: {"prompt": p, "completion": c}
        self.proposals_path = run_dir / "proposals.jsonl"
        self.trajectory_path = run_dir / "trajectory.jsonl"
        self.state_path = run_dir / "ledger.json"
        self.totals = {"llm_calls": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
                       "candidates": 0, "gpu_s": 0.0, "eval_s": 0.0}  # fmt: skip
        self.prior_wall_s = 0.0
        self.started = time.monotonic()
        self.recorded_proposals: dict[tuple[str, int], dict[str, Any]] = {}
        self.recorded_candidates: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.RLock()  # tasks of a suite may run in parallel threads

    # -- resume ----------------------------------------------------------------------------------------
    def load(self) -> None:
        """Read what an earlier, interrupted session of this run left behind."""
        for path in (self.proposals_path, self.trajectory_path):
            _truncate_torn(path)
        for rec in read_jsonl(self.proposals_path):
            self.recorded_proposals[(rec["task"], rec["index"])] = rec
        for rec in read_jsonl(self.trajectory_path):
            self.recorded_candidates[(rec["task"], rec["index"])] = rec
        if self.state_path.is_file():
            self.prior_wall_s = float(json.loads(self.state_path.read_text()).get("wall_s", 0.0))

    # -- accounting ------------------------------------------------------------------------------------
    @property
    def wall_s(self) -> float:
        return self.prior_wall_s + time.monotonic() - self.started

    @property
    def tokens(self) -> int:
        return int(self.totals["prompt_tokens"] + self.totals["completion_tokens"])

    def charge(self, usage: dict[str, Any]) -> None:
        """Add one proposal's LLM usage (calls, retries, tokens) and its price."""
        with self._lock:
            for key in ("llm_calls", "retries", "prompt_tokens", "completion_tokens"):
                self.totals[key] += int(usage.get(key, 0))
            cost = (usage.get("prompt_tokens", 0) * self.prices.get("prompt", 0.0)
                    + usage.get("completion_tokens", 0) * self.prices.get("completion", 0.0)) / 1e6  # fmt: skip
            usage["cost_usd"] = round(cost, 8)
            self.totals["cost_usd"] += cost

    def charge_eval(self, seconds: float, on_gpu: bool) -> None:
        with self._lock:
            self.totals["candidates"] += 1
            self.totals["eval_s"] += seconds
            if on_gpu:
                self.totals["gpu_s"] += seconds

    def check(self, task_candidates: int) -> None:
        """Raise BudgetExhausted if another candidate for this task would exceed a budget."""
        b = self.budget
        if task_candidates >= b.candidates:
            raise BudgetExhausted(f"candidate budget of {b.candidates} per task reached", scope="task")
        if b.llm_calls is not None and self.totals["llm_calls"] >= b.llm_calls:
            raise BudgetExhausted(f"LLM call budget of {b.llm_calls} reached")
        if b.tokens is not None and self.tokens >= b.tokens:
            raise BudgetExhausted(f"token budget of {b.tokens} reached")
        if b.cost_usd is not None and self.totals["cost_usd"] >= b.cost_usd:
            raise BudgetExhausted(f"cost budget of ${b.cost_usd} reached")
        if b.wall_s is not None and self.wall_s >= b.wall_s:
            raise BudgetExhausted(f"wall-time budget of {b.wall_s:g} s reached")

    # -- records ---------------------------------------------------------------------------------------
    def record_proposal(self, record: dict[str, Any]) -> None:
        with self._lock:
            _append(self.proposals_path, record)

    def record_candidate(self, record: dict[str, Any]) -> None:
        with self._lock:
            _append(self.trajectory_path, record)
            self.save()

    def save(self) -> None:
        with self._lock:
            write_json_atomic(self.state_path, {**self.totals, "wall_s": round(self.wall_s, 3)})

    def snapshot(self) -> dict[str, Any]:
        return {**{k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.totals.items()},
                "tokens": self.tokens, "wall_s": round(self.wall_s, 3)}  # fmt: skip
