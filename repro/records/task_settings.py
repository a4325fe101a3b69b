"""A task's settings, read in one place: the harness's workers, the task lint and the tasks module all
call `task_settings`, so a task folder is linted and judged by the same shapes, tolerances and op list.
Torch-free (dtypes by name: 'float32', 'bfloat16', ...), so every layer may use it.

Extensions a problem file may declare (all optional; `repro/tasks/README.md`): SHAPES and CPU_SHAPES
(lists of get_inputs keyword arguments; the first is timed), DTYPE (the task's main dtype, for the
speed-of-light rate), ATOL/RTOL (override the per-dtype defaults), ALLOWED_OPS (aten ops a candidate may
call), flops(**shape) and bytes_moved(**shape).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

# Per-dtype defaults (atol, rtol), chosen by each output's dtype. fp16/bf16 follow KernelBench (1e-2);
# fp32 is tighter than KernelBench's 1e-2 on purpose, so precision lowered to TF32/bf16 is caught; a
# task that needs more slack sets ATOL/RTOL itself. Integer and bool outputs must match exactly.
DEFAULT_TOLERANCE: dict[str, tuple[float, float]] = {
    "float64": (1e-7, 1e-7),
    "float32": (1e-4, 1e-4),
    "float16": (1e-2, 1e-2),
    "bfloat16": (1e-2, 1e-2),
}
DTYPE_NAMES = (*DEFAULT_TOLERANCE, "complex64", "complex128", "int8", "int16", "int32", "int64", "uint8",
               "bool", "float8_e4m3fn", "float8_e5m2")  # fmt: skip


def dtype_name(dtype: object) -> str:
    """'float32' for torch.float32 (or for the string itself)."""
    return str(dtype).removeprefix("torch.")


class TaskError(ValueError):
    """A problem file declares a setting the harness cannot use; the message names it and the fix."""


@dataclass(frozen=True)
class TaskSettings:
    shapes: tuple[dict[str, Any], ...]  # for the device asked for; the first is timed
    dtype: str | None  # DTYPE as declared
    atol: float | None  # ATOL/RTOL as declared (None: the per-dtype default)
    rtol: float | None
    allowed_ops: tuple[str, ...]
    flops_fn: Callable[..., float] | None
    bytes_fn: Callable[..., float] | None

    def tolerance(self, output_dtype: object) -> tuple[float, float]:
        """(atol, rtol) for an output of `output_dtype` (a torch dtype or its name): the task's ATOL/RTOL,
        else the dtype's default; exact for integer and bool outputs."""
        atol, rtol = DEFAULT_TOLERANCE.get(dtype_name(output_dtype), (0.0, 0.0))
        return (self.atol if self.atol is not None else atol), (self.rtol if self.rtol is not None else rtol)

    def declared_tolerance(self) -> tuple[float, float]:
        """The tolerance of an output of the declared DTYPE (float32 when none is declared)."""
        return self.tolerance(self.dtype or "float32")

    def flops(self, shape: dict[str, Any]) -> float | None:
        return float(self.flops_fn(**shape)) if self.flops_fn else None

    def bytes_moved(self, shape: dict[str, Any]) -> float | None:
        return float(self.bytes_fn(**shape)) if self.bytes_fn else None


def _number(module: ModuleType, name: str) -> float | None:
    value = getattr(module, name, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise TaskError(f"{name} = {value!r}: give a number >= 0 (or leave it out for the per-dtype default)")
    return float(value)


def task_settings(module: ModuleType, device: str) -> TaskSettings:
    """Every setting of the problem `module` for `device`; TaskError names a malformed one."""
    shapes = getattr(module, "CPU_SHAPES", None) if device == "cpu" else None
    if shapes is None:
        shapes = getattr(module, "SHAPES", None)
    if shapes is None:
        shapes = [{}]
    if not isinstance(shapes, list | tuple) or not shapes or not all(isinstance(s, dict) for s in shapes):
        raise TaskError("SHAPES/CPU_SHAPES must be a non-empty list of dicts of get_inputs keyword arguments")
    dtype = getattr(module, "DTYPE", None)
    if dtype is not None and str(dtype) not in DTYPE_NAMES:
        raise TaskError(f"DTYPE = {dtype!r} is not a torch dtype name (e.g. 'float32', 'bfloat16')")
    allowed = getattr(module, "ALLOWED_OPS", ()) or ()
    if not isinstance(allowed, list | tuple) or not all(isinstance(op, str) for op in allowed):
        raise TaskError("ALLOWED_OPS must be a list of aten op names such as 'aten::mm'")
    flops, nbytes = getattr(module, "flops", None), getattr(module, "bytes_moved", None)
    return TaskSettings(
        shapes=tuple(dict(s) for s in shapes),
        dtype=str(dtype) if dtype is not None else None,
        atol=_number(module, "ATOL"),
        rtol=_number(module, "RTOL"),
        allowed_ops=tuple(allowed),
        flops_fn=flops if callable(flops) else None,
        bytes_fn=nbytes if callable(nbytes) else None,
    )
