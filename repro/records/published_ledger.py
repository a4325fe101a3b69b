"""The reported-versus-reproduced ledger: one versioned JSON file per audited release.

Writer (`audit`) and readers (the site, the CSV export) go through this module. A file holds what was
read (format, source, the bytes' sha256, paper, GPU of the claims), the policies, the base evaluation
settings, and one row per kernel: the headline claim (and the others), and per policy the verdict,
reason, status and measured speedup, with the provenance of the measurement (GPU, driver, CUDA, torch,
triton, commit, date). It is rewritten atomically after every row, so an interrupted audit keeps what
it measured; `--only-missing` resumes it. Each audit run is appended to `runs` (date, commit, harness
version, lanes, kernels judged, seconds), so an audit resumed over several runs is timed from the file.

`audit --retime` takes another reading of a row in fresh processes under the same settings: each policy
then keeps `readings` (the first is the row's values from before), carries its median reading, `spread`
(largest over smallest accepted speedup), and `verdict_readings` where the readings' verdicts differ
(`repro.published.audit.combine_readings` states the rule).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
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
            wrong = policy_problem(pol)
            if wrong:
                raise LedgerError(f"{where}: rows[{i}] ({row['task']}): policies.{name}.{wrong}")
        problem = build_record_problem(row)
        if problem:
            raise LedgerError(f"{where}: rows[{i}] ({row['task']}): {problem[0]} {problem[1]}")
    return data


def policy_problem(pol: dict[str, Any]) -> str | None:
    """What is wrong with a policy's `readings` (written by `audit --retime`) or `other_baselines` (each
    other baseline timed, `--baselines eager,cuda-graph`), None when usable or absent."""
    others = pol.get("other_baselines")
    if others is not None:
        if not isinstance(others, dict):
            return "other_baselines must be an object keyed by baseline"
        for name, o in others.items():
            sp = o.get("speedup") if isinstance(o, dict) else None
            if not (isinstance(o, dict) and _number(o.get("ms")) and (sp is None or _number(sp))):
                return f'other_baselines.{name} must be {{"ms": number, "speedup": number or null}}'
    readings = pol.get("readings")
    if readings is None:
        return None
    if not isinstance(readings, list) or not readings:
        return "readings must be a non-empty list"
    for j, r in enumerate(readings):
        if not isinstance(r, dict) or not isinstance(r.get("verdict"), str):
            return f"readings[{j}] must be an object with a text `verdict`"
        sp = r.get("speedup")
        if sp is not None and not _number(sp):
            return f"readings[{j}].speedup must be a number or null"
    return None


def _number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def readings_note(pol: dict[str, Any]) -> str | None:
    """How repeatable a policy's verdict is, in words, where it has two or more readings: the range of the
    accepted speedups ("0.32–2.51×, 2 readings") and, where verdicts differ, how many accepted."""
    readings = pol.get("readings") or []
    if len(readings) < 2:
        return None
    speeds = [s for r in readings if r.get("verdict") == "correct" and (s := r.get("speedup"))]
    parts = []
    if len(speeds) >= 2:
        parts.append(f"{min(speeds):.2f}–{max(speeds):.2f}×")
    parts.append(f"{len(readings)} readings")
    if pol.get("verdict_readings"):
        accepted = sum(r.get("verdict") == "correct" for r in readings)
        parts.append(f"accepted in {accepted} of {len(readings)}")
    return ", ".join(parts)


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


# Why a released kernel's `load_inline`/`load` build failed, read from the compiler's words in the row's
# `timing_s.build` (`errors`, then `log_tail`). Most such kernels catch the failure and compute with
# PyTorch instead, so what was measured is that fallback. In the order a row's causes are reported: the
# source's own mistakes first (they stop the build on any torch version), then what differs in the torch
# the kernel met, then the rest.
BINDING = "binding error in the source"
CUDA_IN_CPP = "CUDA code in the C++ source"
SYNTAX = "source does not parse"
TORCH_REMOVED = "torch API removed since"
TORCH_UNDECLARED = "torch name not declared"
CXX_STANDARD = "C++17 not enabled"
OTHER_COMPILER = "other compiler error"
NOT_WRITABLE = "build folder not writable"
TIMEOUT = "build timed out"
NOT_KEPT = "compiler output not kept"
BUILD_FAILURES = (BINDING, CUDA_IN_CPP, SYNTAX, TORCH_REMOVED, TORCH_UNDECLARED, CXX_STANDARD,
                  OTHER_COMPILER, NOT_WRITABLE, TIMEOUT, NOT_KEPT)  # fmt: skip
_CUDA_BUILTINS = r"threadIdx|blockIdx|blockDim|gridDim|warpSize|__syncthreads|__shfl\w*|__global__|__shared__"
_BUILD_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # `PYBIND11_MODULE` in `cpp_sources` beside `functions=[...]`: main.cpp defines the module twice.
    (
        BINDING,
        re.compile(
            r"redefinition of .(?:PyObject\* PyInit_|int pybind11_exec_|void pybind11_init_)"
            r"|pybind11_init_\w+\(pybind11::module_&\). previously defined here"
        ),
    ),
    # A CUDA kernel written into `cpp_sources`, which the C++ compiler (not nvcc) reads.
    (CUDA_IN_CPP, re.compile(rf"main\.cpp:\d+:\d+: error: .*\W(?:{_CUDA_BUILTINS})\W")),
    # `functions=[...]` (or the module's own binding) names a function main.cpp never sees declared.
    (
        BINDING,
        re.compile(
            rf"main\.cpp:\d+:\d+: error: .(?!(?:{_CUDA_BUILTINS}).)\w+. was not declared in this scope"
        ),
    ),
    (SYNTAX, re.compile(r"\bSyntaxError\b")),
    # `tensor.type()` given to `AT_DISPATCH_*`: accepted by older torch, an error since.
    (
        TORCH_REMOVED,
        re.compile(
            r'no suitable conversion function from "const at::DeprecatedTypeProperties" '
            r'to "c10::ScalarType"'
        ),
    ),
    # A torch name used without the header that declares it (`ATen/cuda/CUDAContext.h` and the like).
    (
        TORCH_UNDECLARED,
        re.compile(
            r'namespace "(?:at|c10|torch)(?:::\w+)*" has no member'
            r'|identifier "(?:AT|C10|TORCH)_\w+" is undefined'
        ),
    ),
    (
        CXX_STANDARD,
        re.compile(r"C\+\+17 or later compatible compiler is required|requires at least C\+\+ ?17"),
    ),
    (NOT_WRITABLE, re.compile(r"PermissionError|Permission denied")),
    (TIMEOUT, re.compile(r"build did not finish within")),
)
# A compiler's diagnostic line (gcc `file:line:col: error:`, nvcc `file(line): error:`, `#error`).
_DIAGNOSTIC = re.compile(r"(?::\d+:\d+|\(\d+\)): (?:fatal )?error\b|#\s*error\b")


def build_record_problem(row: dict[str, Any]) -> tuple[str, str] | None:
    """The field of a row's `timing_s.build` that cannot be read for the build's outcome, and what it must
    be; None when it is readable (or absent: a kernel with nothing to build)."""
    timing = row.get("timing_s")
    if timing is None:
        return None
    if not isinstance(timing, dict):
        return "timing_s", "must be an object"
    build = timing.get("build")
    if build is None:
        return None
    if not isinstance(build, dict) or not isinstance(build.get("ok"), bool):
        return "timing_s.build", "must be an object with a boolean `ok`"
    errors = build.get("errors", [])
    if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
        return "timing_s.build.errors", "must be a list of text lines"
    if not isinstance(build.get("log_tail", ""), str):
        return "timing_s.build.log_tail", "must be text"
    return None


def build_failure_causes(build: dict[str, Any]) -> list[str]:
    """Each cause a failed build's recorded text shows, in `BUILD_FAILURES` order; `NOT_KEPT` where the
    record holds no diagnostic to read (rows written before the prebuild read the compiler's streamed
    output kept only torch's one-line error and the last 300 characters of the log)."""
    errors = list(build.get("errors") or [])
    # The log's tail repeats error lines, its first one often cut: a line already in `errors` is read once.
    tail = [
        t for t in str(build.get("log_tail") or "").splitlines() if not any(t.strip() in e for e in errors)
    ]
    lines = errors + tail
    found = {cause for cause, rule in _BUILD_RULES for line in lines if rule.search(line)}
    if build.get("cause") == "timeout":
        found.add(TIMEOUT)
    explained = [line for line in lines if any(rule.search(line) for _, rule in _BUILD_RULES)]
    if any(_DIAGNOSTIC.search(line) for line in lines if line not in explained):
        found.add(OTHER_COMPILER)
    return [c for c in BUILD_FAILURES if c in found] or [NOT_KEPT]


def kernel_ran(row: dict[str, Any]) -> bool | None:
    """Whether the released kernel's own code ran when it was judged.

    False where its build failed at the compiler (the prebuild compiles the same source with the same
    torch and compilers on the same host as the candidate, so the candidate's build failed too: what was
    judged is whatever the kernel does without its extension, usually its PyTorch fallback), or where the
    prebuild stopped before the build (timed out, or never reached the call) and the candidate failed to
    compile as well. None where it is not known (no kernel released; a prebuild that stopped before the
    build while the candidate went on to run). True otherwise: built, or nothing to build."""
    if all(p.get("verdict") == "not_released" for p in row["policies"].values()):
        return None
    build = (row.get("timing_s") or {}).get("build")
    if not build or build.get("ok"):
        return True
    if build.get("cause") in ("timeout", "not_reached") and any(
        p.get("verdict") != "compile_error" for p in row["policies"].values()
    ):
        return None
    return False


def build_failure(row: dict[str, Any]) -> list[str]:
    """The causes of the failed build of a row whose kernel did not run, first the one to name; [] else."""
    if kernel_ran(row) is not False:
        return []
    return build_failure_causes((row.get("timing_s") or {}).get("build") or {})


def derived(row: dict[str, Any]) -> dict[str, Any]:
    """What a reader derives from a stored row (never stored in it, so a better reading applies to every
    ledger already written): whether the kernel ran, and if not, why its build failed."""
    causes = build_failure(row)
    return {"kernel_ran": kernel_ran(row), "build_failure": causes[0] if causes else None,
            "build_failures": causes}  # fmt: skip


def summary(ledger: dict[str, Any]) -> dict[str, Any]:
    """Per policy: kernels judged, status counts, share accepted, and claimed against measured speedups.

    Tasks released without a kernel are counted apart (`not_released`), not as judged. Accepted rows whose
    kernel did not run (`kernel_ran`: its build failed and the PyTorch fallback was measured) are counted
    apart too, by cause, with the measured figures again over the accepted kernels that ran."""
    rows = ledger["rows"]
    released = [
        r for r in rows if not all(p.get("verdict") == "not_released" for p in r["policies"].values())
    ]
    out: dict[str, Any] = {"rows": len(rows), "not_released": len(rows) - len(released), "policies": {}}

    def claim(r: dict[str, Any]) -> float | None:
        c = r.get("claim") or {}
        return c.get("value") if c.get("metric", "speedup") == "speedup" else None

    out["builds"] = build_summary(released)
    not_run = [r for r in released if kernel_ran(r) is False]
    out["kernel_not_run"] = {"rows": len(not_run),
                             "by_cause": dict(Counter(build_failure(r)[0] for r in not_run).most_common())}  # fmt: skip
    claimed_all = [v for r in released if (v := claim(r)) is not None]
    out["claimed_mean_judged"] = statistics.fmean(claimed_all) if claimed_all else None
    for name in ledger["policies"]:
        judged = [r for r in released if name in r["policies"]]
        ok = [r for r in judged if r["policies"][name]["verdict"] == "correct"]
        pairs = [(claim(r), r["policies"][name]["speedup"]) for r in ok]
        measured = [m for _, m in pairs if m is not None]
        fallback = [r for r in ok if kernel_ran(r) is False]
        ran = [m for r in ok if kernel_ran(r) is True and (m := r["policies"][name]["speedup"]) is not None]
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
            "accepted_fallback": len(fallback),
            "accepted_fallback_by_cause": dict(Counter(build_failure(r)[0] for r in fallback).most_common()),
            "accepted_fallback_statuses": dict(
                Counter(r["policies"][name]["status"] for r in fallback).most_common()
            ),
            # rows read more than once (`audit --retime`), and those whose readings' verdicts differ
            "retimed": sum(len(r["policies"][name].get("readings") or []) >= 2 for r in judged),
            "verdicts_differ": sum(bool(r["policies"][name].get("verdict_readings")) for r in judged),
            "accepted_kernel_ran": len(ran),
            "measured_mean_accepted_kernel_ran": statistics.fmean(ran) if ran else None,
            "measured_geomean_accepted_kernel_ran": _geomean(ran),
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
    cols = CSV_COLUMNS + [
        f"{n}_{k}" for n in names for k in ("status", "verdict", "speedup", "reason", "readings", "spread")
    ]
    cols += ["kernel_ran", "build_failure", "build_failures", "gpu", "torch", "commit", "date"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in ledger["rows"]:
        c = r.get("claim") or {}
        line = [r["task"], r.get("level"), r.get("name", ""), r.get("model", ""), c.get("metric"), c.get("value"),
                c.get("baseline"), c.get("gpu"), c.get("paper"), c.get("benchmark_version")]  # fmt: skip
        for n in names:
            p = r["policies"].get(n) or {}
            line += [p.get("status"), p.get("verdict"), p.get("speedup"), p.get("reason"),
                     len(p.get("readings") or []) or None, p.get("spread")]  # fmt: skip
        d = derived(r)
        ran = {True: "true", False: "false"}.get(d["kernel_ran"])
        line += [ran, d["build_failure"], "; ".join(d["build_failures"])]
        prov = r.get("provenance") or {}
        line += [prov.get("name"), prov.get("torch"), (prov.get("git") or {}).get("commit"), prov.get("date")]
        w.writerow(["" if v is None else v for v in line])
    return buf.getvalue()
