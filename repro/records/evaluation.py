"""Evaluation results: what the harness returns for one candidate (`EvalResult.to_dict()`), what every
backend's future holds, and what `python -m repro eval --json` writes. Files carry `format` and
`format_version`; a result written before they existed reads as version 1."""

from __future__ import annotations

from typing import Any, TypedDict

from repro.records.schema import FormatError, check_version
from repro.records.verdicts import verdict_of

FORMAT = "kernelatlas-evaluation"
FORMAT_VERSION = 1
KNOWN_VERSIONS = (1,)
# The baselines the harness can time, the keys of a record's `baseline_ms` and `speedups`: `cuda-graph` is
# eager captured once as a CUDA graph and replayed (eager without launch overhead; CUDA only). Here, not in
# the harness, so that a command checks `--baselines` before torch is loaded.
BASELINE_NAMES = ("eager", "compile", "cuda-graph")


class EvaluationRecord(TypedDict, total=False):
    """The fields of one evaluation (see repro/harness/README.md for what each check records)."""

    format: str
    format_version: int
    correct: bool
    verdict: str  # a repro.records.verdicts.Verdict value
    reason: str
    problem: str
    candidate_sha256: str
    speedup: float | None
    speedups: dict[str, float | None]
    baseline: str | None
    baseline_ms: dict[str, Any]
    candidate_ms: dict[str, Any] | None
    compile_ms: float | None
    sol_fraction: float | None
    timing: str | None
    ops: dict[str, int]
    reference_ops: dict[str, int]
    shapes: list[dict[str, Any]]
    checks: dict[str, Any]
    overhead: dict[str, float]
    provenance: dict[str, Any]
    detail: str


def stamp(record: dict[str, Any]) -> dict[str, Any]:
    """`record` as a file: the format and its version first."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, **record}


def read_evaluation(data: Any) -> EvaluationRecord:
    """Check a parsed evaluation result (its version, verdict and `correct`); FormatError otherwise."""
    check_version(
        data, format_name=FORMAT, known=KNOWN_VERSIONS, writer="`python -m repro eval`", legacy=True
    )
    verdict_of(data.get("verdict"), "`verdict`")
    if not isinstance(data.get("correct"), bool):
        raise FormatError("`correct` must be true or false")
    result: EvaluationRecord = data
    return result
