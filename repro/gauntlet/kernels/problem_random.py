"""A broken problem: its reference adds noise in forward, so two runs with the same seed differ."""

import torch
from torch import nn

CPU_SHAPES = [{"n": 1000}]
SHAPES = [{"n": 1 << 20}]


class Model(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.relu(x * self.weight + y) + 1e-3 * torch.rand_like(x)


def get_inputs(n: int = 1 << 20):
    return [torch.randn(n), torch.randn(n)]


def get_init_inputs(n: int = 1 << 20):
    return [n]
