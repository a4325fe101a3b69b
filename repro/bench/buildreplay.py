"""`python -m repro.bench.buildreplay`: what replaying a failed prebuild saves a candidate's process.

A kernel in the shape of most of CUDA-L1's failing releases: `load_inline` with a `main.cpp` that binds a
function its `cpp_sources` never declare, so the compiler fails after parsing torch's headers; the kernel
catches the error and computes with PyTorch. It is prebuilt as `repro audit` does, then judged twice from
the same build folder: with the prebuild's records (the failure replayed) and without (compiled again).
Prints the prebuild's seconds and, per run, the candidate process's seconds, the phase its build fell in,
and whether the kernel's except clause saw the same error. C++ only: any host with a compiler and ninja.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

KERNEL = """import json, os
import torch
from torch import nn
from torch.utils.cpp_extension import load_inline
WHERE = "prebuild" if os.path.isfile("kernel_source.py") else "candidate"
try:
    fused = load_inline(name="bench_fused", cpp_sources="", functions=["fused_forward"], extra_cflags=["-O2"])
except Exception as e:
    fused = None
    with open(os.path.join(os.environ["TORCH_EXTENSIONS_DIR"], "seen.jsonl"), "a") as f:
        f.write(json.dumps([WHERE, type(e).__name__, str(e)]) + "\\n")
class ModelNew(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n))
    def forward(self, x, y):
        return torch.relu(x * self.weight + y)
"""
PROBLEM = Path(__file__).resolve().parents[1] / "gauntlet" / "kernels" / "problem_scale_add.py"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m repro.bench.buildreplay", description=__doc__)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--timeout", type=float, default=600.0, help="per build and per candidate (s)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from repro.harness import EvalSettings
    from repro.harness.evaluate import evaluate_policies
    from repro.published.audit import prebuild, with_build_dir, without_build_directory

    work = Path(tempfile.mkdtemp(prefix="kernelatlas-bench-replay-"))
    os.environ.setdefault("KERNELATLAS_CACHE", str(work / "cache"))
    build = work / "build"
    build.mkdir()
    (build / "kernel_source.py").write_text(without_build_directory(KERNEL))
    info = prebuild(build / "kernel_source.py", build, "", args.timeout)
    print(f"prebuild: {info['cause']} in {info['seconds']} s; replayable {info['replayable']}")
    settings = EvalSettings(device=args.device, correctness_trials=1, timing_iters=4, min_timing_iters=2,
                            warmup=0, baselines=("eager",), timeout_s=args.timeout, ops_policy="any")  # fmt: skip
    figures: dict[str, object] = {"prebuild_s": info["seconds"], "device": args.device}
    for label, records in (("replayed", info["replay"]), ("compiled_again", [])):
        res = evaluate_policies(PROBLEM, with_build_dir(KERNEL, build, ""), {"": dataclasses.replace(settings)},
                                writable=(build,), build_replay=records)[""]  # fmt: skip
        over: dict[str, Any] = dict(res.overhead)
        phases: dict[str, float] = over.get("phases_s") or {}
        slowest = max(phases, key=lambda p: phases[p]) if phases else None
        figures[label] = {"verdict": res.verdict, "candidate_process_s": res.overhead.get("candidate_process_s"),
                          "slowest_phase": [slowest, phases.get(slowest)] if slowest else None,
                          "build_replay": over.get("build_replay")}  # fmt: skip
        print(f"{label}: {json.dumps(figures[label])}")
    seen = [json.loads(line) for line in (build / "seen.jsonl").read_text().splitlines()]
    same = len(seen) == 3 and seen[0][1:] == seen[1][1:] == seen[2][1:]
    figures["same_error_everywhere"] = same
    print(f"the except clause saw the same error in the prebuild and both candidates: {same}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
