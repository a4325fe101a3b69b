"""`python -m repro.bench.refcache`: seconds per cache hit of a reference bundle with large outputs.

A task whose outputs are large (a softmax over 8192x8192, five trials: 1.3 GB) has a large bundle;
every candidate of the task asks `reference_bundle` for it. The bundle of a small CPU task is computed
for real, its outputs file is then grown to `--gb` (extra tensors the comparisons never read) with its
checksum rewritten, the in-process memo is cleared, and `reference_bundle` is called `--calls` times.
CPU only; prints JSON.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROBLEM = REPO / "repro" / "gauntlet" / "kernels" / "problem_scale_add.py"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m repro.bench.refcache", description=__doc__.split("\n")[0])
    p.add_argument("--gb", type=float, default=1.34, help="size to grow the outputs file to (GB)")
    p.add_argument("--calls", type=int, default=5)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-refcache-") as tmp:
        os.environ["KERNELATLAS_CACHE"] = tmp
        import torch

        from repro.harness import EvalSettings

        ev = importlib.import_module("repro.harness.evaluate")  # the package exports a function of that name
        settings = EvalSettings(device="cpu", correctness_trials=1, timing_iters=8, min_timing_iters=5,
                                warmup=1, baselines=("eager",))  # fmt: skip
        ev.reference_bundle(PROBLEM, PROBLEM.read_text(), settings)
        folder = next((Path(tmp) / "refs").iterdir())
        outputs = ev._load_outputs(folder / "outputs.pt")
        per = 1 << 28  # 268 MB tensors, as one 8192x8192 fp32 output
        for k in range(max(1, round(args.gb * 1e9 / per))):
            outputs[f"filler/{k}"] = [torch.randn(per // 4)]
        torch.save(outputs, folder / "outputs.pt")
        del outputs
        (folder / "checksum").write_text(ev._digest(folder) + "\n")
        ev._bundle_memo.clear()
        times = []
        for _ in range(args.calls):
            t0 = time.perf_counter()
            ev.reference_bundle(PROBLEM, PROBLEM.read_text(), settings)
            times.append(round(time.perf_counter() - t0, 3))
        size = (folder / "outputs.pt").stat().st_size
    print(json.dumps({"outputs_bytes": size, "call_s": times, "load_average": os.getloadavg()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
