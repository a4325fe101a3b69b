"""bandit: UCB1 over optimization strategies.

Follows KernelBand (Ran et al., 2025: kernel optimization as a multi-armed bandit whose arms are
optimization strategies, chosen by an upper confidence bound and guided by hardware profiling). Each
round applies the chosen strategy to the best correct kernel so far; the reward is the relative gain
over it (clipped to [0, 1]; for a not-yet-correct base, 1 when the child is correct). Parameters:
`--ucb-c` (exploration constant, default 1.4) and `--budget` rounds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from repro.loops.core import LoopRun
from repro.loops.feedback import STRATEGY_ORDER
from repro.loops.params import param
from repro.proposers.prompts import STRATEGIES

NAME = "bandit"


@dataclass(frozen=True)
class Params:
    ucb_c: float = param(1.4, "UCB exploration constant (default 1.4)")


def run(r: LoopRun, params: Params) -> None:
    arms = STRATEGY_ORDER.get(r.family, list(STRATEGIES))
    pulls: Counter[str] = Counter()
    total: dict[str, float] = dict.fromkeys(arms, 0.0)
    r.step()
    t = 0
    while True:
        t += 1
        base = r.best or r.history[-1]
        untried = [a for a in arms if pulls[a] == 0]
        if untried:
            arm = untried[0]
        else:
            arm = max(
                arms, key=lambda a: total[a] / pulls[a] + params.ucb_c * math.sqrt(math.log(t) / pulls[a])
            )
        child = r.step([base] if base.source else [], strategy=arm, feedback=r.feedback(base))
        if base.correct:
            reward = max(0.0, min(1.0, (child.score - base.score) / max(base.score, 1e-9)))
        else:
            reward = 1.0 if child.correct else 0.0
        pulls[arm] += 1
        total[arm] += reward
