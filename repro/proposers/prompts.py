"""Prompts for LLM proposers and the parsing of their answers.

A prompt carries what the surveyed loops give their models: the reference program, the rules of the
target language and of the harness, the hardware, the loop's execution feedback, a strategy when a
judge/planner/bandit chose one, and retrieved memory cases. Parsing never raises: an answer without a
usable code block, or whose code does not parse, becomes a failed proposal with its reason.
"""

from __future__ import annotations

import re

from repro import pysource
from repro.proposers.base import ProposalContext

STRATEGIES = {
    "tile_size": "change the tile / block sizes (BLOCK_*, TILE) to trade parallelism against data reuse",
    "parallelism": "change the warps per program (num_warps) so more memory traffic is in flight",
    "pipelining": "change the software-pipelining depth (num_stages) of the main loop",
    "loop_order": "change the order in which programs visit output tiles (grouped / swizzled order) for cache reuse",
    "fusion": "move the fusion boundary: fuse more of the computation into one pass, or split a pass that is too large",
}

RULES = """Write a Triton implementation of the reference.
- Define `class ModelNew(nn.Module)` with the same constructor arguments as `Model`; it must create the
  same parameters in the same order (the harness seeds the RNG identically before constructing both).
- The computation in `forward` must run in your own `@triton.jit` kernels. Calling PyTorch compute ops
  (matmul, softmax, elementwise math, ...) in `forward` is rejected; allocation, views and copies are fine.
- Launch kernels on the inputs' device (`x.device`); never hard-code "cuda".
- Keep the reference's dtype and numerics: no lowering of precision (fp32 stays fp32, no TF32).
- Answer with one complete Python file in a single ```python code block."""

_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.S)


def extract_code(text: str | None) -> tuple[str | None, str]:
    """(source, "") for the last code block that defines ModelNew and parses; (None, reason) otherwise."""
    if not text or not text.strip():
        return None, "the response is empty"
    blocks = _BLOCK.findall(text)
    if not blocks:
        return None, "the response holds no ```python code block"
    with_model = [b for b in blocks if "class ModelNew" in b]
    if not with_model:
        return None, "no code block defines class ModelNew"
    source = with_model[-1]
    try:
        pysource.parse(source)
    except SyntaxError as exc:
        return None, f"the code block does not parse: SyntaxError at line {exc.lineno}: {exc.msg}"
    return source, ""


def build_messages(ctx: ProposalContext) -> list[dict[str, str]]:
    """System and user messages for one coder turn."""
    system = (
        "You are an expert GPU kernel engineer. You write fast, correct Triton kernels.\n\n" + RULES
        + (f"\n\nTarget hardware: {ctx.hardware}" if ctx.hardware else "")
    )  # fmt: skip
    parts = [f"Reference program ({ctx.task.name}):\n```python\n{ctx.problem_source.strip()}\n```"]
    for case in ctx.memory:
        parts.append(
            f"A kernel that worked on a similar task ({case.get('task')}, {case.get('speedup', 0):.2f}x):\n"
            f"```python\n{case.get('source', '').strip()}\n```"
        )
    for i, parent in enumerate(ctx.parents):
        label = "Your previous attempt" if len(ctx.parents) == 1 else f"Parent {i + 1} ({parent.id})"
        parts.append(f"{label}:\n```python\n{parent.source.strip()}\n```")
    if ctx.feedback:
        parts.append(f"Execution feedback:\n{ctx.feedback}")
    if ctx.strategy:
        parts.append(f"Next optimization strategy: {STRATEGIES.get(ctx.strategy, ctx.strategy)}.")
    if len(ctx.parents) >= 2:
        parts.append("Combine the strengths of the parents into one better kernel.")
    elif ctx.parents:
        parts.append("Improve the kernel: fix any error first, then make it faster.")
    else:
        parts.append("Write the fastest correct Triton implementation you can.")
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]
