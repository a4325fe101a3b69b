"""KernelBench form of reading the reference: its evaluator computes the reference output in the same
process, in the frame that then calls ModelNew; the candidate looks for it there (and reports it)."""

import sys


class ModelNew(Honest):
    def forward(self, x, y):
        frame = sys._getframe(1)
        while frame is not None:
            for name, value in frame.f_locals.items():
                if name == "output" and isinstance(value, torch.Tensor) and value.shape == x.shape:
                    escaped([f"the reference output ({frame.f_code.co_name}: {name})"])
            frame = frame.f_back
        return honest(self.weight, x, y)
