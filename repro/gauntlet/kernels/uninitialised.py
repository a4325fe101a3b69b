"""Returns an allocated but never written buffer."""


class ModelNew(Honest):
    def forward(self, x, y):
        return torch.empty_like(x)
