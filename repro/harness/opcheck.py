"""Custom-kernel provenance: which PyTorch ops a forward calls, and which of them are allowed.

A `TorchDispatchMode` sees every aten op that reaches the dispatcher on CPU and GPU alike. Triton
(and compiled-extension) launches do not go through the dispatcher, so a genuine custom kernel leaves
only allocation, view and copy ops in the trace. Anything else is compute done by PyTorch and is
refused unless the task lists it in ALLOWED_OPS.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# What torch.compile's frame evaluation reads, in torch's C module (importing torch._dynamo costs seconds).
_eval_frame: Any
try:
    from torch._C._dynamo import eval_frame as _eval_frame
except ImportError:
    _eval_frame = None
_LAZY_DYNAMO = all(
    hasattr(_eval_frame, name)
    for name in ("get_eval_frame_callback", "set_code_exec_strategy", "_FrameExecStrategy", "_FrameAction")
)  # otherwise (another torch) the tracer keeps torch's own wrapper: see OpRecorder

# Ops that allocate, fill with a constant, copy, convert, or re-view memory: no computation of the
# task's result can hide in them. Everything not listed is denied by default.
ALWAYS_ALLOWED: frozenset[str] = frozenset(
    "aten::" + name
    for name in [
        "empty",
        "empty_like",
        "empty_strided",
        "new_empty",
        "new_empty_strided",
        "zeros",
        "zeros_like",
        "new_zeros",
        "full",
        "full_like",
        "new_full",
        "fill_",
        "zero_",
        "ones",
        "ones_like",
        "new_ones",
        "scalar_tensor",
        "lift_fresh",
        "lift_fresh_copy",
        "clone",
        "copy_",
        "_to_copy",
        "to",
        "contiguous",
        "detach",
        "alias",
        "_local_scalar_dense",
        "resize_",
        "set_",
        "view",
        "_unsafe_view",
        "reshape",
        "_reshape_alias",
        "permute",
        "transpose",
        "t",
        "expand",
        "expand_as",
        "as_strided",
        "select",
        "slice",
        "narrow",
        "unsqueeze",
        "squeeze",
        "flatten",
        "unflatten",
        "unbind",
        "split",
        "split_with_sizes",
        "chunk",
        "view_as",
        "movedim",
    ]
)


def _record(recorder: OpRecorder, func: Any, args: tuple, kwargs: dict | None) -> Any:
    name = func._schema.name
    recorder.counts[name] += 1
    if recorder.on_op is not None:
        recorder.on_op(name)
    return func(*args, **(kwargs or {}))


# torch keeps torch.compile out of a dispatch mode's __torch_dispatch__ by wrapping it in
# `torch._disable_dynamo`, whose first call imports torch._dynamo: over a CPU-second of every worker's
# start-up, in processes where nothing is ever compiled. The tracer does the same only where something
# could compile: `_record` runs inside that wrapper once dynamo is loaded (torch.compile imports it) or a
# frame-evaluation hook is set, and `__torch_dispatch__` itself is a frame dynamo never traces (as
# torch's wrapper is).
_record_outside_dynamo = torch._disable_dynamo(_record, recursive=True)


class OpRecorder(TorchDispatchMode):
    """Counts aten ops by schema name (e.g. 'aten::mm') while active.

    `on_op(name)`, when given, is told of each op as it happens (the candidate's worker sends it to the
    parent at once, so clearing the counts afterwards hides nothing)."""

    def __init__(self, on_op: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()
        self.on_op = on_op

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return not _LAZY_DYNAMO  # torch's wrapper only where the tracer cannot keep dynamo out itself

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        if (
            not _LAZY_DYNAMO
            or "torch._dynamo" in sys.modules
            or _eval_frame.get_eval_frame_callback() is not None
        ):
            return _record_outside_dynamo(self, func, args, kwargs)
        return _record(self, func, args, kwargs)


if _LAZY_DYNAMO:
    _eval_frame.set_code_exec_strategy(
        OpRecorder.__torch_dispatch__.__code__,
        _eval_frame._FrameExecStrategy(_eval_frame._FrameAction.SKIP, _eval_frame._FrameAction.DEFAULT),
    )


def forbidden_ops(seen: dict[str, int], allowed_extra: list[str] | tuple[str, ...]) -> list[str]:
    """Ops in `seen` that are neither always allowed nor allowed by the task, sorted."""
    allowed = ALWAYS_ALLOWED | set(allowed_extra)
    return sorted(op for op in seen if op not in allowed)


def tripwire_reason(name: str) -> str:
    """Why a forward that stepped outside the op tracer (see `guards.Tripwire`) is refused."""
    return (
        f"ModelNew.forward stepped outside the op tracer (called {name}): "
        "PyTorch ops hidden from the tracer are refused like any other"
    )


def forbidden_reason(ops: list[str], reference_ops: dict[str, int]) -> str:
    first = ops[0]
    ref = " (the reference calls it too)" if first in reference_ops else ""
    more = f"; also {', '.join(ops[1:4])}" if len(ops) > 1 else ""
    return (
        f"ModelNew.forward called {first}{ref}, which is not allowed: write it as a kernel or list it in "
        f"the task's ALLOWED_OPS{more}"
    )
