"""`python -m site_gen.bench`: timing of the knowledge-base tools on a large synthetic knowledge base.

Targets live here rather than in tests: on a 2-core machine, `check` on 10,000 entries must take
at most 10 s, the site build of 10,000 entries at most 30 s and that of the real knowledge base
at most 2 s. Each benchmark is a function returning a result row; `main()` runs them all.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from site_gen.kb.check import check_knowledge_base
from site_gen.kb.paths import CATEGORIES_FILE, PAPERS_DIR, REPO_ROOT, VOCABULARIES_FILE

_LEAVES = [
    "sft",
    "rl",
    "iterative-refinement",
    "evolutionary-search",
    "profiling-feedback",
    "multi-agent",
    "dsls",
]
_LANGUAGES = ["cuda", "triton", "tilelang", "hip", "ascend-c"]
_TECHNIQUES = ["rl", "iterative-refinement", "evolutionary-search", "profiling-feedback", "memory-retrieval"]


SITE_TARGET_S = 30.0  # the site build of 10,000 entries on 2 cores (scaled for other counts)
REAL_TARGET_S = 2.0  # the site build of the real knowledge base


@dataclass
class BenchResult:
    name: str
    items: int
    seconds: float
    target_seconds: float | None = None
    note: str = ""
    cpu_seconds: float | None = None  # this process and its children; wall time is noisy on a shared machine

    @property
    def verdict(self) -> str:
        if self.target_seconds is None:
            return ""
        return "ok" if self.seconds <= self.target_seconds else "SLOW"


def synthetic_entry(i: int) -> str:
    """A realistic entry: every kind of field the checker looks at, one in three with BibTeX."""
    year, month = 2023 + i % 3, 1 + i % 12
    arxiv = f"{year % 100:02d}{month:02d}.{10000 + i % 90000:05d}"
    text = f"""id: synthetic-{i:05d}
title: "Synthetic work {i}: generating kernels number {i} with feedback"
aliases: [Synth{i}]
authors: [Ada Lovelace, Alan Turing, Grace Hopper]
date: "{year}-{month:02d}-{1 + i % 28:02d}"
arxiv: "{arxiv}"
doi: 10.5555/synthetic.{i}
kind: {"benchmark" if i % 50 == 0 else "method"}
taxonomy: [{_LEAVES[i % len(_LEAVES)]}, {_LEAVES[(i + 3) % len(_LEAVES)]}]
links:
  paper: https://arxiv.org/abs/{arxiv}
  code: https://github.com/example/synthetic-{i}
languages: [{_LANGUAGES[i % len(_LANGUAGES)]}]
hardware: [nvidia]
techniques: [{_TECHNIQUES[i % len(_TECHNIQUES)]}, {_TECHNIQUES[(i + 1) % len(_TECHNIQUES)]}]
benchmarks: [synthetic-{i - i % 50:05d}]
summary: >-
  A synthetic entry used only to time the knowledge-base tools; it has the shape and size of a
  real entry so that the timings mean something.
results:
  - benchmark: synthetic-{i - i % 50:05d}
    metric: speedup
    aggregate: fast_p
    p: 1.0
    value: {i % 100}.5
    baseline: eager
    model: Synthetic-{i % 7}
    hardware: nvidia-h100
    arxiv: {arxiv}v1
    source: Table 2
  - benchmark: synthetic-{i - i % 50:05d}
    metric: speedup
    aggregate: geomean
    value: 1.{i % 10}
    baseline: compile-default
    model: Synthetic-{i % 7}
    hardware: nvidia-a100
    arxiv: {arxiv}v1
    source: Figure 3
"""
    if i % 3 == 0:
        text += f"""bibtex: |
  @article{{synthetic{i},
    title = {{Synthetic work {i}}},
    author = {{Lovelace, Ada and Turing, Alan}},
    journal = {{arXiv preprint arXiv:{arxiv}}},
    year = {{{year}}}
  }}
"""
    return text


def make_knowledge_base(root: Path, count: int) -> None:
    """The repository's taxonomy plus `count` synthetic entries under `root`."""
    for rel in (CATEGORIES_FILE, VOCABULARIES_FILE):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / rel, root / rel)
    papers = root / PAPERS_DIR
    papers.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (papers / f"synthetic-{i:05d}.yaml").write_text(synthetic_entry(i), encoding="utf-8")


def bench_check(root: Path, count: int) -> BenchResult:
    started = time.perf_counter()
    report = check_knowledge_base(root)
    seconds = time.perf_counter() - started
    entry_problems = [p for p in report.problems if p.file.startswith(PAPERS_DIR)]
    note = f"{len(report.entries)} valid, {len(entry_problems)} entry problem(s)"
    return BenchResult("check", count, seconds, target_seconds=10.0 * count / 10_000, note=note)


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (the check's worker pool)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed_site_build(root: Path) -> tuple[float, float, str]:
    """Build the site of the knowledge base under `root`; return wall seconds, CPU seconds and a
    note on its size."""
    from site_gen.site.build import build_site

    shutil.copy(REPO_ROOT / "mkdocs.yml", root / "mkdocs.yml")
    cpu_started, started = _cpu_seconds(), time.perf_counter()
    site = build_site(root, root / "site")
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    index = (site / "search" / "search_index.json").stat().st_size
    pages = sum(1 for _ in site.rglob("index.html"))
    return seconds, cpu, f"{pages} pages, search index {index / 1e6:.1f} MB"


def bench_site_build(root: Path, count: int) -> BenchResult:
    """Full site build (check, render, strict MkDocs) of the synthetic knowledge base."""
    seconds, cpu, note = _timed_site_build(root)
    target = SITE_TARGET_S * count / 10_000
    return BenchResult("site build", count, seconds, target_seconds=target, note=note, cpu_seconds=cpu)


def bench_site_build_half(root: Path, count: int) -> BenchResult:
    """The same build with half the entries: the ratio to the full build shows linear growth."""
    with tempfile.TemporaryDirectory(prefix="kernelatlas-bench-half-") as tmp:
        make_knowledge_base(Path(tmp), count // 2)
        seconds, cpu, note = _timed_site_build(Path(tmp))
    target = SITE_TARGET_S * (count // 2) / 10_000
    return BenchResult("site build", count // 2, seconds, target_seconds=target, note=note, cpu_seconds=cpu)


def bench_site_build_real(root: Path, count: int) -> BenchResult:
    """The site of this checkout's real knowledge base."""
    with tempfile.TemporaryDirectory(prefix="kernelatlas-bench-real-") as tmp:
        for rel in (PAPERS_DIR, "taxonomy"):
            shutil.copytree(REPO_ROOT / rel, Path(tmp) / rel)
        entries = len(list((Path(tmp) / PAPERS_DIR).glob("*.yaml")))
        seconds, cpu, note = _timed_site_build(Path(tmp))
    return BenchResult(
        "site build (real)", entries, seconds, target_seconds=REAL_TARGET_S, note=note, cpu_seconds=cpu
    )


BENCHMARKS: list[Callable[[Path, int], BenchResult]] = [
    bench_check,
    bench_site_build_real,
    bench_site_build_half,
    bench_site_build,
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m site_gen.bench", description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000, help="synthetic entries to generate")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kernelatlas-bench-") as tmp:
        root = Path(tmp)
        make_knowledge_base(root, args.entries)
        results = [bench(root, args.entries) for bench in BENCHMARKS]
    print(f"{'benchmark':<20}{'items':>8}{'seconds':>10}{'cpu s':>9}{'target':>9}  verdict  note")
    for r in results:
        target = f"{r.target_seconds:.1f}" if r.target_seconds is not None else "-"
        cpu = f"{r.cpu_seconds:.2f}" if r.cpu_seconds is not None else "-"
        print(f"{r.name:<20}{r.items:>8}{r.seconds:>10.2f}{cpu:>9}{target:>9}  {r.verdict:<7}  {r.note}")
    return 0 if all(r.verdict != "SLOW" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
