"""Assembling a candidate file from template stages: tunables, the embedded reference, kernels, forward.

A stage is one kernel and the forward lines that launch it; most tasks need one stage, a product
followed by a row reduction needs two (the second reads the first's output). Keeping the file layout in
one place means every template yields the same shape of candidate, which the mutate proposer relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from repro.proposers.trace import Trace

FILE = '''"""Generated from the {templates} template{plural} ({signature})."""

import functools

import torch
import torch.nn as nn
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

# Tunables (rewritten by the mutate proposer).
{tunables}

{reference}

{kernels}

class ModelNew(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        self.ref = ReferenceModel(*args, **kwargs)

    def forward(self, {args}):
{body}
        return {result}
'''


@dataclass
class Stage:
    """One kernel with its launch: `forward` lines (unindented) leave the result in `result`."""

    template: str
    tunables: dict[str, object]
    kernel: str
    forward: list[str]
    result: str
    required: set[str] = field(default_factory=set)  # tunables a mutation must not touch


def tunable_lines(stages: list[Stage]) -> str:
    lines = []
    for stage in stages:
        for name, value in stage.tunables.items():
            pin = "  # required" if name in stage.required else ""
            lines.append(f"{name} = {value}{pin}")
    return "\n".join(lines)


def assemble(trace: Trace, reference: str, stages: list[Stage]) -> str:
    """The complete candidate source for `stages`, run in order inside ModelNew.forward."""
    names = list(dict.fromkeys(s.template for s in stages))
    body = [line for s in stages for line in s.forward]
    return FILE.format(
        templates=" + ".join(names),
        plural="s" if len(names) > 1 else "",
        signature=trace.signature,
        tunables=tunable_lines(stages),
        reference=reference,
        kernels="\n\n".join(s.kernel.strip() + "\n" for s in stages),
        args=", ".join(f"x{i}" for i in range(len(trace.inputs))),
        body="\n".join("        " + line if line else "" for line in body),
        result=stages[-1].result,
    )
