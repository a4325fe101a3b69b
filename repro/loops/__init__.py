"""Reference agentic loops on a shared core (`core.py`), one module per search strategy.

Each loop module exposes NAME, a frozen dataclass `Params` (its parameters, with help text: the
command line's flags are generated from it) and `run(loop_run, params)`; its docstring names the paper
it follows and the flags that reproduce it. `run_loop` is the one way every command runs a loop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from repro.loops.core import LoopRun
from repro.loops.params import params_of
from repro.records.ledger import BudgetExhausted
from repro.registry import Registry

LOOPS: Registry[ModuleType] = Registry("loop")
LOOPS.add("best-of-n", "repro.loops.best_of_n", "independent samples, the best correct one kept")
LOOPS.add("refine", "repro.loops.refine", "iterative refinement with execution feedback")
LOOPS.add("evolve", "repro.loops.evolve", "population on islands with crossover, mutation and an archive")
LOOPS.add("judge", "repro.loops.judge", "a rule-based critic picks each step's strategy")
LOOPS.add("bandit", "repro.loops.bandit", "strategies as arms of a UCB bandit")
LOOPS.add("multi-agent", "repro.loops.multi_agent", "planner, coder and tester roles")


def loop_params(loop: str, values: dict[str, Any] | None = None) -> Any:
    """The loop's `Params`: its defaults with `values` (e.g. a run.json's `loop_args`) applied."""
    return params_of(LOOPS.get(loop).Params, values or {})


def params_dict(params: Any) -> dict[str, Any]:
    """A `Params` as the plain mapping recorded in run.json and reproduction files."""
    return dataclasses.asdict(params)


@dataclass(frozen=True)
class LoopOutcome:
    """How a loop ended on one task: the stop reason, and whether the whole run's budget ran out."""

    stop_reason: str
    run_exhausted: bool = False


def run_loop(r: LoopRun, loop: str, params: Any = None) -> LoopOutcome:
    """Run `loop` on the task of `r` until it finishes or a budget runs out (harness failures and
    lost evaluations propagate). `params` defaults to the loop's defaults."""
    module = LOOPS.get(loop)
    params = module.Params() if params is None else params
    if not isinstance(params, module.Params):
        raise TypeError(f"loop {loop!r} takes {module.__name__}.Params, not {type(params).__name__}")
    try:
        module.run(r, params)
    except BudgetExhausted as exc:
        return LoopOutcome(str(exc), exc.scope == "run")
    return LoopOutcome("the loop finished")


__all__ = ["LOOPS", "LoopOutcome", "loop_params", "params_dict", "run_loop"]
