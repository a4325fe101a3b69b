"""Published results re-measured: the audit ledgers (`repro/results/published/*.json`, written by
`python -m repro audit`) and the KernelBench baselines (`repro/results/kernelbench/*.json`, written by
`python -m repro kernelbench`), read and checked field by field for the pages that set a paper's claims
beside what our harness measured. A malformed file is named and skipped, never fatal.

The site reads these files, never repro's measuring code: the checks and the per-policy headline are
written here from the file formats. Whether a row's released kernel ran (or its build failed and its
PyTorch fallback was measured) is read through `repro.records.published_ledger`, the torch-free module
that owns the ledger format, so the page, the downloads and the audit's own summary derive it alike.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repro.records.kernelbench_results import SET_ASIDE
from repro.records.provenance import HARNESS_VERSION
from repro.records.published_ledger import build_record_problem, derived, policy_problem, readings_note

LEDGER_FORMAT = "kernelatlas-published-ledger"
BASELINES_FORMAT = "kernelatlas-kernelbench-baselines"
FORMAT_VERSION = 1
POLICY_LABELS = {"strict": "strict (kernels only, fp32 within 1e-4)", "kernelbench": "KernelBench's rules"}


@dataclass
class Headline:
    """One policy's outcome over the kernels a release shipped."""

    policy: str
    judged: int
    accepted: int
    statuses: list[tuple[str, int]]
    claimed_mean: float | None
    claimed_mean_accepted: float | None
    measured_mean_accepted: float | None
    measured_geomean_accepted: float | None
    mean_refused_as_1: float | None
    # Accepted rows whose released kernel did not run (its build failed; the PyTorch fallback was measured),
    # by the build's cause and by status; the measured figures again over the accepted kernels that ran.
    fallback: int = 0
    fallback_by_cause: list[tuple[str, int]] = field(default_factory=list)
    fallback_statuses: list[tuple[str, int]] = field(default_factory=list)
    accepted_ran: int = 0
    measured_mean_accepted_ran: float | None = None
    measured_geomean_accepted_ran: float | None = None

    @property
    def label(self) -> str:
        return POLICY_LABELS.get(self.policy, self.policy)

    @property
    def short_label(self) -> str:
        return {"strict": "strict", "kernelbench": "KernelBench's rules"}.get(self.policy, self.policy)

    @property
    def share(self) -> float | None:
        return self.accepted / self.judged if self.judged else None


@dataclass
class Audit:
    """One ledger file: a release's claims beside our measurements under each policy."""

    path: str
    slug: str
    release: dict
    policies: dict
    rows: list[dict]
    headlines: list[Headline]
    not_released: int
    gpus: list[str]
    commits: list[str]
    dates: list[str]
    entry_id: str | None = None

    @property
    def name(self) -> str:
        return str(self.release.get("name") or self.slug)

    @property
    def judged_rows(self) -> list[dict]:
        return [r for r in self.rows if not _not_released(r)]

    @property
    def torch_versions(self) -> list[str]:
        """The torch versions the judged kernels were built and measured with."""
        return sorted({str(t) for r in self.judged_rows if (t := (r.get("provenance") or {}).get("torch"))})

    @property
    def harness_versions(self) -> list[tuple[str, int]]:
        """(harness version, judged rows judged at it), oldest first: rows of an older version were
        judged by older rules, which the page says beside the current one."""
        found = Counter(
            str((r.get("provenance") or {}).get("harness_version") or "not recorded")
            for r in self.judged_rows
        )
        return sorted(
            found.items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0)
        )

    @property
    def judged_before_current(self) -> int:
        """Judged rows not judged at the current harness version (another version, or none recorded)."""
        return sum(n for v, n in self.harness_versions if v != HARNESS_VERSION)

    def fallback_tag(self, row: dict, policy: str) -> str | None:
        """The words set beside a row's status where its released kernel did not run: "fallback: build
        failed (cause)" where the candidate still ran (what was judged is the kernel's code without its
        extension, its PyTorch fallback as a rule), "build failed (cause)" where it failed as well."""
        if row.get("kernel_ran") is not False:
            return None
        ran = (row["policies"].get(policy) or {}).get("verdict") in ("correct", "rejected", "incorrect")
        return f"{'fallback: ' if ran else ''}build failed ({row.get('build_failure')})"

    def claims_by_baseline(self) -> list[dict]:
        """The release's own speedup claims grouped by what they were measured against (its headline claim
        and every `other_claims` entry): per baseline, how many, their geometric mean and how many reach
        `BIG_CLAIM`, in the order the release first names them. A speedup over eager and one over a CUDA
        graph of the same reference are different claims: the gap between them is launch overhead."""
        groups: dict[str, list[float]] = {}
        for row in self.rows:
            # A claim that names no baseline is over eager, as the importers default it.
            for c in [row.get("claim") or {}, *(row.get("other_claims") or [])]:
                v = c.get("value")
                if c.get("metric", "speedup") == "speedup" and isinstance(v, int | float) and v > 0:
                    groups.setdefault(str(c.get("baseline") or "eager"), []).append(float(v))
        return [{"baseline": b, "claims": len(xs), "geomean": _geomean(xs), "big": sum(x >= BIG_CLAIM for x in xs)}
                for b, xs in groups.items()]  # fmt: skip

    def launch_overhead_claims(self) -> dict:
        """Of the judged kernels claimed at `BIG_CLAIM` or more over eager (`big`), those whose release
        also claims under `GRAPH_EVEN` over a CUDA graph of the reference (`rows`, the largest gap first,
        with each policy's status here): by the release's own numbers their speedup is the launches saved,
        which capturing the unchanged reference in a graph saves too. The two thresholds come with them,
        for the pages that say them."""
        rows, big = [], 0
        for row in self.judged_rows:
            c = row.get("claim") or {}
            eager = c.get("value") if str(c.get("baseline") or "eager") == "eager" else None
            if not (isinstance(eager, int | float) and eager >= BIG_CLAIM):
                continue
            big += 1
            graph = next((o.get("value") for o in row.get("other_claims") or []
                          if "graph" in str(o.get("baseline", "")).lower() and isinstance(o.get("value"), int | float)),
                         None)  # fmt: skip
            if graph is not None and graph < GRAPH_EVEN:
                statuses = {n: (p.get("status") or "—") for n, p in row["policies"].items()}
                accepted = [n for n, p in row["policies"].items() if p.get("verdict") == "correct"]
                # Measured here over our own CUDA-graph replay (`--baselines eager,cuda-graph`), per policy.
                measured = {n: sp for n, p in row["policies"].items()
                            if (sp := ((p.get("other_baselines") or {}).get("cuda-graph") or {}).get("speedup"))}  # fmt: skip
                rows.append({"task": row["task"], "eager": float(eager), "graph": float(graph),
                             "statuses": statuses, "accepted": accepted, "measured_graph": measured})  # fmt: skip
        return {"rows": sorted(rows, key=lambda r: r["graph"] / r["eager"]), "big": big, "big_claim": BIG_CLAIM,
                "graph_even": GRAPH_EVEN}  # fmt: skip

    def not_run(self) -> list[tuple[str, int]]:
        """Judged rows whose released kernel did not run (its build failed), by cause, most frequent first."""
        causes = [r["build_failure"] for r in self.judged_rows if r.get("kernel_ran") is False]
        return Counter(causes).most_common()

    @property
    def models(self) -> list[str]:
        """The models that wrote the kernels, where the release names one per row (a leaderboard)."""
        return sorted({str(r["model"]) for r in self.rows if r.get("model")})

    def model_headlines(self) -> list[tuple[str, int, list[Headline]]]:
        """Per model with a kernel judged: how many, and each policy's headline over them."""
        out = []
        for model in self.models:
            rows = [r for r in self.judged_rows if r.get("model") == model]
            if rows:
                out.append((model, len(rows), headlines(self.policies, rows)))
        return out

    def readings_tag(self, row: dict, policy: str) -> str | None:
        """The words set beside a policy's speedup where `audit --retime` read the row more than once: the
        range of the accepted speedups and the count ("0.32–2.51×, 2 readings"), and how many readings
        accepted it where their verdicts differ; None for a row read once."""
        return readings_note(row["policies"].get(policy) or {})

    def verdicts_differ(self, row: dict, policy: str) -> str | None:
        """ "accepted in 1 of 2 readings" where a policy's readings disagree on the verdict, else None."""
        pol = row["policies"].get(policy) or {}
        if not pol.get("verdict_readings"):
            return None
        readings = pol.get("readings") or []
        return (
            f"accepted in {sum(r.get('verdict') == 'correct' for r in readings)} of {len(readings)} readings"
        )

    def retimed(self) -> int:
        """Judged rows read in more than one audit run under some policy."""
        return sum(
            any(len(p.get("readings") or []) >= 2 for p in r["policies"].values()) for r in self.judged_rows
        )

    def not_judged(self) -> list[tuple[str, list[str]]]:
        """Rows with no kernel to judge, grouped by the reason the ledger gives, most frequent first."""
        groups: dict[str, list[str]] = {}
        for r in self.rows:
            if _not_released(r):
                reason = next((str(p.get("reason") or "") for p in r["policies"].values()), "")
                groups.setdefault(reason or "no kernel released", []).append(r["task"])
        return sorted(groups.items(), key=lambda kv: -len(kv[1]))


BIG_CLAIM = 1.5  # a claimed speedup this large over eager is a headline result
GRAPH_EVEN = 1.1  # under this over a CUDA graph of the reference, a kernel adds little beyond capturing it
MODE_MARGIN = 0.10  # closer than this, the two compiles are called even
MODE_SLOWER = 1.2  # max-autotune this much slower than the default compile: listed by name
HOST_CLOCK = "timed by the host clock"  # the harness's note when work escaped the stream's events
# Eager at least this much slower than its own CUDA-graph replay: the host's launches, not the GPU, set the
# time. Such readings move by up to ~2x between processes on one machine (BENCHMARKS.md, "Host-bound").
HOST_BOUND = 1.2


@dataclass
class Baselines:
    """One KernelBench baselines file: per problem, baselines, FLOPs, bytes and SOL fractions."""

    path: str
    slug: str
    gpu: str
    kernelbench: dict
    provenance: dict
    peaks: dict
    settings: dict
    tasks: list[dict]
    set_aside: list[dict] = field(default_factory=list)  # runs whose readings were withdrawn, and why
    runs: int = 1  # runs that measured the file; `provenance` is the newest one's

    @property
    def set_aside_notes(self) -> list[dict]:
        """Each set-aside with how many of its withdrawn readings have been measured again since (the
        reading is kept under the baseline's `set_aside` beside the new one)."""
        out = []
        for a in self.set_aside:
            runs = set(a.get("runs") or [])
            again = sum(
                1
                for t in self.tasks
                for b in (t.get("baselines") or {}).values()
                if isinstance(b, dict) and (b.get("set_aside") or {}).get("run") in runs and b.get("median")
            )
            out.append({**a, "again": again})
        return out

    @property
    def levels(self) -> list[dict]:
        """Per level: problems measured, and median SOL fraction of each baseline over the problems it was
        measured on (`counted`: fewer than `measured` while a baseline's runs are still under way)."""
        out = []
        for level in sorted({t["level"] for t in self.tasks}):
            rows = [t for t in self.tasks if t["level"] == level]
            names = sorted({b for t in rows for b in t.get("baselines", {})}, key=_baseline_order)
            medians, counted = {}, {}
            for b in names:
                xs = [t["sol_fraction"][b] for t in rows if (t.get("sol_fraction") or {}).get(b)]
                medians[b], counted[b] = (statistics.median(xs) if xs else None), len(xs)
            out.append({"level": level, "measured": sum(not t.get("error") for t in rows), "median_sol": medians,
                        "counted": counted, "baselines": names})  # fmt: skip
        return out

    @property
    def baseline_names(self) -> list[str]:
        return sorted({b for t in self.tasks for b in t.get("baselines", {})}, key=_baseline_order)

    @property
    def compile_modes(self) -> dict | None:
        """max-autotune against the default `torch.compile`, per problem measured with both: how often
        it is faster or slower by more than `MODE_MARGIN`, and the problems where it is slower by more
        than `MODE_SLOWER`, worst first, each flagged where it was timed by the host clock. Which compile
        a paper reports against changes its speedups."""
        pairs, host = [], set()
        for t in self.tasks:
            b = t.get("baselines") or {}
            c, m = (b.get("compile") or {}).get("median"), (b.get("max-autotune") or {}).get("median")
            if c and m:
                pairs.append((t["task"], c, m))
                if HOST_CLOCK in str((b.get("max-autotune") or {}).get("method", "")):
                    host.add(t["task"])
        if not pairs:
            return None
        return {
            "margin": MODE_MARGIN,
            "listed_above": MODE_SLOWER,
            "both": len(pairs),
            "faster": sum(c / m > 1 + MODE_MARGIN for _, c, m in pairs),
            "slower": sum(m / c > 1 + MODE_MARGIN for _, c, m in pairs),
            "worst": sorted(
                ((task, m / c, c, m, task in host) for task, c, m in pairs if m / c > MODE_SLOWER),
                key=lambda x: -x[1],
            ),
        }

    @property
    def host_bound(self) -> dict | None:
        """Problems whose eager time is at least `HOST_BOUND` times their CUDA-graph replay, most host-bound
        first, with counts per level and how many of the compile comparisons involve one. Their eager and
        compile readings time the CPU's launches as much as the kernels, so speedups over them do not carry
        from one host (or one process) to another; the replay is the baseline that does."""
        rows = []
        for t in self.tasks:
            b = t.get("baselines") or {}
            e, g = (b.get("eager") or {}).get("median"), (b.get("cuda-graph") or {}).get("median")
            if e and g and e / g >= HOST_BOUND:
                rows.append((t["task"], e / g))
        if not rows:
            return None
        rows.sort(key=lambda x: -x[1])
        names = {task for task, _ in rows}
        return {
            "ratio": HOST_BOUND,
            "problems": rows,
            "names": names,
            "by_level": sorted(Counter(t.split("/")[0] for t in names).items()),
            "of": sum(bool((t.get("baselines") or {}).get("cuda-graph", {}).get("median")) for t in self.tasks),
            "in_compile_modes": sum(t["task"] in names for t in self.tasks
                                    if (t.get("baselines") or {}).get("compile", {}).get("median")
                                    and (t.get("baselines") or {}).get("max-autotune", {}).get("median")),
        }  # fmt: skip

    @property
    def gaps(self) -> list[dict]:
        """Per baseline that some problem lacks: the problems where its measurement failed, with the
        reason stored (a compilation that outlasted the timeout, memory), and how many are not yet run."""
        out = []
        rows = [t for t in self.tasks if not t.get("error")]
        for name in self.baseline_names:
            failed = [(t["task"], _failure(b), bool(b.get("retry")))
                      for t in rows if isinstance(b := (t.get("baselines") or {}).get(name), dict)
                      and b.get("error")]  # fmt: skip
            absent = sum(name not in (t.get("baselines") or {}) for t in rows)
            if failed or absent:
                parts = [f"{absent} not run yet"] if absent else []
                if failed:
                    parts.append(f"{len(failed)} failed")
                out.append({"baseline": name, "failed": failed, "absent": absent, "of": len(rows),
                            "summary": "; ".join(parts) + (":" if failed else ".")})  # fmt: skip
        return out


@dataclass
class Published:
    audits: list[Audit] = field(default_factory=list)
    baselines: list[Baselines] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def for_entry(self, entry_id: str) -> dict | None:
        audits = [a for a in self.audits if a.entry_id == entry_id]
        baselines = self.baselines if entry_id == "kernelbench" else []
        return {"audits": audits, "baselines": baselines} if audits or baselines else None


def _baseline_order(name: str) -> tuple[int, str]:
    order = ["eager", "cuda-graph", "compile", "max-autotune"]
    return (order.index(name) if name in order else len(order), name)


def _not_released(row: dict) -> bool:
    return all(p.get("verdict") == "not_released" for p in row["policies"].values())


def _geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def _claim(row: dict) -> float | None:
    c = row.get("claim") or {}
    v = c.get("value")
    return float(v) if isinstance(v, int | float) and c.get("metric", "speedup") == "speedup" else None


def headlines(policies: dict, rows: list[dict]) -> list[Headline]:
    """Per policy over the released kernels: accepted, statuses, claimed against measured speedups."""
    released = [r for r in rows if not _not_released(r)]
    out = []
    for name in policies:
        judged = [r for r in released if name in r["policies"]]
        ok = [r for r in judged if r["policies"][name]["verdict"] == "correct"]
        measured = [
            r["policies"][name]["speedup"] for r in ok if r["policies"][name].get("speedup") is not None
        ]
        claimed = [c for r in judged if (c := _claim(r)) is not None]
        claimed_ok = [c for r in ok if (c := _claim(r)) is not None]
        as_1 = [(r["policies"][name].get("speedup") or 1.0) if r in ok else 1.0 for r in judged]
        facts = [(r, derived(r)) for r in ok]
        fallback = [(r, d) for r, d in facts if d["kernel_ran"] is False]
        ran = [
            sp
            for r, d in facts
            if d["kernel_ran"] is True and (sp := r["policies"][name].get("speedup")) is not None
        ]
        out.append(
            Headline(
                name,
                len(judged),
                len(ok),
                Counter(r["policies"][name]["status"] for r in judged).most_common(),
                statistics.fmean(claimed) if claimed else None,
                statistics.fmean(claimed_ok) if claimed_ok else None,
                statistics.fmean(measured) if measured else None,
                _geomean(measured),
                statistics.fmean(as_1) if as_1 else None,
                len(fallback),
                Counter(d["build_failure"] for _, d in fallback).most_common(),
                Counter(r["policies"][name]["status"] for r, _ in fallback).most_common(),
                len(ran),
                statistics.fmean(ran) if ran else None,
                _geomean(ran),
            )  # fmt: skip
        )
    return out


def _check_format(data: object, fmt: str, command: str) -> dict:
    """The file's object, if it names `fmt` and the version this reader knows."""
    if not isinstance(data, dict):
        raise ValueError("the top level must be a JSON object")
    if data.get("format") != fmt:
        raise ValueError(f"`format` must be {fmt!r} (files here are written by `python -m repro {command}`)")
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"`format_version` {data.get('format_version')!r} is not {FORMAT_VERSION}")
    return data


def _check_ledger(raw: object) -> dict:
    data = _check_format(raw, LEDGER_FORMAT, "audit")
    for key, kind in (("release", dict), ("policies", dict), ("rows", list)):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"`{key}` must be a JSON {'object' if kind is dict else 'list'}")
    for i, row in enumerate(data["rows"]):
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("task"), str)
            or not isinstance(row.get("policies"), dict)
        ):
            raise ValueError(f"row #{i + 1} needs text `task` and an object `policies`")
        for name, pol in row["policies"].items():
            if name not in data["policies"]:
                raise ValueError(
                    f"row #{i + 1} ({row['task']}): policy {name!r} is not declared in `policies`"
                )
            if not isinstance(pol, dict) or not isinstance(pol.get("status"), str) or "verdict" not in pol:
                raise ValueError(
                    f"row #{i + 1} ({row['task']}): `policies.{name}` needs `verdict` and text `status`"
                )
            sp = pol.get("speedup")
            if sp is not None and not isinstance(sp, int | float):
                raise ValueError(
                    f"row #{i + 1} ({row['task']}): `policies.{name}.speedup` must be a number or null"
                )
            wrong = policy_problem(pol)
            if wrong:
                raise ValueError(f"row #{i + 1} ({row['task']}): `policies.{name}`: {wrong}")
        problem = build_record_problem(row)
        if problem:
            raise ValueError(f"row #{i + 1} ({row['task']}): `{problem[0]}` {problem[1]}")
    return data


def _check_baselines(raw: object) -> dict:
    data = _check_format(raw, BASELINES_FORMAT, "kernelbench")
    if not isinstance(data.get("tasks"), dict):
        raise ValueError("`tasks` must be an object keyed by task")
    for key, rec in data["tasks"].items():
        if not isinstance(rec, dict) or not isinstance(rec.get("level"), int):
            raise ValueError(f"task {key!r} needs an integer `level`")
        if not rec.get("error") and not isinstance(rec.get("baselines"), dict):
            raise ValueError(f"task {key!r} needs an object `baselines` (or an `error`)")
    return data


def _task_order(key: str) -> tuple[int, int, str]:
    m = re.match(r"level(\d+)/(\d+)", key)
    return (int(m.group(1)), int(m.group(2)), key) if m else (99, 0, key)


def load_published(results_dir: Path, arxiv_to_entry: dict[str, str] | None = None) -> Published:
    """Every ledger and baselines file under `results_dir`; ledgers matched to entries by arXiv id."""
    out = Published()
    root = results_dir.parent.parent if results_dir.name == "results" else results_dir
    for path in sorted((results_dir / "published").glob("*.json")):
        rel = _rel(path, root)
        try:
            data = _check_ledger(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, ValueError) as exc:
            out.errors.append(f"{rel}: {exc}")
            continue
        # Each row with what is derived from it (whether its kernel ran, why its build failed), for the page
        # and the downloads; the stored fields are kept as they are.
        rows = [{**r, **derived(r)} for r in data["rows"]]
        provs = [r.get("provenance") or {} for r in rows]
        paper = str(data["release"].get("paper") or "")
        arxiv = paper.removeprefix("arXiv:").split("v")[0]
        out.audits.append(
            Audit(
                rel,
                path.stem,
                data["release"],
                data["policies"],
                rows,
                headlines(data["policies"], rows),
                sum(_not_released(r) for r in rows),
                sorted({p["name"] for p in provs if p.get("name")}),
                sorted({(p.get("git") or {}).get("commit") or "" for p in provs} - {""}),
                sorted({p["date"] for p in provs if p.get("date")}),
                (arxiv_to_entry or {}).get(arxiv),
            )  # fmt: skip
        )
    for path in sorted((results_dir / "kernelbench").glob("*.json")):
        rel = _rel(path, root)
        try:
            data = _check_baselines(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError, ValueError) as exc:
            out.errors.append(f"{rel}: {exc}")
            continue
        tasks = [
            {"task": k, **v} for k, v in sorted(data["tasks"].items(), key=lambda kv: _task_order(kv[0]))
        ]
        # The newest run's provenance: `--merge` adds runs without touching the file's top-level copy.
        runs = [r for r in data.get("runs") or [] if isinstance(r, dict) and r.get("provenance")]
        prov = (runs[-1]["provenance"] if runs else None) or data.get("provenance") or {}
        out.baselines.append(
            Baselines(
                rel,
                path.stem,
                str(prov.get("name") or path.stem),
                data.get("kernelbench") or {},
                prov,
                data.get("peaks") or {},
                data.get("settings") or {},
                tasks,
                [a for a in data.get("set_aside") or [] if isinstance(a, dict)],
                max(len(runs), 1),
            )  # fmt: skip
        )
    return out


def _failure(b: dict) -> str:
    """What a failed baseline's gap says: its error, how often and how long it has been tried where it
    ran out of time more than once, or a pointer to the set-aside note."""
    error = str(b.get("error"))
    if error.startswith(SET_ASIDE):
        return "set aside (see the note above)"
    attempts, tried = b.get("attempts"), b.get("seconds_tried")
    notes = []
    if isinstance(attempts, int) and attempts > 1 and isinstance(tried, (int, float)):
        notes.append(f"{attempts} attempts, {tried:g} s in all")
    shapes = (b.get("autotune_cache") or {}).get("shapes_after")
    if isinstance(shapes, int) and shapes > 0:
        notes.append(f"autotune timings of {shapes} shapes kept for the next run")
    if not notes:
        return error
    if error.endswith(")"):  # "… (the run was stopped while it ran)": one parenthesis, not two
        return f"{error[:-1]}; {'; '.join(notes)})"
    return f"{error} ({'; '.join(notes)})"


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


LEDGER_CSV_COLUMNS = ["task", "level", "name", "model", "claim_metric", "claim_value", "claim_baseline",
                      "claim_gpu", "paper", "benchmark_version"]  # fmt: skip


def ledger_csv(audit: Audit) -> str:
    """One line per task; each policy's status, verdict, speedup, reason, number of readings and spread
    side by side."""
    names = list(audit.policies)
    # The release's other claims (one column per baseline it names) and the other baselines timed here.
    claimed = list(dict.fromkeys(str(c.get("baseline")) for r in audit.rows for c in r.get("other_claims") or []
                                 if c.get("metric", "speedup") == "speedup" and c.get("baseline")))  # fmt: skip
    timed = list(dict.fromkeys(k for r in audit.rows for p in r["policies"].values()
                               for k in p.get("other_baselines") or {}))  # fmt: skip
    cols = LEDGER_CSV_COLUMNS + [f"claim_over_{_column(b)}" for b in claimed]
    cols += [
        f"{n}_{k}" for n in names for k in ("status", "verdict", "speedup", "reason", "readings", "spread")
    ]
    cols += [f"{n}_speedup_over_{_column(k)}" for n in names for k in timed]
    cols += ["kernel_ran", "build_failure", "build_failures", "measured_on", "torch", "commit", "date"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in audit.rows:
        c = r.get("claim") or {}
        line: list[Any] = [r["task"], r.get("level"), r.get("name", ""), r.get("model", ""), c.get("metric"),
                           c.get("value"), c.get("baseline"), c.get("gpu"), c.get("paper"),
                           c.get("benchmark_version")]  # fmt: skip
        others = {str(o.get("baseline")): o.get("value") for o in r.get("other_claims") or []}
        line += [others.get(b) for b in claimed]
        for n in names:
            p = r["policies"].get(n) or {}
            line += [p.get("status"), p.get("verdict"), p.get("speedup"), p.get("reason"),
                     len(p.get("readings") or []) or None, p.get("spread")]  # fmt: skip
        for n in names:
            ob = (r["policies"].get(n) or {}).get("other_baselines") or {}
            line += [(ob.get(k) or {}).get("speedup") for k in timed]
        d = derived(r)
        line += [
            {True: "true", False: "false"}.get(d["kernel_ran"]),
            d["build_failure"],
            "; ".join(d["build_failures"]),
        ]
        prov = r.get("provenance") or {}
        line += [prov.get("name"), prov.get("torch"), (prov.get("git") or {}).get("commit"), prov.get("date")]
        w.writerow(["" if v is None else v for v in line])
    return buf.getvalue()


def _column(name: str) -> str:
    """A CSV column name part from a baseline's words: "CUDA graph of the reference" -> cuda_graph_of_the_reference."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def baselines_csv(b: Baselines) -> str:
    names = b.baseline_names
    cols = ["task", "level", "flops", "bytes", "dtype", "bound", "sol_ms"]
    cols += [f"{n}_ms" for n in names] + [f"{n}_sol_fraction" for n in names] + ["eager_over_graph", "error"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for t in b.tasks:
        base = t.get("baselines") or {}
        line: list[Any] = [t["task"], t["level"], t.get("flops"), t.get("bytes"), t.get("dtype"), t.get("bound"),
                           t.get("sol_ms")]  # fmt: skip
        line += [(base.get(n) or {}).get("median") for n in names]
        line += [(t.get("sol_fraction") or {}).get(n) for n in names]
        e, g = (base.get("eager") or {}).get("median"), (base.get("cuda-graph") or {}).get("median")
        line += [round(e / g, 3) if e and g else None]
        line += [t.get("error") or "; ".join(f"{n}: {v['error']}" for n, v in base.items() if v.get("error"))]
        w.writerow(["" if v is None else v for v in line])
    return buf.getvalue()


def download_files(published: Published) -> dict[str, str]:
    """downloads/<name> -> content: each ledger as JSON and CSV, each baselines file likewise."""
    out: dict[str, str] = {}
    for a in published.audits:
        out[f"ledger-{a.slug}.json"] = json.dumps(
            {"format": LEDGER_FORMAT, "format_version": FORMAT_VERSION, "release": a.release,
             "policies": a.policies, "rows": a.rows}, indent=1)  # fmt: skip
        out[f"ledger-{a.slug}.csv"] = ledger_csv(a)
    for b in published.baselines:
        out[f"kernelbench-baselines-{b.slug}.csv"] = baselines_csv(b)
    return out
