"""refine: sequential refinement with execution feedback.

Follows KernelBench's multi-turn baseline (Ouyang et al., 2025: each turn sees the previous kernel and
its compiler errors, correctness result and timing) and Kevin (Baronio et al., 2025, multi-turn RL
refinement, which also refines the latest attempt). Parameters: `--refine-from latest` (the papers; use
`best` for greedy refinement), `--history K` (how many earlier turns the feedback shows; KernelBench
shows the last turn, K=1), `--feedback compiler,correctness,timing,profile` (which channels), and the
number of turns is `--budget` (KernelBench reports up to 10 turns with `--budget 10`).
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.loops.core import LoopRun
from repro.loops.feedback import history_feedback
from repro.loops.params import check_choice, param

NAME = "refine"


@dataclass(frozen=True)
class Params:
    refine_from: str = param(
        "latest",
        "refine the latest attempt (KernelBench, Kevin) or the best correct one so far",
        choices=("latest", "best"),
    )
    history: int = param(1, "earlier turns shown in the feedback (default 1)")

    def __post_init__(self) -> None:
        check_choice(self, "refine_from")


def run(r: LoopRun, params: Params) -> None:
    cand = r.step()
    while True:
        parent = (r.best or cand) if params.refine_from == "best" else cand
        feedback = history_feedback(r.history, r.family, r.channels, params.history)
        cand = r.step([parent] if parent.source else [], feedback=feedback)
