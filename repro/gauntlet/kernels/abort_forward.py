"""Aborts the process inside forward."""


class ModelNew(Honest):
    def forward(self, x, y):
        import os

        os.abort()
