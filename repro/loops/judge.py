"""judge: a coder and a judge; the judge reads the profile and picks the next optimization strategy.

Follows CudaForge (Zhang et al., 2025: a Coder and a Judge agent; the Judge reads hardware feedback
(Nsight Compute metrics) and either asks for a correctness fix or names one optimization for the next
round). Here the judge is the rule-based critic in `repro.loops.feedback` reading the harness's profile
(speed-of-light fraction, operator family, timings): a wrong candidate gets a fix request with its
errors, a correct one the least-tried strategy that matters for its family. Parameters: `--budget`
(CudaForge uses up to 10 rounds) and `--feedback` channels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from repro.loops.core import LoopRun
from repro.loops.feedback import suggest_strategy

NAME = "judge"


@dataclass(frozen=True)
class Params:
    """No parameters beyond the budget and feedback channels."""


def run(r: LoopRun, params: Params) -> None:
    current = r.step()
    tried: Counter[str] = Counter()
    while True:
        base = r.best or current  # fix the latest while nothing is correct, else improve the best
        strategy = suggest_strategy(base.result, r.family, tried)
        verdict = f"judge: {'optimize with strategy ' + strategy if strategy else 'fix the errors first'}"
        if strategy:
            tried[strategy] += 1
        current = r.step(
            [base] if base.source else [], strategy=strategy, feedback=r.feedback(base) + "\n" + verdict
        )
