"""Rejected: computes the result with PyTorch ops instead of a kernel."""


class ModelNew(Honest):
    def forward(self, x, y):
        return torch.relu(x * self.weight + y)
