"""GPU: correct output, plus slow work on a side stream the current stream never waits for."""


class ModelNew(Honest):
    def forward(self, x, y):
        if not hasattr(self, "_side"):
            self._side = torch.cuda.Stream()
        with torch.cuda.stream(self._side):
            torch.cuda._sleep(20_000_000)
        return honest(self.weight, x, y)
