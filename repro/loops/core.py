"""The common core of the agentic loops: candidates with lineage, one step = propose + evaluate, replay.

Every loop is a short function over a `LoopRun`: it asks `run.step(parents, strategy, feedback)` for
new candidates and decides what to keep. The core does the rest the same way for all of them:
proposing (with retrieved memory), evaluating in the harness's isolated process, recording proposals
and candidates in the ledger, enforcing budgets (a step raises BudgetExhausted), and, on a resumed run,
handing back recorded proposals and evaluations instead of producing them again. Loops draw random
numbers only from `run.rng`, so a replayed run takes exactly the same decisions.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.backends import Backend
from repro.loops.feedback import CHANNELS, format_feedback
from repro.proposers.base import Parent, Proposal, ProposalContext, Proposer
from repro.records.ledger import BudgetExhausted, Ledger
from repro.records.memory import MemoryStore
from repro.records.trajectory import FORMAT_VERSION as TRAJECTORY_VERSION
from repro.records.verdicts import Verdict
from repro.tasks import Task

if TYPE_CHECKING:  # `python -m repro run --help` imports the loops for their flags; the harness imports torch
    from repro.harness import EvalSettings


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Candidate:
    task: str
    index: int
    parents: list[str]
    operator: str
    strategy: str | None
    proposer: str
    source: str | None
    result: dict[str, Any]
    usage: dict[str, Any] = field(default_factory=dict)
    eval_s: float = 0.0

    @property
    def id(self) -> str:
        return f"c{self.index:04d}"

    @property
    def correct(self) -> bool:
        return self.result.get("verdict") == Verdict.CORRECT

    @property
    def speedup(self) -> float | None:
        return self.result.get("speedup")

    @property
    def score(self) -> float:
        """Fitness: speedup when correct, else below any correct candidate."""
        return (self.speedup or 0.0) if self.correct else -1.0

    def as_parent(self) -> Parent:
        return Parent(self.id, self.source or "", self.result, self.operator)

    def record(self, source_path: str) -> dict[str, Any]:
        r = self.result
        return {
            "format_version": TRAJECTORY_VERSION, "task": self.task, "index": self.index, "id": self.id, "parents": self.parents,
            "operator": self.operator, "strategy": self.strategy, "proposer": self.proposer,
            "usage": self.usage, "verdict": r.get("verdict"), "correct": self.correct,
            "reason": r.get("reason", ""), "speedup": self.speedup, "speedups": r.get("speedups") or {},
            "candidate_ms": (r.get("candidate_ms") or {}).get("median"),
            "baseline_ms": {k: v.get("median") for k, v in (r.get("baseline_ms") or {}).items()},
            "sol_fraction": r.get("sol_fraction"), "compile_ms": r.get("compile_ms"),
            "eval_s": round(self.eval_s, 3), "source_path": source_path,
            "source_sha256": sha256(self.source) if self.source is not None else None,
            "time": time.time(), "result": r,
        }  # fmt: skip


def _no_candidate(reason: str) -> dict[str, Any]:
    return {"correct": False, "verdict": Verdict.NO_CANDIDATE, "reason": reason}


class LoopRun:
    """One task under one loop: history, best, proposer access, evaluation and bookkeeping."""

    def __init__(
        self,
        task: Task,
        proposer: Proposer,
        settings: EvalSettings,
        ledger: Ledger,
        run_dir: Path,
        *,
        seed: int = 0,
        memory: MemoryStore | None = None,
        channels: tuple[str, ...] = CHANNELS,
        hardware: str = "",
        on_candidate: Any = None,
        backend: Backend | None = None,
    ) -> None:
        from repro.proposers.template import task_trace

        self.task = task
        self.proposer = proposer
        self.settings = settings
        self.ledger = ledger
        self.run_dir = run_dir
        self.seed = seed
        self.channels = channels
        self.hardware = hardware
        self.on_candidate = on_candidate
        self.backend = backend  # where candidates are evaluated (repro.backends); None: in this thread
        self.problem_source = task.path.read_text()
        self.rng = random.Random(f"{seed}:{task.name}")
        self.history: list[Candidate] = []
        try:
            trace = task_trace(task.path)
            self.family, self.signature = trace.family, trace.signature
        except Exception as exc:  # a reference the tracer cannot run still gets LLM proposals
            self.family, self.signature = "unknown", f"unknown:{type(exc).__name__}"
        self.memory = memory
        self.memory_cases = memory.retrieve(self.signature, exclude_task=task.name) if memory else []

    # -- state -----------------------------------------------------------------------------------------
    @property
    def best(self) -> Candidate | None:
        correct = [c for c in self.history if c.correct]
        return max(correct, key=lambda c: c.score) if correct else None

    def by_id(self, cid: str) -> Candidate:
        return self.history[int(cid[1:])]

    def feedback(self, cand: Candidate) -> str:
        return f"[{cand.id}, {cand.operator}]\n" + format_feedback(cand.result, self.family, self.channels)

    # -- one step --------------------------------------------------------------------------------------
    def step(
        self,
        parents: Sequence[Candidate] = (),
        strategy: str | None = None,
        feedback: str = "",
        precheck: Any = None,
    ) -> Candidate:
        """Propose and evaluate one candidate (or take both from the record of an earlier session)."""
        index = len(self.history)
        key = (self.task.name, index)
        recorded = self.ledger.recorded_candidates.get(key)
        if recorded is None:
            self.ledger.check(index)
        proposal = self._propose(index, list(parents), strategy, feedback)
        if recorded is not None:
            cand = self._replayed(recorded, proposal)
        else:
            cand = self._evaluate(index, proposal, list(parents), strategy, precheck)
        self.history.append(cand)
        if self.on_candidate:
            self.on_candidate(cand)
        return cand

    def _propose(self, index: int, parents: list[Candidate], strategy: str | None, feedback: str) -> Proposal:
        rec = self.ledger.recorded_proposals.get((self.task.name, index))
        if rec is not None:
            proposal = Proposal.from_dict(rec["proposal"])
            self.ledger.charge(proposal.usage)
            return proposal
        ctx = ProposalContext(
            task=self.task, problem_source=self.problem_source, attempt=index, seed=self.seed,
            device=self.settings.device, parents=[p.as_parent() for p in parents], feedback=feedback,
            strategy=strategy, memory=self.memory_cases, hardware=self.hardware,
        )  # fmt: skip
        proposal = self.proposer.propose(ctx)
        self.ledger.charge(proposal.usage)
        self.ledger.record_proposal({"task": self.task.name, "index": index, "proposal": proposal.to_dict()})
        return proposal

    def _source_path(self, index: int) -> Path:
        return self.run_dir / "candidates" / self.task.name.replace("/", "__") / f"c{index:04d}.py"

    def _evaluate(
        self, index: int, proposal: Proposal, parents: list[Candidate], strategy: str | None, precheck: Any
    ) -> Candidate:
        """Evaluate in the harness; `precheck(source) -> reason | None` may refuse it first (a tester role)."""
        t0 = time.monotonic()
        refused = precheck(proposal.source) if precheck and proposal.source is not None else None
        if proposal.source is None:
            result = _no_candidate(proposal.reason or "the proposer returned no code")
        elif refused:
            result = {"correct": False, "verdict": Verdict.TESTER_REJECTED, "reason": refused}
        elif self.backend is not None:
            result = dict(self.backend.submit(self.task.path, proposal.source, self.settings).result())
        else:
            from repro.harness import evaluate

            result = evaluate(self.task.path, proposal.source, self.settings).to_dict()
        eval_s = time.monotonic() - t0
        self.ledger.charge_eval(
            eval_s, on_gpu=self.settings.device == "cuda" and "candidate_sha256" in result
        )
        cand = Candidate(self.task.name, index, [p.id for p in parents], proposal.operator, strategy,
                         self.proposer.name, proposal.source, result, proposal.usage, eval_s)  # fmt: skip
        rel = ""
        if proposal.source is not None:
            path = self._source_path(index)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(proposal.source)
            tmp.replace(path)
            rel = str(path.relative_to(self.run_dir))
        self.ledger.record_candidate(cand.record(rel))
        return cand

    def _replayed(self, rec: dict[str, Any], proposal: Proposal) -> Candidate:
        if rec.get("source_sha256") != (sha256(proposal.source) if proposal.source is not None else None):
            raise RuntimeError(
                f"{self.run_dir}: candidate {rec['id']} of {self.task.name} was recorded from a different "
                "proposal; the run diverged from its record (start a fresh --out directory)"
            )
        on_gpu = self.settings.device == "cuda" and proposal.source is not None
        self.ledger.charge_eval(rec.get("eval_s", 0.0), on_gpu=on_gpu)
        return Candidate(rec["task"], rec["index"], rec["parents"], rec["operator"], rec["strategy"],
                         rec["proposer"], proposal.source, rec["result"], rec.get("usage") or {},
                         rec.get("eval_s", 0.0))  # fmt: skip


__all__ = ["BudgetExhausted", "Candidate", "LoopRun"]
