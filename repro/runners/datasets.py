"""Run trajectories to datasets for the survey's LLM4Kernel stream.

From one or more run directories this writes `sft.jsonl`, chat-format supervised examples of accepted
improvements (a correct candidate more than --min-gain times faster than its best correct parent, or
than the reference when it has none; 0 keeps every correct candidate), and `rewards.jsonl`, one
record per evaluated candidate with the signals RL recipes use (compiled, correct, speedup). Prompts are the ones the model saw when the run used an LLM; for offline
proposers they are rebuilt with the same prompt builder from the parent and its recorded feedback.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from repro.records.verdicts import NOT_COMPILED


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, sort_keys=True) + "\n")
    os.replace(tmp, path)


def _messages(rec: dict, proposal: dict, by_id: dict[str, dict], run_dir: Path) -> list[dict[str, str]]:
    if proposal.get("messages"):
        return proposal["messages"]
    from repro.loops.feedback import format_feedback
    from repro.proposers.base import Parent, ProposalContext
    from repro.proposers.prompts import build_messages
    from repro.tasks import Task

    problem = Path(rec["result"].get("problem") or "")
    parents = [by_id[p] for p in rec["parents"] if p in by_id and by_id[p].get("source_path")]
    ctx = ProposalContext(
        task=Task(rec["task"], 0, problem, None),
        problem_source=problem.read_text() if problem.is_file() else "",
        attempt=rec["index"], seed=0, device="",
        parents=[Parent(p["id"], (run_dir / p["source_path"]).read_text(), p["result"]) for p in parents],
        feedback="\n\n".join(format_feedback(p["result"], "") for p in parents), strategy=rec.get("strategy"),
    )  # fmt: skip
    return build_messages(ctx)


def export_run(run_dir: Path, min_gain: float) -> tuple[list[dict], list[dict]]:
    from repro.records.ledger import read_jsonl
    from repro.records.trajectory import read_trajectory

    trajectory = read_trajectory(run_dir / "trajectory.jsonl")
    if not trajectory:
        raise ValueError(f"{run_dir}: no trajectory.jsonl with candidates (is it a run directory?)")
    proposals = {(r["task"], r["index"]): r["proposal"] for r in read_jsonl(run_dir / "proposals.jsonl")}
    config = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    sft: list[dict[str, Any]] = []
    rewards: list[dict[str, Any]] = []
    by_task: dict[str, dict[str, dict]] = {}
    for rec in trajectory:
        by_task.setdefault(rec["task"], {})[rec["id"]] = rec
    for rec in trajectory:
        proposal = proposals.get((rec["task"], rec["index"]), {})
        source = (run_dir / rec["source_path"]).read_text() if rec.get("source_path") else None
        meta = {"run": str(run_dir), "task": rec["task"], "id": rec["id"], "loop": config.get("loop"),
                "proposer": rec["proposer"], "model": config.get("model"), "operator": rec["operator"]}  # fmt: skip
        rewards.append({**meta, "compiled": rec["verdict"] not in NOT_COMPILED, "correct": rec["correct"],
                        "verdict": rec["verdict"], "speedup": rec["speedup"],
                        "speedups": rec.get("speedups") or {}, "completion": proposal.get("response") or source})  # fmt: skip
        if not rec["correct"] or source is None:
            continue
        parent_speedups = [by_task[rec["task"]][p]["speedup"] or 0.0 for p in rec["parents"]
                           if by_task[rec["task"]].get(p, {}).get("correct")]  # fmt: skip
        baseline = max(parent_speedups) if parent_speedups else 1.0
        if (rec["speedup"] or 0.0) <= baseline * min_gain:
            continue
        answer = proposal.get("response") or f"```python\n{source.strip()}\n```"
        messages = _messages(rec, proposal, by_task[rec["task"]], run_dir)
        sft.append({"messages": [*messages, {"role": "assistant", "content": answer}],
                    "metadata": {**meta, "speedup": rec["speedup"], "gain": (rec["speedup"] or 0.0) / baseline}})  # fmt: skip
    return sft, rewards
