"""best-of-n: independent samples, the best correct one kept.

Follows KernelBench's repeated-sampling baseline (Ouyang et al., 2025, "KernelBench: Can LLMs Write
Efficient GPU Kernels?"): N independent generations from the same prompt, no feedback, the fastest
correct sample counts (fast_p over N samples). Reproduce with `--loop best-of-n --budget N` (the paper
samples with temperature > 0: pass `--temperature`); with `--proposer template` the N samples are the
first N configurations of the task's template.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.loops.core import LoopRun

NAME = "best-of-n"


@dataclass(frozen=True)
class Params:
    """No parameters beyond the budget (N)."""


def run(r: LoopRun, params: Params) -> None:
    while True:
        r.step()
