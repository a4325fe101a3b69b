"""Execution feedback and profiling: what a loop tells its proposer, and the critic that picks a strategy.

The channels follow the surveyed loops: compiler/runtime errors (KernelBench multi-turn, Kevin),
correctness diffs, timing against the baselines, and a profiler summary (speed-of-light fraction and
whether the operator family is memory- or compute-bound: CudaForge's judge and GEAK's reflector read
such metrics). `suggest_strategy` is the rule-based critic used by the judge, bandit-free planner and
multi-agent loops: it maps the profile to the next optimization strategy.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from repro.records.verdicts import FAILED, Verdict

CHANNELS = ("compiler", "correctness", "timing", "profile")

# Which strategies matter first for each operator family (by what bounds it).
STRATEGY_ORDER = {
    "matmul": ["tile_size", "pipelining", "loop_order", "parallelism"],
    "rowwise": ["parallelism", "tile_size", "fusion"],
    "elementwise": ["tile_size", "parallelism", "fusion"],
}
BOUND = {
    "matmul": "compute-bound (tensor cores / FMA)",
    "rowwise": "memory-bound",
    "elementwise": "memory-bound",
}


def _ms(d: dict[str, Any] | None) -> str:
    if not d or d.get("median") is None:
        return "n/a"
    return f"{d['median']:.4f} ms (p10 {d.get('p10', d['median']):.4f}, p90 {d.get('p90', d['median']):.4f})"


def profile_summary(result: dict[str, Any], family: str) -> str:
    sol = result.get("sol_fraction")
    bound = BOUND.get(family, "unknown bound")
    if sol is None:
        return f"profile: {family} operator, {bound}; no speed-of-light figure on this device"
    return (
        f"profile: {family} operator, {bound}; reaches {100 * sol:.0f}% of the roofline bound "
        f"({'little headroom left' if sol > 0.85 else 'headroom left'})"
    )


def format_feedback(result: dict[str, Any], family: str, channels: tuple[str, ...] = CHANNELS) -> str:
    """Feedback text for one evaluated candidate, using only the requested channels."""
    verdict = result.get("verdict", "?")
    lines = [f"verdict: {verdict}"]
    if "compiler" in channels and verdict in FAILED:
        lines.append(f"error: {result.get('reason', '')}")
        detail = (result.get("detail") or "").strip()
        if detail:
            lines.append("log tail:\n" + detail[-1500:])
    if "correctness" in channels and verdict == Verdict.INCORRECT:
        lines.append(f"mismatch: {result.get('reason', '')}")
        for s in result.get("shapes") or []:
            lines.append(f"  shape {s.get('shape')}: max abs error {s.get('max_abs_err')}")
    if verdict == Verdict.CORRECT:
        if "timing" in channels:
            lines.append(f"candidate: {_ms(result.get('candidate_ms'))}")
            for kind, b in (result.get("baseline_ms") or {}).items():
                sp = (result.get("speedups") or {}).get(kind)
                lines.append(f"{kind}: {_ms(b)}" + (f", speedup {sp:.3f}x" if sp else ""))
            if result.get("compile_ms") is not None:
                lines.append(f"first call (compile) {result['compile_ms']:.0f} ms")
        if "profile" in channels:
            lines.append(profile_summary(result, family))
    return "\n".join(lines)


def history_feedback(cands: list[Any], family: str, channels: tuple[str, ...], k: int) -> str:
    """The last k candidates' feedback, oldest first (k=1: only the latest)."""
    parts = []
    for c in cands[-k:] if k > 0 else []:
        parts.append(f"[{c.id}, {c.operator}]\n" + format_feedback(c.result, family, channels))
    return "\n\n".join(parts)


def suggest_strategy(result: dict[str, Any] | None, family: str, tried: Counter[str]) -> str | None:
    """Rule-based critic: no strategy while the candidate is wrong (fix it first), else the least-tried
    strategy among those that matter for the family, earlier ones first."""
    if result is None or result.get("verdict") != Verdict.CORRECT:
        return None
    order = STRATEGY_ORDER.get(family, STRATEGY_ORDER["elementwise"])
    return min(order, key=lambda s: (tried[s], order.index(s)))
