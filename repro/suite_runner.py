"""`python -m repro eval-suite`: evaluate many candidates, in parallel, resumably, with suite metrics.

Candidates are matched to problems by file name. Each finished evaluation is appended to
`evaluations.jsonl` under the output folder, keyed by problem + candidate hash + settings, so a
rerun skips it. At the end `results.json` (all rows, provenance, metrics) and `metrics.csv` are
written atomically. Evaluations go to a backend (`repro.backends`): `--backend local` runs one at a
time per GPU (`--gpus 0,1,...`) or per CPU worker (`--workers N`); `--backend ray` runs them as tasks
on a Ray cluster. Either way `evaluate` runs every candidate in its own process.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterable
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

from repro.backends import Backend, EvaluationLost, add_backend_arguments, make_backend
from repro.harness.cache import write_json_atomic
from repro.harness.eval_command import add_settings_arguments, settings_from_args

FAST_P = (0.0, 1.0, 1.5, 2.0)
RESULTS_ROOT = Path(__file__).resolve().parent / "results" / "eval-suite"


def find_pairs(problems: str, candidates: str) -> list[tuple[str, Path, Path | None]]:
    """(task name, problem path, candidate path or None) for every problem of the suite or folder."""
    from repro.tasks import list_tasks

    tasks = list_tasks(problems)
    pairs = []
    for task in tasks:
        if candidates == "solutions":
            cand = task.solution
        else:
            root = Path(candidates)
            options = [root / f"{task.name}.py", root / task.path.name]
            cand = next((p for p in options if p.is_file()), None)
        pairs.append((task.name, task.path, cand))
    return pairs


def evaluation_key(problem_src: str, candidate_src: str | bytes, settings_fp: str) -> str:
    from repro.harness.evaluate import sha256

    return sha256(sha256(problem_src) + sha256(candidate_src) + settings_fp)[:32]


def _geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def suite_metrics(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Correctness rate, fast_p against each baseline, geometric-mean speedup and mean SOL fraction.

    Every problem counts in the denominators; a problem without a candidate, or whose evaluation
    failed, counts as not correct and not fast.
    """
    rows = list(rows)
    n = len(rows)
    correct = [r for r in rows if r.get("correct")]
    m: dict[str, Any] = {
        "problems": n,
        "correct": len(correct),
        "correct_rate": len(correct) / n if n else None,
    }
    for base in ("eager", "compile"):
        sp = [(r.get("speedups") or {}).get(base) for r in correct]
        for p in FAST_P:
            m[f"fast_{p:g}_{base}"] = sum(1 for s in sp if s is not None and s > p) / n if n else None
        m[f"geomean_speedup_{base}"] = _geomean([s for s in sp if s is not None])
    sols = [r["sol_fraction"] for r in correct if r.get("sol_fraction") is not None]
    m["mean_sol_fraction"] = sum(sols) / len(sols) if sols else None
    return m


def _metrics_csv(metrics: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["metric", "value"])
    for k, v in metrics.items():
        w.writerow([k, "" if v is None else v])
    return buf.getvalue()


def _load_done(path: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by an interrupted run is evaluated again
            done[row["key"]] = row
    return done


def run_suite(
    problems: str, candidates: str, out_dir: Path, args: argparse.Namespace, backend: Backend
) -> dict[str, Any]:
    from tqdm import tqdm

    from repro.harness import HarnessError

    pairs = find_pairs(problems, candidates)
    if not pairs:
        raise ValueError(f"--problems {problems}: no problem files found")
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "evaluations.jsonl"
    done = _load_done(log_path)
    fp = settings_from_args(args).fingerprint()
    rows: dict[str, dict[str, Any]] = {}
    todo = []
    for name, problem, cand in pairs:
        if cand is None:
            rows[name] = {"task": name, "problem": str(problem), "candidate": None, "correct": False,
                          "verdict": None, "reason": "no candidate file for this problem"}  # fmt: skip
            continue
        key = evaluation_key(problem.read_text(), cand.read_bytes(), fp)
        if key in done:
            rows[name] = done[key]
        else:
            todo.append((name, problem, cand, key))
    settings = settings_from_args(args)

    def row_of(name: str, cand: Path, key: str, fut: Any) -> dict[str, Any]:
        try:
            res = fut.result()
        except (HarnessError, EvaluationLost) as exc:
            return {"task": name, "key": None, "correct": False, "verdict": None, "reason": str(exc)[:2000]}
        return {"task": name, "key": key, "candidate": str(cand), **res}

    futures = {backend.submit(problem, cand.read_bytes(), settings): (name, cand, key)
               for name, problem, cand, key in todo}  # fmt: skip
    with open(log_path, "a") as log:
        for fut in tqdm(
            as_completed(futures), total=len(futures), desc="eval-suite", unit="cand", file=sys.stderr
        ):
            row = row_of(*futures[fut], fut)
            rows[row["task"]] = row
            if row.get("key"):  # harness failures and lost evaluations are retried on the next run
                log.write(json.dumps(row, default=str) + "\n")
                log.flush()
                os.fsync(log.fileno())
    ordered = [rows[name] for name, _, _ in pairs]
    metrics = suite_metrics(ordered)
    from repro.provenance import provenance, utc_now

    summary = {
        "problems": problems,
        "candidates": candidates,
        "date": utc_now(),
        "settings": settings_from_args(args).to_dict(),
        "backend": backend.name,
        "provenance": provenance("cpu"),
        "metrics": metrics,
        "results": ordered,
    }
    write_json_atomic(out_dir / "results.json", summary)
    tmp = out_dir / ".metrics.csv.tmp"
    tmp.write_text(_metrics_csv(metrics))
    os.replace(tmp, out_dir / "metrics.csv")
    return summary


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval-suite", help="evaluate a folder of candidates against a task suite")
    p.add_argument(
        "--problems", required=True, help="suite name (level1|level2|level3|all|smoke) or a folder"
    )
    p.add_argument("--candidates", required=True, help="folder of candidate files, or 'solutions'")
    p.add_argument(
        "--out", type=Path, default=None, help="output folder (default repro/results/eval-suite/<suite>)"
    )
    p.add_argument("--gpus", default=None, help="comma-separated GPU indices, one worker each (default 0)")
    p.add_argument("--workers", type=int, default=1, help="parallel workers on CPU")
    add_settings_arguments(p)
    add_backend_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.candidates != "solutions" and not Path(args.candidates).is_dir():
        print(f"error: --candidates {args.candidates}: not a folder (or 'solutions')", file=sys.stderr)
        return 2
    try:
        settings = settings_from_args(args)
        if settings.device == "cuda":
            slots: list[int | None] = [int(g) for g in (args.gpus or "0").split(",")]
        else:
            slots = [None] * max(1, args.workers)
        name = Path(args.problems).name if Path(args.problems).is_dir() else args.problems
        out = args.out or RESULTS_ROOT / f"{name}-{settings.device}"
        with contextlib.closing(make_backend(args, settings.device, slots)) as backend:
            summary = run_suite(args.problems, args.candidates, out, args, backend)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    m = summary["metrics"]
    print(
        f"{m['correct']}/{m['problems']} correct; results in {out}/results.json, metrics in {out}/metrics.csv"
    )
    for k, v in m.items():
        print(f"  {k:28s} {v if v is None or isinstance(v, int) else round(v, 4)}")
    return 0
