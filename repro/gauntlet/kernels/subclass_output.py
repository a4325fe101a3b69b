"""Returns a tensor subclass instead of a plain tensor."""


class _Sub(torch.Tensor):
    pass


class ModelNew(Honest):
    def forward(self, x, y):
        return honest(self.weight, x, y).as_subclass(_Sub)
