"""Cross-task memory: improvements found on one task, retrieved for others by operator signature.

This is the survey's "external memory" mechanism in its simplest useful form, a case repository.
Each accepted improvement is one JSON file (written atomically, so several runs may share a store);
retrieval returns cases with the same signature first, then cases of the same operator family ranked
by how many compute ops they share. Proposers use retrieved cases as they can: the template proposer
tries a case's configuration first, the mutate proposer starts from its tunables, an LLM sees its code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic


def _ops(signature: str) -> tuple[str, set[str]]:
    family, _, ops = signature.partition(":")
    return family, set(filter(None, ops.split("+")))


class MemoryStore:
    """A directory of cases: {signature, task, speedup, tunables, operator, strategy, source}."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"--memory {self.root}: exists and is not a directory")
        self.root.mkdir(parents=True, exist_ok=True)

    def add(self, case: dict[str, Any]) -> Path:
        """Store a case; the same task and source stored twice keeps one file (the better speedup)."""
        for key in ("signature", "task", "speedup", "source"):
            if key not in case:
                raise ValueError(f"memory case lacks {key!r}")
        digest = hashlib.sha256(f"{case['task']}\n{case['source']}".encode()).hexdigest()[:16]
        path = self.root / f"{digest}.json"
        if path.is_file() and json.loads(path.read_text()).get("speedup", 0) >= case["speedup"]:
            return path
        write_json_atomic(path, case)
        return path

    def cases(self) -> list[dict[str, Any]]:
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):
                continue  # a case being written by another run; it will be there next time
        return found

    def retrieve(self, signature: str, k: int = 3, exclude_task: str | None = None) -> list[dict[str, Any]]:
        """Up to k cases most like `signature`: same signature, else same family with shared ops."""
        family, ops = _ops(signature)
        scored = []
        for case in self.cases():
            if case.get("task") == exclude_task:
                continue
            c_family, c_ops = _ops(case["signature"])
            if case["signature"] == signature:
                score = 2.0
            elif c_family == family:
                score = len(ops & c_ops) / max(1, len(ops | c_ops))
            else:
                continue
            scored.append((score, case.get("speedup", 0.0), case))
        scored.sort(key=lambda t: (t[0], t[1]), reverse=True)
        return [case for _, _, case in scored[:k]]
