"""Changes the default dtype at import."""

torch.set_default_dtype(torch.float64)


class ModelNew(Honest):
    def forward(self, x, y):
        return honest(self.weight, x, y)
