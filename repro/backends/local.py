"""The local backend: one thread per slot (a GPU index, or None for a CPU worker) on this machine.

Each thread takes a free slot, pins the evaluation to it (`settings.gpu`) and calls `evaluate`, which runs
the candidate in its own process; the thread only waits, so threads are enough to keep every GPU busy.
"""

from __future__ import annotations

import dataclasses
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from repro.harness.settings import EvalSettings
from repro.records.evaluation import EvaluationRecord


class LocalBackend:
    name = "local"

    def __init__(self, slots: list[int | None]) -> None:
        if not slots:
            raise ValueError("the local backend needs at least one GPU or worker")
        self.slots = len(slots)
        self._free: queue.Queue[int | None] = queue.Queue()
        for slot in slots:
            self._free.put(slot)
        self._pool = ThreadPoolExecutor(max_workers=len(slots), thread_name_prefix="eval")

    def submit(
        self, problem: Path, candidate_source: str | bytes, settings: EvalSettings
    ) -> Future[EvaluationRecord]:
        return self._pool.submit(self._run, Path(problem), candidate_source, settings)

    def _run(self, problem: Path, candidate_source: str | bytes, settings: EvalSettings) -> EvaluationRecord:
        from repro.harness import evaluate

        slot = self._free.get()
        try:
            pinned = dataclasses.replace(settings, gpu=slot) if settings.device == "cuda" else settings
            record: EvaluationRecord = evaluate(problem, candidate_source, pinned).to_dict()  # type: ignore[assignment]
            return record
        finally:
            self._free.put(slot)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
