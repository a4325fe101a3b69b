"""What every proposer takes and returns. A proposer turns a context into candidate source, or a reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from repro.tasks import Task


@dataclass
class Proposal:
    """One proposer answer. `source` is None when the proposer produced nothing usable (`reason` says why)."""

    source: str | None
    operator: str  # what produced it: "template[...]", "mutate:NUM_WARPS 4->8", "llm", ...
    reason: str = ""
    response: str | None = None  # raw LLM text, kept so a run can be replayed and exported
    messages: list[dict[str, str]] | None = None  # the prompt, for SFT export
    usage: dict[str, Any] = field(default_factory=dict)  # llm_calls, retries, prompt/completion tokens

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Proposal:
        fields: dict[str, Any] = {
            k: d.get(k) for k in ("source", "operator", "reason", "response", "messages")
        }
        return cls(**fields, usage=dict(d.get("usage") or {}))


@dataclass
class Parent:
    """What a proposer may know about an earlier candidate."""

    id: str
    source: str
    result: dict[str, Any]
    operator: str = ""


@dataclass
class ProposalContext:
    task: Task
    problem_source: str
    attempt: int  # index of this proposal within the task's run: deterministic proposers key on it
    seed: int
    device: str
    parents: list[Parent] = field(default_factory=list)
    feedback: str = ""  # formatted execution feedback for the parents
    strategy: str | None = None  # an optimization strategy chosen by a judge, planner or bandit
    memory: list[dict[str, Any]] = field(default_factory=list)  # retrieved cases
    hardware: str = ""


class Proposer(Protocol):
    name: str

    def propose(self, ctx: ProposalContext) -> Proposal: ...
