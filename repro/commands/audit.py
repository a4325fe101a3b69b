"""`python -m repro audit`: re-measure a released kernel set under both policies into a ledger file.

    python -m repro audit --format cudal1 --release PATH_OR_URL/h100.json --gpu H100 \\
        --out repro/results/published/cuda-l1-h100.json --build-workers 14 --deadline-s 540 [--per-gpu 2] [--gpus 0,1,2,3]

    python -m repro audit --format kernelbench-leaderboard --release PATH_OR_RAW_URL_OF_KernelBenchLeaderboard \
        --out repro/results/published/kernelbench-leaderboard-l40s.json --levels 1 --order release

    python -m repro audit --format cudal1 --release PATH/h100.json --prebuild-only prebuilds.json --build-workers 14

checks every load_inline build in a few minutes of CPU time (the report counts them by cause and keeps
each failed build's compiler errors). Run again with the same arguments to continue where it stopped (rows measured at this commit with the
same settings are kept; `--only-missing` also keeps rows of earlier commits, `--force` re-measures;
`--retime` takes one more reading of the selected rows and keeps the earlier ones).
Exit status 0 when the audit ran, whatever the verdicts; 2 when the release or the ledger is unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from repro.published.policies import POLICY_NAMES
from repro.published.releases import FORMATS


def register(subparsers: argparse._SubParsersAction) -> None:
    from repro.commands.options import add_settings_arguments

    p = subparsers.add_parser(
        "audit", help="re-measure released kernels (CUDA-L1, KernelBench runs and leaderboard, JSONL)"
    )
    p.add_argument("--format", required=True, choices=FORMATS, help="release format")
    p.add_argument(
        "--release",
        required=True,
        help="release file, run folder or leaderboard checkout: a local path or an http(s) URL",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="ledger file to write (JSON; required unless --prebuild-only)"
    )
    p.add_argument(
        "--problems", type=Path, default=None, help="KernelBench checkout (kernelbench-run format)"
    )
    p.add_argument(
        "--gpu", default="", help="GPU the release's claims were measured on (default from the file)"
    )
    p.add_argument("--release-commit", default="",
                   help="the release's commit, where its checkout has no git history or its URL names none")  # fmt: skip
    p.add_argument("--paper", default="", help="paper the claims come from, e.g. arXiv:2507.14111")
    p.add_argument("--benchmark-version", default="",
                   help="KernelBench version the claims used (sets the kernelbench policy's tolerance)")  # fmt: skip
    p.add_argument("--policies", default=",".join(POLICY_NAMES), help="comma-separated (default both)")
    p.add_argument("--tasks", default=None, help="comma-separated task keys, e.g. level1/1,level2/17")
    p.add_argument("--levels", default=None, help="comma-separated levels, e.g. 1,2")
    p.add_argument("--limit", type=int, default=None, help="judge at most this many kernels")
    p.add_argument("--order", choices=["levels-interleaved", "release"], default="levels-interleaved",
                   help="judging order: one kernel of each level in turn (default), so a run stopped by its "
                   "deadline leaves a sample of every level; or the release's order")  # fmt: skip
    p.add_argument("--deadline-s", type=float, default=None, help="start no kernel after this many seconds")
    p.add_argument("--build-workers", type=int, default=None,
                   help="parallel load_inline builds on the CPU (default: CPU count - 2; 0: build in the harness)")  # fmt: skip
    p.add_argument("--build-timeout", type=float, default=600.0, help="seconds per build (default 600)")
    p.add_argument("--prebuild-only", type=Path, default=None, metavar="REPORT.json",
                   help="only prebuild the load_inline kernels (--build-workers at a time, no GPU used) and write "
                   "each build's outcome, compiler errors and the build environment to this JSON file")  # fmt: skip
    p.add_argument("--work", type=Path, default=Path("runs") / "audit", help="problem files and builds")
    p.add_argument("--gpus", default=None,
                   help="comma-separated GPU indices, one lane per GPU judging different kernels into the same "
                   "ledger, e.g. 0,1,2,3 (default: the current GPU, one lane)")  # fmt: skip
    p.add_argument("--workers", type=int, default=1, help="lanes on --device cpu (default 1)")
    p.add_argument("--per-gpu", type=int, default=1,
                   help="lanes per GPU: kernels judged at once on one GPU, each timed with the GPU to itself "
                   "(compiling and correctness trials overlap another's; default 1)")  # fmt: skip
    g = p.add_mutually_exclusive_group()
    g.add_argument("--only-missing", action="store_true", help="keep rows of earlier commits too")
    g.add_argument("--force", action="store_true", help="re-measure every row")
    g.add_argument("--rederive", action="store_true",
                   help="measure nothing: derive --out's statuses and summary again from its stored verdicts "
                        "with today's rules, and record where the release was read from (no GPU needed)")  # fmt: skip
    g.add_argument("--retime", action="store_true",
                   help="judge the selected rows of --out again (--tasks/--levels) with the same settings, in "
                        "fresh processes, keeping each earlier reading: a row carries its median reading, the "
                        "spread of its speedups and any verdict that differs between readings")  # fmt: skip
    p.add_argument(
        "--max-timing-s", type=float, default=20.0, help="timing budget per candidate (default 20)"
    )
    add_settings_arguments(p)
    p.set_defaults(func=main)


def interleave_levels(kernels: list) -> list:
    """Level 1's first, level 2's first, level 3's first, level 1's second, ..."""
    by_level: dict = {}
    for k in kernels:
        by_level.setdefault(k.level, []).append(k)
    lanes = [by_level[lv] for lv in sorted(by_level, key=lambda x: (x is None, x or 0))]
    return [
        k
        for i in range(max(map(len, lanes), default=0))
        for lane in lanes
        if i < len(lane)
        for k in [lane[i]]
    ]


def audit_lanes(gpus: str | None, workers: int, settings: Any, per_gpu: int = 1) -> list[int | None]:
    """`per_gpu` lanes per `--gpus` index (checked: distinct, one GPU model; interleaved, so several GPUs
    fill evenly), `--workers` lanes on CPU, else `per_gpu` lanes on the current device. Lanes on one
    GPU take turns at its gate (`repro.harness.gpugate`): one is timed at a time."""
    from repro.runners.reproduction import lanes_for

    if per_gpu < 1:
        raise ValueError(f"--per-gpu {per_gpu}: give at least 1")
    if per_gpu > 1 and settings.device != "cuda":
        raise ValueError("--per-gpu needs --device cuda; on CPU give --workers N for parallel lanes")
    if gpus is None and workers == 1:
        return [None] * per_gpu
    return [g for _ in range(per_gpu) for g in lanes_for("local", gpus, workers, settings)]


def prebuild_only(args: argparse.Namespace, kernels: list, workers: int) -> int:
    """`--prebuild-only`: build every load_inline kernel as the audit would, judge none, report each."""
    from repro.published.audit import gpu_arch, prebuild_report

    arch = gpu_arch()
    if not arch:
        print("error: --prebuild-only: no GPU compute capability found (nvidia-smi gave none); set "
              "TORCH_CUDA_ARCH_LIST to the audit GPU's, e.g. TORCH_CUDA_ARCH_LIST=9.0", file=sys.stderr)  # fmt: skip
        return 2
    report = prebuild_report(kernels, args.work, args.prebuild_only, arch=arch, workers=workers,
                             timeout_s=args.build_timeout)  # fmt: skip
    summary = report["summary"]
    probe = report["probe"]
    print(f"{args.prebuild_only}: {summary['built']}/{summary['kernels']} built in {summary['seconds']} s; "
          f"by cause {summary['by_cause']}; probe "
          + ", ".join(f"{k} {v['cause']}" for k, v in probe.items()))  # fmt: skip
    return 0


def policy_line(name: str, s: dict[str, Any]) -> str:
    """One policy's summary for the terminal, with the accepted rows whose kernel's build failed (so its
    PyTorch fallback was what ran) named apart."""
    line = f"  {name}: {s['accepted']}/{s['judged']} accepted; {s['statuses']}"
    if s.get("accepted_fallback"):
        line += (f"\n  {name}: {s['accepted_fallback']} of the accepted ran no released kernel (its build failed;"
                 f" the fallback was measured): {s['accepted_fallback_by_cause']}")  # fmt: skip
    if s.get("retimed"):
        line += (f"\n  {name}: {s['retimed']} row(s) read more than once (--retime), "
                 f"{s.get('verdicts_differ', 0)} with verdicts that differ between readings")  # fmt: skip
    return line


def rederive(release: Any, out: Path | None) -> int:
    """`--rederive`: the ledger's derived fields brought up to date; no kernel is run."""
    from repro.published.audit import refresh
    from repro.records import published_ledger as ledger_mod

    if out is None or not out.is_file():
        print(f"error: --rederive needs --out to be an existing ledger file (got {out})", file=sys.stderr)
        return 2
    try:
        ledger = ledger_mod.load(out)
        changed = refresh(ledger, release, out)
    except ledger_mod.LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ledger_mod.write(out, ledger)
    print(f"{out}: derived again ({'changed' if changed else 'unchanged'}); nothing measured")
    for name, s in ledger["summary"]["policies"].items():
        print(policy_line(name, s))
    return 0


def retime_selection(auditor: Any, kernels: list, out: Path) -> list | None:
    """`--retime`: the selected kernels whose rows can take another reading; None (after naming them) where
    a row was measured with other settings, whose readings the new one could not be compared with."""
    from repro.published.audit import retime_problem

    why = {k.task: retime_problem(auditor.row(k.task), auditor.settings_hash) for k in kernels}
    other = [t for t, w in why.items() if w and w.startswith("measured with settings")]
    if other:
        print(f"error: --retime: {out}: {len(other)} row(s) were measured with other settings ({', '.join(other[:5])}"
              f"{', ...' if len(other) > 5 else ''}): {why[other[0]]}", file=sys.stderr)  # fmt: skip
        return None
    for task, w in why.items():
        if w:
            print(f"warning: --retime: {task} not timed again: {w}", file=sys.stderr)
    return [k for k in kernels if not why[k.task]]


def main(args: argparse.Namespace) -> int:
    import dataclasses

    policies = tuple(p for p in args.policies.split(",") if p)
    unknown = [p for p in policies if p not in POLICY_NAMES]
    if unknown or not policies:
        print(f"error: --policies: unknown {unknown}; choose from {', '.join(POLICY_NAMES)}", file=sys.stderr)
        return 2
    from repro.commands.options import settings_from_args
    from repro.published.audit import Auditor  # imports torch: after the first arguments are checked
    from repro.published.releases import ReleaseError, load_release
    from repro.records.published_ledger import LedgerError

    try:
        release = load_release(args.format, args.release, problems=args.problems, gpu=args.gpu,
                               paper=args.paper, benchmark_version=args.benchmark_version,
                               commit=args.release_commit)  # fmt: skip
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.rederive:
        return rederive(release, args.out)
    for why in release.meta.get("missing_sources") or []:
        print(f"warning: not judged, recorded in the ledger: {why}", file=sys.stderr)
    kernels = release.kernels
    if args.levels:
        try:
            levels = {int(x) for x in args.levels.split(",") if x}
        except ValueError:
            print(f"error: --levels {args.levels!r}: give comma-separated integers", file=sys.stderr)
            return 2
        kernels = [k for k in kernels if k.level in levels]
    if args.tasks:
        wanted = [t for t in args.tasks.split(",") if t]
        known = {k.task for k in release.kernels}
        missing = [t for t in wanted if t not in known]
        if missing:
            print(f"error: --tasks: {missing} not in {args.release} (tasks look like {sorted(known)[:3]})",
                  file=sys.stderr)  # fmt: skip
            return 2
        kernels = [k for k in kernels if k.task in set(wanted)]
    if args.order == "levels-interleaved":
        kernels = interleave_levels(kernels)
    if args.limit is not None:
        kernels = kernels[: args.limit]
    settings = dataclasses.replace(settings_from_args(args), max_timing_s=args.max_timing_s)
    workers = args.build_workers if args.build_workers is not None else max(0, (os.cpu_count() or 2) - 2)
    if args.prebuild_only is not None:
        return prebuild_only(args, kernels, max(1, workers))
    if args.out is None:
        print("error: --out: give the ledger file to write (or --prebuild-only REPORT.json)", file=sys.stderr)
        return 2
    try:
        lanes = audit_lanes(args.gpus, args.workers, settings, args.per_gpu)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.retime and not args.out.is_file():
        print(f"error: --retime needs --out to be an existing ledger file (got {args.out}); run the audit "
              "without --retime first", file=sys.stderr)  # fmt: skip
        return 2
    try:
        auditor = Auditor(release, args.out, settings, policies=policies, work_dir=args.work,
                          build_workers=workers, build_timeout_s=args.build_timeout)  # fmt: skip
    except LedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.retime:
        selected = retime_selection(auditor, kernels, args.out)
        if selected is None:
            return 2
        kernels = selected
    mode = ("force" if args.force else "only-missing" if args.only_missing
            else "retime" if args.retime else "default")  # fmt: skip
    counts = auditor.run(kernels, mode=mode, deadline_s=args.deadline_s, lanes=lanes)
    summary = auditor.ledger.get("summary", {})
    print(f"{args.out}: {counts}")
    for name, s in (summary.get("policies") or {}).items():
        print(policy_line(name, s))
    builds = summary.get("builds") or {}
    if builds.get("prebuilt"):
        print(f"  builds: {builds['prebuilt']} prebuilt, {builds['replayed_in_candidate']} failures replayed, "
              f"{builds['rebuilt_in_candidate']} compiled again in the candidate; seconds per kernel "
              + "; ".join(f"{g} {v['median']} (n={v['n']})" for g, v in builds["seconds_per_kernel"].items()))  # fmt: skip
    return 0
