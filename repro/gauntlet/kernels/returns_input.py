"""Returns an input unchanged."""


class ModelNew(Honest):
    def forward(self, x, y):
        return y
