"""Correct kernel that fails at import if it can see secrets or harness files."""

from pathlib import Path

_leaks = [k for k in os.environ if "KEY" in k or "TOKEN" in k or k.startswith("KERNELATLAS")]
_files = sorted(p.name for p in Path.cwd().iterdir())
_expected = {"plan.json", "progress.jsonl", "worker.log", "problem.py", "tmp", "triton"}
_unexpected = [f for f in _files if f not in _expected and not f.startswith("candidate_")]
if _leaks or _unexpected:
    raise RuntimeError(f"visible to the candidate: env {_leaks}, files {_unexpected}")


class ModelNew(Honest):
    def forward(self, x, y):
        return honest(self.weight, x, y)
