"""A 3x3 convolution with padding 1 (NCHW), the kind of operator cuDNN serves."""

import torch
import torch.nn.functional as F
from torch import nn

SHAPES = [{"n": 16, "c": 64, "k": 64, "hw": 56}, {"n": 3, "c": 32, "k": 48, "hw": 29}]
CPU_SHAPES = [{"n": 1, "c": 4, "k": 8, "hw": 12}, {"n": 2, "c": 3, "k": 5, "hw": 7}]
DTYPE = "float32"


class Model(nn.Module):
    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(k, c, 3, 3) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, padding=1)


def get_inputs(n: int = 16, c: int = 64, k: int = 64, hw: int = 56):
    return [torch.randn(n, c, hw, hw)]


def get_init_inputs(n: int = 16, c: int = 64, k: int = 64, hw: int = 56):
    return [c, k]


def flops(n: int = 16, c: int = 64, k: int = 64, hw: int = 56) -> float:
    return 2.0 * n * k * hw * hw * c * 9


def bytes_moved(n: int = 16, c: int = 64, k: int = 64, hw: int = 56) -> float:
    return 4.0 * (n * c * hw * hw + k * c * 9 + n * k * hw * hw)
