"""Attention: softmax(q k^T / sqrt(d)) v over (batch, heads, sequence, head dim)."""

import torch
import torch.nn.functional as F
from torch import nn

SHAPES = [{"b": 4, "h": 16, "s": 1024, "d": 64}, {"b": 2, "h": 8, "s": 333, "d": 64}]
CPU_SHAPES = [{"b": 1, "h": 2, "s": 64, "d": 32}, {"b": 2, "h": 1, "s": 33, "d": 16}]
DTYPE = "float32"


class Model(nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v)


def get_inputs(b: int = 4, h: int = 16, s: int = 1024, d: int = 64):
    return [torch.randn(b, h, s, d), torch.randn(b, h, s, d), torch.randn(b, h, s, d)]


def get_init_inputs(b: int = 4, h: int = 16, s: int = 1024, d: int = 64):
    return []


def flops(b: int = 4, h: int = 16, s: int = 1024, d: int = 64) -> float:
    return 4.0 * b * h * s * s * d


def bytes_moved(b: int = 4, h: int = 16, s: int = 1024, d: int = 64) -> float:
    return 4.0 * 4 * b * h * s * d
