"""Incorrect: leaves the tail of the output unwritten (NaN-filled)."""


class ModelNew(Honest):
    def forward(self, x, y):
        out = torch.full_like(x, float("nan"))
        n = x.numel() - 7
        _scale_add_relu[(triton.cdiv(n, 1024),)](x, self.weight, y, out, n, BLOCK=1024)
        return out
