"""Offline proposer: instantiate the template library for a task, one configuration per call.

The task's reference is traced once (cached per problem file); the chosen template's configurations
are enumerated in a fixed order, best guess first, so attempt i always yields the same source.
Configurations that won on similar tasks (retrieved from memory) are tried first.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from repro.proposers.base import Proposal, ProposalContext
from repro.proposers.templates import Unsupported, choose, instantiate
from repro.proposers.trace import Trace, reference_source, trace_problem


@cache
def cached_trace(path: Path, mtime_ns: int) -> Trace:
    return trace_problem(path)


def task_trace(path: Path) -> Trace:
    """The trace of a problem file, recomputed only when the file changes."""
    return cached_trace(path, path.stat().st_mtime_ns)


def config_label(config: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in config.items())


class TemplateProposer:
    name = "template"

    def configs(self, ctx: ProposalContext, configs: list[dict]) -> list[dict]:
        remembered: list[dict] = [case["tunables"] for case in ctx.memory if case.get("tunables")]
        keys = set(configs[0])  # a case also records pinned constants such as FULL_ROW
        first = [{k: c[k] for k in configs[0]} for c in remembered if keys <= set(c)]
        return list({config_label(c): c for c in [*first, *configs]}.values())

    def propose(self, ctx: ProposalContext) -> Proposal:
        try:
            trace = task_trace(ctx.task.path)
            name, listed, _ = choose(trace)
            configs = self.configs(ctx, listed)
            config = configs[ctx.attempt % len(configs)]
            source = instantiate(trace, reference_source(ctx.problem_source), config)
        except Unsupported as exc:
            return Proposal(None, "template", reason=f"no template covers this task: {exc}")
        return Proposal(source, f"template:{name}[{config_label(config)}]")
