"""Appends to the harness's own source in the checkout (found through the imported package)."""

import sys

done = []
root = os.path.dirname(os.path.dirname(sys.modules["repro"].__file__))
for path in (os.path.join(root, "repro", "harness", "compare.py"), os.path.join(root, "gauntlet-was-here")):
    with contextlib.suppress(OSError), open(path, "a") as f:
        f.write("")
        done.append(f"wrote {path}")
escaped(done)


class ModelNew(Honest):
    def forward(self, x, y):
        return honest(self.weight, x, y)
