"""Calls sys.exit(0) inside forward."""


class ModelNew(Honest):
    def forward(self, x, y):
        import sys

        sys.exit(0)
