"""What every backend provides: `submit` returning a future of the result, `close`, and how many
evaluations run at once (`slots`); and the error a backend raises when it gives up on an evaluation."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # `python -m repro --help` imports this; the harness package imports torch
    from repro.harness.settings import EvalSettings
    from repro.records.evaluation import EvaluationRecord


class EvaluationLost(Exception):
    """An evaluation's worker or node died more often than the backend retries; resume to try again."""


class Backend(Protocol):
    name: str
    slots: int

    def submit(
        self, problem: Path, candidate_source: str | bytes, settings: EvalSettings
    ) -> Future[EvaluationRecord]:
        """Start one evaluation; the future holds `EvalResult.to_dict()`."""
        ...

    def close(self) -> None: ...
