"""Test problem: problem_scale_add with a timed shape of 64M elements (about 0.25 ms on an H200), for the
parent-clocked check of reported times: above the launch cost the timed loop's pre-roll hides."""

import torch
from torch import nn

SHAPES = [{"n": 1 << 26}, {"n": 1_000_003}]
CPU_SHAPES = [{"n": 4099}, {"n": 1000}]
DTYPE = "float32"


class Model(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.relu(x * self.weight + y)


def get_inputs(n: int = 1 << 26):
    return [torch.randn(n), torch.randn(n)]


def get_init_inputs(n: int = 1 << 26):
    return [n]


def flops(n: int = 1 << 26) -> float:
    return 3.0 * n


def bytes_moved(n: int = 1 << 26) -> float:
    return 4.0 * 4 * n
