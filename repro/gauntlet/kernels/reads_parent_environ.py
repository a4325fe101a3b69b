"""Reads the environment and memory of the processes above it (where secrets live)."""

got = []
for pid in ancestors():
    for name in ("environ", "mem"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/{name}", "rb") as f:
            if name == "environ" and f.read(1):
                got.append(f"/proc/{pid}/environ")
            if name == "mem":
                got.append(f"opened /proc/{pid}/mem")
escaped(got)


class ModelNew(Honest):
    def forward(self, x, y):
        return honest(self.weight, x, y)
