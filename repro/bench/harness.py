"""`python -m repro bench-harness`: how repeatable the harness's timings are and what it costs per candidate.

The same candidate is evaluated N times (each in its own process, after one warm-up evaluation
that fills the reference cache). Reported: the spread of the N medians ((max - min) / median,
target <= 2% on a GPU) and the harness overhead per candidate, i.e. wall time minus the
candidate's first-call (compile) time minus the time inside timed iterations (target <= 2 s).
Writes a JSON with provenance to repro/results/bench/. On CPU it is a mechanism test only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from repro.commands.options import add_settings_arguments, missing_file, settings_from_args

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROBLEM = REPO / "repro" / "tasks" / "level1" / "03_softmax.py"
DEFAULT_CANDIDATE = REPO / "repro" / "solutions" / "level1" / "03_softmax.py"
OUT_DIR = REPO / "repro" / "results" / "bench"


def breakdown(overheads: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median seconds per phase over the runs: the candidate process's phases and the evaluating
    process's own (`parent_s`), so that a change in the overhead shows where it came from."""
    out: dict[str, dict[str, float]] = {}
    for part, key in (("candidate process", "phases_s"), ("evaluating process", "parent_s")):
        names = dict.fromkeys(n for o in overheads for n in (o.get(key) or {}))
        out[part] = {
            n: round(statistics.median([(o.get(key) or {}).get(n, 0.0) for o in overheads]), 3) for n in names
        }
    return out


def bench(problem: Path, candidate: Path, settings: Any, repeats: int) -> dict[str, Any]:
    from repro.harness import evaluate
    from repro.harness.peaks import device_slug

    source = candidate.read_text()
    t0 = time.monotonic()
    first = evaluate(problem, source, settings)
    cold_s = time.monotonic() - t0
    if not first.correct:
        raise ValueError(f"{candidate} is not correct on {problem}: {first.verdict}: {first.reason}")
    runs = [evaluate(problem, source, settings) for _ in range(repeats)]
    medians = [(r.candidate_ms or {})["median"] for r in runs]
    overheads = [r.overhead["wall_s"] - r.overhead["compile_s"] - r.overhead["timed_region_s"] for r in runs]
    med = statistics.median(medians)
    return {
        "problem": str(problem.relative_to(REPO) if problem.is_relative_to(REPO) else problem),
        "candidate": str(candidate.relative_to(REPO) if candidate.is_relative_to(REPO) else candidate),
        "timing": first.timing,
        "repeats": repeats,
        "candidate_medians_ms": medians,
        "repeatability_spread": (max(medians) - min(medians)) / med if med else None,
        "baseline_ms": {k: v.get("median") for k, v in first.baseline_ms.items()},
        "speedups": first.speedups,
        "overhead_s": {
            "median": statistics.median(overheads),
            "max": max(overheads),
            "per_run": overheads,
            "definition": "wall - candidate first-call (compile) time - time inside timed iterations",
        },
        "components_s": [r.overhead for r in runs],
        "breakdown_s": breakdown([r.overhead for r in runs]),
        "first_evaluation_s": round(cold_s, 3),
        "provenance": first.provenance,
        "device_slug": device_slug(str(first.provenance.get("name", settings.device))),
    }


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench-harness", help="measure timing repeatability and per-candidate overhead")
    p.add_argument("--problem", type=Path, default=DEFAULT_PROBLEM)
    p.add_argument("--candidate", type=Path, default=DEFAULT_CANDIDATE)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--out", type=Path, default=None, help=f"JSON to write (default {OUT_DIR}/harness-<device>.json)"
    )
    add_settings_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if error := missing_file(problem=args.problem, candidate=args.candidate):
        print(error, file=sys.stderr)
        return 2
    from repro.harness import HarnessError  # imports torch: after the arguments are checked
    from repro.records.files import write_json_atomic

    try:
        settings = settings_from_args(args)
        report = bench(args.problem.resolve(), args.candidate.resolve(), settings, args.repeats)
    except (HarnessError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report["settings"] = settings.to_dict()
    out = args.out or OUT_DIR / f"harness-{report['device_slug']}.json"
    write_json_atomic(out, report)
    print(
        f"{report['problem']} / {report['candidate']} on {report['provenance'].get('name')} ({report['timing']})"
    )
    print(f"  medians (ms): {', '.join(f'{m:.4f}' for m in report['candidate_medians_ms'])}")
    print(
        f"  repeatability spread (max-min)/median: {100 * report['repeatability_spread']:.2f}%  (target <= 1%)"
    )
    o = report["overhead_s"]
    print(
        f"  harness overhead per candidate: median {o['median']:.2f} s, max {o['max']:.2f} s  (target <= 1.5 s)"
    )
    for part, phases in report["breakdown_s"].items():
        print(f"    {part} (median s): " + ", ".join(f"{n} {sec:.3f}" for n, sec in phases.items()))
    print(f"  first evaluation (fills the reference cache): {report['first_evaluation_s']:.1f} s")
    print(f"  written to {out}")
    return 0
