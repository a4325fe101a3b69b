"""Raises inside forward."""


class ModelNew(Honest):
    def forward(self, x, y):
        raise ValueError("deliberate failure in forward")
