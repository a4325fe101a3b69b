"""A degenerate problem: its timed (first) shape has an empty output, so any candidate's time there is
launch cost or nothing at all, and a speedup over it would collapse (or explode) a suite's geomean."""

import torch
from torch import nn

SHAPES = [{"n": 0}, {"n": 1_000_003}]
CPU_SHAPES = [{"n": 0}, {"n": 1000}]
DTYPE = "float32"


class Model(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.relu(x * self.weight + y)


def get_inputs(n: int = 0):
    return [torch.randn(n), torch.randn(n)]


def get_init_inputs(n: int = 0):
    return [n]
