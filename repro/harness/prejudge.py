"""Trial outputs compared while the candidate's process is still running (the CUDA path).

The verdict compares every correctness trial's outputs with the reference's. At task sizes (an 8192 x
8192 softmax) that is a million sampled positions gathered from a 268 MB reference output, about 20 ms
an output and most of a second a candidate, which the evaluating process used to spend after the
candidate's process had ended. Here each output is compared as it arrives, on a few of the evaluating
process's threads, while the candidate goes on with its next trial and its timed loop. The judge takes
a result only for the very tensors and tolerance it would compare itself, so the verdict is the one it
would reach alone. Before the parent-clocked batch starts, the work still queued is waited for: the
batch is timed on this process's clock. The CPU path compares at the end, as before: there these
threads would take cores from the candidate's timed loop.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from typing import Any

import torch

from repro.harness import compare

TAGS = ("first", "repeat", "after_ref")
WORKERS = 2
# The evaluating process's intra-op threads once it compares on arrival: each comparison is a gather and a
# few elementwise passes over a million values (about 20 ms on one core), and a full pool of intra-op
# threads spinning beside the candidate's process took cores from it (its start-up and forward ran
# 0.2-1.5 s slower on an H200 host with 4 comparing threads and 16 intra-op threads).
PARENT_THREADS = 2
Result = tuple[compare.Mismatch | None, float]


class Prejudge:
    """`submit(ck, values, positions, shapes)` as each trial output `s{i}/t{j}/{tag}` arrives; `take` in
    the judge; `settle` before a clocked batch; `close` once judged."""

    def __init__(self, refs: dict[str, list[torch.Tensor]], tols: dict[str, list[list[float]]],
                 label: Callable[[str, str], str], workers: int = WORKERS) -> None:  # fmt: skip
        self._refs, self._tols, self._label = refs, tols, label
        if torch.get_num_threads() > PARENT_THREADS:
            torch.set_num_threads(PARENT_THREADS)
        self._pool = cf.ThreadPoolExecutor(workers, thread_name_prefix="kernelatlas-prejudge")
        self._jobs: dict[str, tuple[cf.Future[Result], list[torch.Tensor], Any, Any]] = {}
        self.taken = 0  # outputs whose verdict came from a comparison made on arrival

    def submit(self, ck: str, values: list[torch.Tensor], positions: list[torch.Tensor | None] | None,
               shapes: Any) -> None:  # fmt: skip
        key, _, tag = ck.rpartition("/")
        if tag not in TAGS or key not in self._refs or key not in self._tols or ck in self._jobs:
            return
        fut = self._pool.submit(compare.compare_one, values, self._refs[key], self._tols[key],
                                self._label(key, tag), positions, shapes)  # fmt: skip
        self._jobs[ck] = (fut, values, positions, shapes)

    def take(self, ck: str, values: list[torch.Tensor], tols: list[list[float]],
             positions: list[torch.Tensor | None] | None, shapes: Any) -> Result | None:  # fmt: skip
        """The comparison made on arrival, when it was made on these very inputs; else None."""
        job = self._jobs.get(ck)
        key = ck.rpartition("/")[0]
        if job is None or tols != self._tols.get(key):
            return None
        fut, v, p, s = job
        if v is not values or s != shapes or not _same_positions(p, positions):
            return None
        result = fut.result()
        self.taken += 1
        return result

    def settle(self, timeout_s: float = 10.0) -> None:
        cf.wait([j[0] for j in self._jobs.values()], timeout=timeout_s)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _same_positions(a: list[torch.Tensor | None] | None, b: list[torch.Tensor | None] | None) -> bool:
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))
