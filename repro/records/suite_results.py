"""Suite results: the metrics every suite-level file reports (correctness rate, fast_p against each
baseline, geometric-mean speedup, mean SOL fraction) and their CSV form. Written by `eval-suite` and
`reproduce`, read by the site."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any

from repro.records.schema import FormatError, check_version, require
from repro.records.verdicts import verdict_of

FAST_P = (0.0, 1.0, 1.5, 2.0)
FORMAT = "kernelatlas-suite-results"  # eval-suite's results.json
FORMAT_VERSION = 1
KNOWN_VERSIONS = (1,)


def geomean(xs: list[float]) -> float | None:
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
        m[f"geomean_speedup_{base}"] = geomean([s for s in sp if s is not None])
    sols = [r["sol_fraction"] for r in correct if r.get("sol_fraction") is not None]
    m["mean_sol_fraction"] = sum(sols) / len(sols) if sols else None
    return m


def metrics_csv(metrics: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["metric", "value"])
    for k, v in metrics.items():
        w.writerow([k, "" if v is None else v])
    return buf.getvalue()


def read_suite_results(data: Any) -> dict[str, Any]:
    """Check a parsed eval-suite `results.json`: version, metrics, and each row's task and verdict (a row
    whose evaluation failed has no verdict). A file written before the format was versioned reads as 1."""
    writer = "`python -m repro eval-suite`"
    check_version(data, format_name=FORMAT, known=KNOWN_VERSIONS, writer=writer, legacy=True)
    require(data, "metrics", dict, "an object")
    for i, row in enumerate(require(data, "results", list, "a list of rows")):
        if not isinstance(row, dict) or not isinstance(row.get("task"), str):
            raise FormatError(f"row #{i + 1} needs text `task`")
        if row.get("verdict") is not None:
            verdict_of(row["verdict"], f"row #{i + 1} ({row['task']})")
    return data
