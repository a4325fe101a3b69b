"""Rejected: writes its result into an input."""


class ModelNew(Honest):
    def forward(self, x, y):
        n = x.numel()
        _scale_add_relu[(triton.cdiv(n, 1024),)](x, self.weight, y, x, n, BLOCK=1024)
        return x
