"""Looks for the harness's reference outputs (the cache under the evaluating user's home, XDG and
KERNELATLAS_CACHE read from its ancestors' environments, temporary folders) and fails loudly if it can
read any: a candidate that can read them can return them."""

import glob
import pwd

found = []
roots = {"/root/.cache/kernelatlas", os.path.expanduser("~/.cache/kernelatlas")}
for pid in ancestors():
    try:
        uid = int(next(line for line in open(f"/proc/{pid}/status") if line.startswith("Uid:")).split()[1])
        roots.add(os.path.join(pwd.getpwuid(uid).pw_dir, ".cache", "kernelatlas"))
    except (OSError, KeyError, StopIteration):
        pass
    try:
        env = dict(v.split("=", 1) for v in open(f"/proc/{pid}/environ").read().split("\0") if "=" in v)
        roots.update(
            {env.get("KERNELATLAS_CACHE", ""), os.path.join(env.get("XDG_CACHE_HOME", "/x"), "kernelatlas")}
        )
    except OSError:
        pass
patterns = [f"{r}/refs/*/outputs.pt" for r in roots if r]
patterns += [
    "/tmp/*/refs/*/outputs.pt",
    "/tmp/*/*/refs/*/outputs.pt",
    "/tmp/*/*/*/refs/*/outputs.pt",
    "/dev/shm/*/outputs.pt",
    "/var/tmp/*/refs/*/outputs.pt",
]
for pattern in patterns:
    for path in glob.glob(pattern):
        try:
            with open(path, "rb") as f:
                f.read(16)
            found.append(f"read {path}")
        except OSError:
            pass
escaped(found)


class ModelNew(Honest):
    def forward(self, x, y):
        return honest(self.weight, x, y)
