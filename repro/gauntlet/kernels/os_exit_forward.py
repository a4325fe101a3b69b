"""Calls os._exit(0) inside forward."""


class ModelNew(Honest):
    def forward(self, x, y):
        os._exit(0)
