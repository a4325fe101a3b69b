"""Calls os._exit(0) inside forward."""

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


class ModelNew(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        import os

        os._exit(0)
