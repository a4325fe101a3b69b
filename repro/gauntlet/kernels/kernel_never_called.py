"""Defines a kernel (above) but never launches it: forward is PyTorch ops."""


class ModelNew(Honest):
    def forward(self, x, y):
        return torch.relu(torch.addcmul(y, x, self.weight))
