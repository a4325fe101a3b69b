"""The outcome of one evaluation, JSON-ready."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from repro.records.verdicts import HARNESS_VERDICTS

VERDICTS = tuple(v.value for v in HARNESS_VERDICTS)  # the harness's part of repro.records.verdicts


@dataclass
class EvalResult:
    """`speedup` is against the first baseline that ran (eager by default); `speedups` holds all."""

    verdict: str
    reason: str
    problem: str
    candidate_sha256: str
    speedup: float | None = None
    speedups: dict[str, float | None] = field(default_factory=dict)
    baseline: str | None = None
    baseline_ms: dict[str, Any] = field(default_factory=dict)
    candidate_ms: dict[str, Any] | None = None
    compile_ms: float | None = None
    sol_fraction: float | None = None
    timing: str | None = None
    ops: dict[str, int] = field(default_factory=dict)
    reference_ops: dict[str, int] = field(default_factory=dict)
    shapes: list[dict[str, Any]] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    overhead: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    detail: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}")

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, **dataclasses.asdict(self)}

    def summary_text(self) -> str:
        """A few lines for people."""
        lines = [f"{self.problem}: {self.verdict.upper()} — {self.reason}"]
        if self.candidate_ms and self.candidate_ms.get("median") is not None:
            c = self.candidate_ms
            lines.append(
                f"  candidate {c['median']:.4f} ms (p10 {c['p10']:.4f}, p90 {c['p90']:.4f}, n={c['n']})"
                + (f", first call {self.compile_ms:.0f} ms" if self.compile_ms is not None else "")
            )
        for kind, b in self.baseline_ms.items():
            if b.get("median") is not None:
                sp = self.speedups.get(kind)
                lines.append(f"  {kind:8s}  {b['median']:.4f} ms" + (f"  speedup {sp:.3f}x" if sp else ""))
            elif b.get("error"):
                lines.append(f"  {kind:8s}  failed: {b['error']}")
        if self.sol_fraction is not None:
            lines.append(f"  speed-of-light fraction {self.sol_fraction:.3f}")
        if self.timing:
            lines.append(f"  timing: {self.timing}")
        dev = self.provenance.get("name")
        if dev:
            lines.append(
                f"  device {dev}, torch {self.provenance.get('torch')}, triton {self.provenance.get('triton')}"
            )
        return "\n".join(lines)
