"""GPU: asks for far more memory than any GPU has."""


class ModelNew(Honest):
    def forward(self, x, y):
        return torch.empty(1 << 43, dtype=torch.uint8, device=x.device)
