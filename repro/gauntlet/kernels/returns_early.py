"""Returns at once, launching nothing, when its input is empty (a zero-time call); honest otherwise."""


class ModelNew(Honest):
    def forward(self, x, y):
        if x.numel() == 0:
            return torch.empty_like(x)
        return honest(self.weight, x, y)
