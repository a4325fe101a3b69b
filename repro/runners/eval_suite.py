"""`python -m repro eval-suite`: evaluate many candidates, in parallel, resumably, with suite metrics.

Candidates are matched to problems by file name. Each finished evaluation is appended to
`evaluations.jsonl` under the output folder, keyed by problem + candidate hash + settings, so a
rerun skips it. At the end `results.json` (all rows, provenance, metrics) and `metrics.csv` are
written atomically. Evaluations go to a backend (`repro.backends`): `--backend local` runs one at a
time per GPU (`--gpus 0,1,...`) or per CPU worker (`--workers N`); `--backend ray` runs them as tasks
on a Ray cluster. Either way `evaluate` runs every candidate in its own process.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

from repro.backends import Backend, EvaluationLost
from repro.harness.settings import EvalSettings
from repro.records.files import write_json_atomic
from repro.records.suite_results import FORMAT as SUITE_FORMAT
from repro.records.suite_results import FORMAT_VERSION as SUITE_FORMAT_VERSION
from repro.records.suite_results import metrics_csv, suite_metrics


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
    problems: str, candidates: str, out_dir: Path, settings: EvalSettings, backend: Backend
) -> dict[str, Any]:
    from tqdm import tqdm

    from repro.harness import HarnessError

    pairs = find_pairs(problems, candidates)
    if not pairs:
        raise ValueError(f"--problems {problems}: no problem files found")
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "evaluations.jsonl"
    done = _load_done(log_path)
    fp = settings.fingerprint()
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
    from repro.records.provenance import provenance, utc_now

    summary = {
        "format": SUITE_FORMAT,
        "format_version": SUITE_FORMAT_VERSION,
        "problems": problems,
        "candidates": candidates,
        "date": utc_now(),
        "settings": settings.to_dict(),
        "backend": backend.name,
        "provenance": provenance("cpu"),
        "metrics": metrics,
        "results": ordered,
    }
    write_json_atomic(out_dir / "results.json", summary)
    tmp = out_dir / ".metrics.csv.tmp"
    tmp.write_text(metrics_csv(metrics))
    os.replace(tmp, out_dir / "metrics.csv")
    return summary
