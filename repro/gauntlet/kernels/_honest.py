"""The honest Triton kernel for problem_scale_add: the gauntlet puts it in front of each candidate that
builds on it (their `honest(...)` calls), so every adversarial candidate is honest code plus one trick."""

import contextlib
import os

import torch
import triton
import triton.language as tl
from torch import nn


@triton.jit
def _scale_add_relu(x_ptr, w_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    w = tl.load(w_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, tl.maximum(x * w + y, 0.0), mask=mask)


def honest(weight: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n = x.numel()
    _scale_add_relu[(triton.cdiv(n, 1024),)](x, weight, y, out, n, BLOCK=1024)
    return out


class Honest(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))


def traced() -> bool:
    """Whether a TorchDispatchMode is active (the harness traces correctness trials)."""
    return torch._C._len_torch_dispatch_stack() > 0


def escaped(what: list[str]) -> None:
    """An isolation case found something: fail loudly, so the verdict shows the escape."""
    if what:
        raise RuntimeError("ESCAPED: " + "; ".join(what)[:500])


def ancestors() -> list[int]:
    pids, pid = [], os.getppid()
    while pid > 1 and len(pids) < 16:
        pids.append(pid)
        stat = ""
        with contextlib.suppress(OSError):  # no try/except: other harnesses' static checks flag those
            stat = open(f"/proc/{pid}/stat").read()
        if not stat:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids
