"""Proposers: where candidate kernels come from. `make_proposer(name, ...)` builds one by name.

`openai` asks a model on an OpenAI-compatible endpoint; `template`, `mutate` and `replay` are offline
and deterministic (template library, tunable mutations, recorded responses).
"""

from __future__ import annotations

from typing import Any

from repro.proposers.base import Parent, Proposal, ProposalContext, Proposer
from repro.registry import Registry

PROPOSERS: Registry[Any] = Registry("proposer")
PROPOSERS.add(
    "openai", "repro.proposers.openai_chat:OpenAIProposer", "a model on an OpenAI-compatible endpoint"
)
PROPOSERS.add("template", "repro.proposers.template:TemplateProposer", "the task's template configurations")
PROPOSERS.add("mutate", "repro.proposers.mutate:MutateProposer", "templates, then mutated tunables")
PROPOSERS.add("replay", "repro.proposers.replay:ReplayProposer", "recorded responses from a JSON-lines file")

__all__ = ["PROPOSERS", "Parent", "Proposal", "ProposalContext", "Proposer", "make_proposer"]


def make_proposer(name: str, *, model: str | None = None, replay: str | None = None, **llm: Any) -> Proposer:
    """Build a proposer by name; raises ValueError naming the missing flag when one is needed, and the
    close matches when the name is unknown."""
    factory = PROPOSERS.get(name)
    if name == "replay":
        if not replay:
            raise ValueError("--proposer replay needs --replay FILE.jsonl")
        return factory(replay)
    if name == "openai":
        return factory(model or "", **llm)
    return factory()
