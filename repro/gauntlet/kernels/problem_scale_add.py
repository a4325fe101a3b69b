"""Test problem: relu(x * w + y) with a learned per-element weight w."""

import torch
from torch import nn

SHAPES = [{"n": 1 << 24}, {"n": 1_000_003}]
CPU_SHAPES = [{"n": 4099}, {"n": 1000}]
DTYPE = "float32"


class Model(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.relu(x * self.weight + y)


def get_inputs(n: int = 1 << 24):
    return [torch.randn(n), torch.randn(n)]


def get_init_inputs(n: int = 1 << 24):
    return [n]


def flops(n: int = 1 << 24) -> float:
    return 3.0 * n


def bytes_moved(n: int = 1 << 24) -> float:
    return 4.0 * 4 * n
