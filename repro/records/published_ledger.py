"""The reported-versus-reproduced ledger: one versioned JSON file per audited release.

Writer (`audit`) and readers (the site, the CSV export) go through this module. A file holds what was
read (format, source, the bytes' sha256, paper, GPU of the claims), the policies, the base evaluation
settings, and one row per kernel: the headline claim (and the others), and per policy the verdict,
reason, status and measured speedup, with the provenance of the measurement (GPU, driver, CUDA, torch,
triton, commit, date). It is rewritten atomically after every row, so an interrupted audit keeps what
it measured; `--only-missing` resumes it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic
from repro.records.provenance import utc_now

FORMAT = "kernelatlas-published-ledger"
FORMAT_VERSION = 1
ROW_KEYS = ("task", "claim", "policies", "provenance")
POLICY_KEYS = ("verdict", "reason", "status", "speedup")


class LedgerError(ValueError):
    """A ledger file that cannot be used; the message names the file and the field."""


def new_ledger(release: dict[str, Any], policies: dict[str, Any], settings: dict[str, Any],
               settings_hash: str) -> dict[str, Any]:  # fmt: skip
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "release": release,
        "policies": policies,
        "settings": settings,
        "settings_hash": settings_hash,
        "rows": [],
    }


def validate(data: Any, where: str) -> dict[str, Any]:
    """The ledger, or LedgerError naming the first problem."""
    if not isinstance(data, dict):
        raise LedgerError(f"{where}: expected a JSON object")
    if data.get("format") != FORMAT:
        raise LedgerError(f"{where}: format is {data.get('format')!r}, expected {FORMAT!r}")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise LedgerError(
            f"{where}: format_version {version!r} is not supported (this reader knows {FORMAT_VERSION}); "
            "re-run the audit with this version"
        )
    for key in ("release", "policies", "rows"):
        if key not in data:
            raise LedgerError(f"{where}: missing {key!r}")
    if not isinstance(data["rows"], list):
        raise LedgerError(f"{where}: rows must be a list")
    for i, row in enumerate(data["rows"]):
        if not isinstance(row, dict):
            raise LedgerError(f"{where}: rows[{i}] is not an object")
        for key in ROW_KEYS:
            if key not in row:
                raise LedgerError(f"{where}: rows[{i}] ({row.get('task', '?')}): missing {key!r}")
        for name, pol in row["policies"].items():
            if name not in data["policies"]:
                raise LedgerError(f"{where}: rows[{i}] ({row['task']}): policy {name!r} is not declared")
            missing = [k for k in POLICY_KEYS if k not in pol]
            if missing:
                raise LedgerError(f"{where}: rows[{i}] ({row['task']}): policies.{name} lacks {missing}")
    return data


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise LedgerError(f"{path}: cannot be read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise LedgerError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return validate(data, str(path))


def upsert(ledger: dict[str, Any], row: dict[str, Any]) -> None:
    """Replace the row of the same task, or append; rows stay in release order of first insertion."""
    rows = ledger["rows"]
    for i, old in enumerate(rows):
        if old["task"] == row["task"]:
            rows[i] = row
            return
    rows.append(row)


def write(path: Path, ledger: dict[str, Any]) -> None:
    ledger["summary"] = summary(ledger)
    ledger["updated"] = utc_now()
    write_json_atomic(path, ledger)


def _geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summary(ledger: dict[str, Any]) -> dict[str, Any]:
    """Per policy: kernels judged, status counts, share accepted, and claimed against measured speedups.

    Tasks released without a kernel are counted apart (`not_released`), not as judged."""
    rows = ledger["rows"]
    released = [
        r for r in rows if not all(p.get("verdict") == "not_released" for p in r["policies"].values())
    ]
    out: dict[str, Any] = {"rows": len(rows), "not_released": len(rows) - len(released), "policies": {}}

    def claim(r: dict[str, Any]) -> float | None:
        c = r.get("claim") or {}
        return c.get("value") if c.get("metric", "speedup") == "speedup" else None

    out["builds"] = build_summary(released)
    claimed_all = [v for r in released if (v := claim(r)) is not None]
    out["claimed_mean_judged"] = statistics.fmean(claimed_all) if claimed_all else None
    for name in ledger["policies"]:
        judged = [r for r in released if name in r["policies"]]
        ok = [r for r in judged if r["policies"][name]["verdict"] == "correct"]
        pairs = [(claim(r), r["policies"][name]["speedup"]) for r in ok]
        measured = [m for _, m in pairs if m is not None]
        claimed_ok = [c for c, m in pairs if c is not None and m is not None]
        claimed = [v for r in judged if (v := claim(r)) is not None]
        # Speedup over every judged kernel, counting a refused or wrong one as 1.0 (the reference runs).
        as_deployed = [
            (r["policies"][name]["speedup"] or 1.0) if r["policies"][name]["verdict"] == "correct" else 1.0
            for r in judged
        ]
        out["policies"][name] = {
            "judged": len(judged),
            "accepted": len(ok),
            "share_accepted": len(ok) / len(judged) if judged else None,
            "statuses": dict(Counter(r["policies"][name]["status"] for r in judged).most_common()),
            "claimed_mean": statistics.fmean(claimed) if claimed else None,
            "claimed_mean_accepted": statistics.fmean(claimed_ok) if claimed_ok else None,
            "measured_mean_accepted": statistics.fmean(measured) if measured else None,
            "measured_geomean_accepted": _geomean(measured),
            "measured_mean_all_refused_as_1": statistics.fmean(as_deployed) if as_deployed else None,
        }
    return out


def build_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Where the `load_inline` kernels' lane time went: rows by what their prebuild and candidate did, with
    each group's seconds per kernel (`timing_s.wall_s`: reference and candidate together)."""
    groups: dict[str, list[float]] = {
        "no_build": [],
        "built": [],
        "failed_replayed": [],
        "failed_not_replayed": [],
    }
    counts = Counter[str]()
    for r in rows:
        t = r.get("timing_s") or {}
        b = t.get("build")
        for key in ("replayed_in_candidate", "rebuilt_in_candidate", "redirected_in_candidate"):
            counts[key] += bool((b or {}).get(key))
        if t.get("wall_s") is None:
            continue
        group = ("no_build" if not b else "built" if b.get("ok")
                 else "failed_replayed" if b.get("replayed_in_candidate") else "failed_not_replayed")  # fmt: skip
        groups[group].append(float(t["wall_s"]))
    return {
        "prebuilt": sum(bool((r.get("timing_s") or {}).get("build")) for r in rows),
        **{
            k: counts[k] for k in ("replayed_in_candidate", "rebuilt_in_candidate", "redirected_in_candidate")
        },
        "seconds_per_kernel": {
            g: {
                "n": len(xs),
                "median": round(statistics.median(xs), 1),
                "mean": round(statistics.fmean(xs), 1),
            }
            for g, xs in groups.items()
            if xs
        },
    }


CSV_COLUMNS = ["task", "level", "name", "model", "claim_metric", "claim_value", "claim_baseline", "claim_gpu",
               "paper", "benchmark_version"]  # fmt: skip


def to_csv(ledger: dict[str, Any]) -> str:
    """One line per row, the per-policy columns side by side."""
    names = list(ledger["policies"])
    cols = CSV_COLUMNS + [f"{n}_{k}" for n in names for k in ("status", "verdict", "speedup", "reason")]
    cols += ["gpu", "torch", "commit", "date"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in ledger["rows"]:
        c = r.get("claim") or {}
        line = [r["task"], r.get("level"), r.get("name", ""), r.get("model", ""), c.get("metric"), c.get("value"),
                c.get("baseline"), c.get("gpu"), c.get("paper"), c.get("benchmark_version")]  # fmt: skip
        for n in names:
            p = r["policies"].get(n) or {}
            line += [p.get("status"), p.get("verdict"), p.get("speedup"), p.get("reason")]
        prov = r.get("provenance") or {}
        line += [prov.get("name"), prov.get("torch"), (prov.get("git") or {}).get("commit"), prov.get("date")]
        w.writerow(["" if v is None else v for v in line])
    return buf.getvalue()
