"""GPU: a kernel that stores far outside its buffer."""


class ModelNew(Honest):
    def forward(self, x, y):
        out = torch.empty_like(x)
        n = x.numel() + (1 << 30)
        _scale_add_relu[(triton.cdiv(n, 1024),)](x, self.weight, y, out, n, BLOCK=1024)
        return out
