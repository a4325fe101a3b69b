"""Shared fixtures: a throw-away knowledge base with the real taxonomy and two valid entries."""

from __future__ import annotations

import datetime as dt
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from site_gen.kb.paths import REPO_ROOT

# The built site, its server and the browser are fixtures of this file, not of each test module that
# uses them: a fixture assigned in a module is that module's own, and the session-wide build would be
# made again for every module.
try:
    from site_fixture import browser, built_site, open_page, site_url  # noqa: F401  (fixtures)

    SITE_FIXTURES_MISSING = ""
except ModuleNotFoundError as exc:
    # A GPU machine with torch and pytest but not the site's packages (MkDocs, bibtexparser, ...) still
    # runs the harness's GPU tests there; a test that needs the site then fails on its missing fixture.
    if (exc.name or "").split(".")[0] in ("site_gen", "repro", "site_fixture", "shared_setup"):
        raise
    SITE_FIXTURES_MISSING = str(exc.name)


def pytest_report_header() -> str | None:
    if SITE_FIXTURES_MISSING:
        return f"site fixtures unavailable: no module named {SITE_FIXTURES_MISSING!r} (the site's tests will fail)"
    return None


TODAY = dt.date(2026, 11, 21)

# Ctrl-C is part of what is tested (in this process, and in commands it starts). A shell without job
# control starts background commands with SIGINT ignored, and children inherit that: Python then
# installs no KeyboardInterrupt handler, and those tests would fail for how the suite was launched.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Caches a test could otherwise share with the machine or an earlier run (the harness's reference
# bundles and peaks, Triton's and Inductor's compiled kernels): each run gets fresh ones.
PRIVATE_CACHES = {
    "KERNELATLAS_CACHE": "kernelatlas",
    "XDG_CACHE_HOME": "xdg",
    "TRITON_CACHE_DIR": "triton",
    "TORCHINDUCTOR_CACHE_DIR": "inductor",
    "KERNELATLAS_LOCK_DIR": "locks",
}


@pytest.fixture(scope="session", autouse=True)
def private_caches(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every cache at this run's temporary directory, for the tests and their subprocesses,
    so that nothing in ~/.cache or /tmp from another run decides an outcome."""
    base = tmp_path_factory.mktemp("caches")
    with pytest.MonkeyPatch.context() as patch:
        for name, folder in PRIVATE_CACHES.items():
            patch.setenv(name, str(base / folder))
        patch.delenv("KERNELATLAS_PEAKS", raising=False)
        if not torch.cuda.is_available():
            # Every evaluation runs on the CPU here: one peaks file for the run, measured by the first
            # reference, instead of a CPU-second of measuring in each test's fresh harness cache.
            patch.setenv("KERNELATLAS_PEAKS", str(base / "peaks-cpu.json"))
        yield base


# Line numbers matter: the checker tests replace single lines of this text.
ALPHA = """\
id: alpha
title: "Alpha: generating kernels with feedback"
authors: [Ada Lovelace, Alan Turing]
date: "2025-02-14"
arxiv: "2502.10517"
kind: method
taxonomy: [iterative-refinement]
links:
  paper: https://arxiv.org/abs/2502.10517
languages: [cuda]
techniques: [profiling-feedback]
benchmarks: [bench]
summary: A method that repairs and speeds up kernels from execution feedback, turn by turn.
results:
  - benchmark: bench
    metric: speedup
    aggregate: fast_p
    p: 1.0
    value: 40.0
    baseline: eager
    model: Alpha
    hardware: nvidia-h100
    arxiv: 2502.10517v1
    source: Table 2
"""

BENCH = """\
id: bench
title: "BenchSuite: measuring generated kernels"
date: "2024-11"
doi: 10.1145/1234567.7654321
kind: benchmark
taxonomy: [benchmarks]
links:
  code: https://github.com/example/bench
summary: A suite of kernel tasks with a harness that checks correctness and times every candidate.
authors: [Grace Hopper]
"""


@pytest.fixture
def kb_root(tmp_path: Path) -> Path:
    """A knowledge-base root holding the repository's taxonomy and the entries alpha and bench."""
    shutil.copytree(REPO_ROOT / "taxonomy", tmp_path / "taxonomy")
    (tmp_path / "papers").mkdir()
    write_entry(tmp_path, "alpha", ALPHA)
    write_entry(tmp_path, "bench", BENCH)
    return tmp_path


def write_entry(root: Path, name: str, text: str) -> Path:
    path = root / "papers" / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def replace_line(text: str, line: int, new: str | None) -> str:
    """`text` with 1-based `line` replaced by `new` (None deletes it)."""
    lines = text.splitlines()
    if new is None:
        del lines[line - 1]
    else:
        lines[line - 1] = new
    return "\n".join(lines) + "\n"
