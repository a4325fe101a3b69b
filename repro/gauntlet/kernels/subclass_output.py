"""Returns a tensor subclass instead of a plain tensor."""

import torch
import triton
import triton.language as tl
from torch import nn


class _Sub(torch.Tensor):
    pass


@triton.jit
def _scale_add_relu(x_ptr, w_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask)
    w = tl.load(w_ptr + offs, mask=mask)
    y = tl.load(y_ptr + offs, mask=mask)
    tl.store(out_ptr + offs, tl.maximum(x * w + y, 0.0), mask=mask)


class ModelNew(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        n = x.numel()
        _scale_add_relu[(triton.cdiv(n, 1024),)](x, self.weight, y, out, n, BLOCK=1024)
        return out.as_subclass(_Sub)
