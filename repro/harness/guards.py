"""Tamper checks for the candidate process: global flags, timer functions, harness functions, threads.

Snapshots are taken before the candidate is imported and compared after each phase. The harness
also calls the timer functions through references captured before the import, so patching them
cannot change a measurement; the comparison turns the attempt into a clear refusal.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import torch


def global_flags() -> dict[str, Any]:
    """Process-wide settings that change numerics or speed."""
    flags: dict[str, Any] = {
        "torch.backends.cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction": (
            torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction
        ),
        "torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction": (
            torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction
        ),
        "torch.backends.cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
        "torch.backends.cudnn.benchmark": torch.backends.cudnn.benchmark,
        "torch.backends.cudnn.deterministic": torch.backends.cudnn.deterministic,
        "torch.backends.cudnn.enabled": torch.backends.cudnn.enabled,
        "torch.get_default_dtype()": str(torch.get_default_dtype()),
        "torch.get_float32_matmul_precision()": torch.get_float32_matmul_precision(),
        "torch.is_grad_enabled()": torch.is_grad_enabled(),
        "torch.are_deterministic_algorithms_enabled()": torch.are_deterministic_algorithms_enabled(),
        "torch.get_num_threads()": torch.get_num_threads(),
        "torch.get_default_device()": str(torch.get_default_device()),
    }
    return flags


def _timer_functions() -> dict[str, Any]:
    import json
    import marshal
    import statistics

    import torch.utils._python_dispatch as pd

    funcs: dict[str, Any] = {
        "json.dumps": json.dumps,
        "json.dump": json.dump,
        "marshal.dumps": marshal.dumps,
        "statistics.median": statistics.median,
        "os.write": os.write,
        "os.read": os.read,
        "torch._C._pop_torch_dispatch_stack": torch._C._pop_torch_dispatch_stack,
        "torch.utils._python_dispatch._pop_torch_dispatch_stack": pd._pop_torch_dispatch_stack,
        "time.perf_counter": time.perf_counter,
        "time.perf_counter_ns": time.perf_counter_ns,
        "time.monotonic": time.monotonic,
        "time.time": time.time,
        "os.urandom": os.urandom,
        "torch.cuda.synchronize": torch.cuda.synchronize,
        "torch.cuda.Event": torch.cuda.Event,
        "torch.cuda.Event.record": torch.cuda.Event.record,
        "torch.cuda.Event.elapsed_time": torch.cuda.Event.elapsed_time,
        "torch.cuda.Event.synchronize": torch.cuda.Event.synchronize,
        "torch.cuda.current_stream": torch.cuda.current_stream,
        "torch.Tensor.cpu": torch.Tensor.cpu,
        "torch.Tensor.clone": torch.Tensor.clone,
        "torch.save": torch.save,
    }
    return funcs


def _read_functions() -> dict[str, Any]:
    """What the worker calls on a candidate's outputs to read them (store, sample, project): replaced,
    they could fill an output only when the harness looks at it."""
    return {
        "torch.Tensor.detach": torch.Tensor.detach,
        "torch.Tensor.reshape": torch.Tensor.reshape,
        "torch.Tensor.to": torch.Tensor.to,
        "torch.Tensor.__getitem__": torch.Tensor.__getitem__,
        "torch.Tensor.numel": torch.Tensor.numel,
        "torch.Tensor.contiguous": torch.Tensor.contiguous,
        "torch.Tensor.view": torch.Tensor.view,
        "torch.Tensor.tolist": torch.Tensor.tolist,
        "torch.dot": torch.dot,
        "torch.stack": torch.stack,
    }


def _function_modes() -> int:
    return int(torch._C._len_torch_function_stack())


def _harness_functions() -> dict[str, Any]:
    """Every callable of the harness's modules, and the methods of its classes (by code object too, so
    swapping a function's `__code__` shows)."""
    found: dict[str, Any] = {}
    for mod_name, mod in list(sys.modules.items()):
        if mod is None or not (mod_name == "repro" or mod_name.startswith("repro.")):
            continue
        for attr, value in list(vars(mod).items()):
            if not callable(value) or attr.startswith("__"):
                continue
            found[f"{mod_name}.{attr}"] = value
            code = getattr(value, "__code__", None)
            if code is not None:
                found[f"{mod_name}.{attr}.__code__"] = code
            if isinstance(value, type) and value.__module__ == mod_name:
                for name, member in list(vars(value).items()):
                    if callable(member) and not name.startswith("__") or name == "__torch_dispatch__":
                        found[f"{mod_name}.{attr}.{name}"] = member
                        if getattr(member, "__code__", None) is not None:
                            found[f"{mod_name}.{attr}.{name}.__code__"] = member.__code__
    return found


class Tripwire:
    """Wraps the functions that step outside an active TorchDispatchMode (popping the mode stack,
    excluding the Python dispatch key): while `armed` (the candidate's forward runs under the op
    tracer), calling one is recorded, so ops hidden from the tracer that way are refused."""

    NAMES = ("_pop_torch_dispatch_stack", "_unset_dispatch_mode", "_DisableTorchDispatch",
             "_ExcludeDispatchKeyGuard", "ExcludeDispatchKeyGuard", "_SetExcludeDispatchKeyGuard")  # fmt: skip

    def __init__(self) -> None:
        import torch.utils._python_dispatch as pd

        self.armed = False
        self.tripped: list[str] = []
        for owner in (torch._C, pd):
            for name in self.NAMES:
                original = getattr(owner, name, None)
                if original is not None:
                    setattr(owner, name, self._wrap(name, original))

    def _wrap(self, name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.armed:
                self.tripped.append(name)
            return original(*args, **kwargs)

        return wrapper


def compiled_frames() -> int:
    """Frames torch.compile has compiled in this process (0 when the compiler was never loaded)."""
    dynamo = sys.modules.get("torch._dynamo.utils")
    return int(sum(dynamo.counters["frames"].values())) if dynamo is not None else 0


class Snapshot:
    """What the process looked like before the candidate ran."""

    def __init__(self) -> None:
        self.flags = global_flags()
        self.functions = {**_timer_functions(), **_read_functions(), **_harness_functions()}
        self.reads = _read_functions()
        self.function_modes = _function_modes()
        self.threads = {t.ident for t in threading.enumerate()}
        self.compiled = compiled_frames()

    def reads_intact(self) -> list[str]:
        """Cheap enough for every call, before the worker reads its outputs: a torch function mode left
        active, or a replaced method the worker reads outputs with."""
        found = []
        if _function_modes() != self.function_modes:
            found.append(
                f"left a torch function mode active ({_function_modes()} on the stack): it would see, and could "
                "answer, the harness's own torch calls on the outputs"
            )
        now = _read_functions()
        found += [f"replaced {name}" for name, fn in self.reads.items() if now.get(name) is not fn]
        return found

    def violations(self) -> list[str]:
        """Human sentences, one per change since the snapshot."""
        found: list[str] = self.reads_intact()
        now = global_flags()
        for name, before in self.flags.items():
            if now.get(name) != before:
                found.append(f"changed {name} from {before!r} to {now.get(name)!r}")
        current = {**_timer_functions(), **_read_functions(), **_harness_functions()}
        for name, fn in self.functions.items():
            if current.get(name) is not fn and f"replaced {name}" not in found:
                found.append(f"replaced {name}")
        if compiled_frames() != self.compiled:
            found.append(
                "used torch.compile, which generates kernels from PyTorch ops: write the kernel itself"
            )
        extra = [t for t in threading.enumerate() if t.ident not in self.threads and t.is_alive()]
        if extra:
            names = ", ".join(sorted(t.name for t in extra))
            found.append(f"left {len(extra)} thread(s) running ({names})")
        return found
