"""Leaves a background thread running."""


class ModelNew(Honest):
    def forward(self, x, y):
        import threading
        import time

        if not hasattr(self, "_t"):
            self._t = threading.Thread(target=time.sleep, args=(600,), daemon=True)
            self._t.start()
        return honest(self.weight, x, y)
