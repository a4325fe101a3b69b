"""The local backend: one thread per slot (a GPU index, or None for a CPU worker) on this machine.

A GPU may appear in several slots: its candidates then share it except while one is timed.

Each thread takes a free slot, pins the evaluation to it (`settings.gpu`) and calls `evaluate`, which runs
the candidate in its own process; the thread only waits, so threads are enough to keep every GPU busy.
"""

from __future__ import annotations

import dataclasses
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports PER_GPU and gpu_slots to parse arguments; the harness imports torch
    from repro.harness.settings import EvalSettings
    from repro.records.evaluation import EvaluationRecord

# Candidates evaluated at once on each GPU by default (`eval-suite --per-gpu`): while one is timed (the
# device to itself, see `repro.harness.gpugate`) the other starts, compiles and runs its trials.
PER_GPU = 2


def gpu_slots(gpus: list[int], per_gpu: int) -> list[int | None]:
    """`per_gpu` slots for each GPU, interleaved (0,1,0,1) so that the GPUs fill evenly."""
    if per_gpu < 1:
        raise ValueError(f"--per-gpu {per_gpu}: give at least 1")
    return [g for _ in range(per_gpu) for g in gpus]


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
        self._slots = list(slots)
        self._reserved = False

    def _reserve(self, device: str) -> None:
        """One candidate process kept ready per slot of a device (they start one ahead)."""
        from repro.harness import sandbox

        sandbox.POOL.reserve_lanes(device, self._slots)
        self._reserved = True

    def submit(
        self, problem: Path, candidate_source: str | bytes, settings: EvalSettings
    ) -> Future[EvaluationRecord]:
        return self._pool.submit(self._run, Path(problem), candidate_source, settings)

    def _run(self, problem: Path, candidate_source: str | bytes, settings: EvalSettings) -> EvaluationRecord:
        from repro.harness import evaluate

        if not self._reserved:
            self._reserve(settings.device)
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
