"""multi-agent: planner, coder, tester and profiler roles around one kernel.

Follows Astra (Wei et al., 2025: a multi-agent system whose agents generate, test, profile and plan
optimizations of GPU kernels) and STARK (a planner/coder/debugger arrangement with strategic search).
Roles here: the *planner* turns the profiler's report into a strategy (the rule-based critic) and a
short plan; the *coder* is the proposer; the *tester* statically checks each candidate before it costs
device time (it parses, defines ModelNew, launches a @triton.jit kernel and calls no PyTorch compute
function by name in forward; a refusal is recorded as `tester_rejected` and sent back to the coder);
the *profiler* is the harness evaluation with its profile summary. Parameters: `--budget` rounds.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

from repro import pysource
from repro.loops.core import LoopRun
from repro.loops.feedback import suggest_strategy
from repro.proposers.prompts import STRATEGIES

NAME = "multi-agent"

# torch functions a forward may call: allocation, views and copies (the harness checks the rest at run time).
ALLOWED_TORCH_CALLS = frozenset(
    [
        "empty",
        "empty_like",
        "empty_strided",
        "zeros",
        "zeros_like",
        "full",
        "full_like",
        "ones",
        "ones_like",
        "split",
        "chunk",
        "cat",
        "stack",
        "arange",
        "tensor",
        "as_strided",
        "broadcast_to",
    ]
)


@dataclass(frozen=True)
class Params:
    """No parameters beyond the budget and feedback channels."""


def _torch_call(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("torch", "F"):
        return f"{f.value.id}.{f.attr}"
    return None


def tester(source: str) -> str | None:
    """Why the candidate should not be run, or None."""
    try:
        tree = pysource.parse(source)
    except SyntaxError as exc:
        return f"tester: SyntaxError at line {exc.lineno}: {exc.msg}"
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    if "ModelNew" not in classes:
        return "tester: no class ModelNew"
    if "triton.jit" not in source and "@jit" not in source:
        return "tester: no @triton.jit kernel, so forward cannot be a custom kernel"
    forward = next(
        (n for n in classes["ModelNew"].body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None
    )
    if forward is None:
        return "tester: ModelNew has no forward"
    for node in ast.walk(forward):
        name = _torch_call(node) if isinstance(node, ast.Call) else None
        if name and name.split(".")[1] not in ALLOWED_TORCH_CALLS:
            return f"tester: forward calls {name}, a PyTorch compute function; write it as a kernel"
    return None


def run(r: LoopRun, params: Params) -> None:
    tried: Counter[str] = Counter()
    current = r.step(precheck=tester)
    while True:
        base = r.best or current
        strategy = suggest_strategy(base.result, r.family, tried)  # planner
        if strategy:
            tried[strategy] += 1
            plan = f"planner: apply '{strategy}': {STRATEGIES[strategy]}"
        else:
            plan = "planner: the last kernel failed testing or profiling; fix it"
        report = r.feedback(base)  # profiler (or tester) report
        current = r.step(
            [base] if base.source else [], strategy=strategy, feedback=f"{report}\n{plan}", precheck=tester
        )
