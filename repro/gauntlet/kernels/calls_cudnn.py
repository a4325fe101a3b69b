"""GPU: cuDNN called directly (torch.cudnn_convolution), skipping F.conv2d's dispatch to it; TF32 off so
the numbers match and only the library call is at issue."""

import torch
from torch import nn


class ModelNew(nn.Module):
    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(k, c, 3, 3) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cudnn_convolution(x, self.weight, [1, 1], [1, 1], [1, 1], 1, False, True, False)
