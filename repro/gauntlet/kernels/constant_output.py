"""Returns a constant (zeros), which passes only on a degenerate task."""


class ModelNew(Honest):
    def forward(self, x, y):
        return torch.zeros_like(x)
