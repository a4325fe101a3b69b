"""`python -m repro.bench.templates` on the CPU path: every configuration of a task's template is
instantiated, checked against the reference and timed; a bad task name is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repro.bench.templates", "--device", "cpu", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip


def test_every_configuration_is_checked_and_timed(tmp_path: Path) -> None:
    from repro.proposers.templates import colreduce

    out = tmp_path / "sweep.json"
    done = bench("--tasks", "level1/10_column_sum", "--json", str(out))
    assert done.returncode == 0, done.stderr
    row = json.loads(out.read_text())["rows"][0]
    assert row["task"] == "level1/10_column_sum" and row["template"] == "column-reduction"
    assert len(row["configs"]) == len(colreduce.CONFIGS)
    assert all(c["within_tolerance"] and c["ms"] > 0 for c in row["configs"]), row["configs"]
    assert "column-reduction" in done.stdout


def test_an_unknown_task_is_named() -> None:
    done = bench("--tasks", "level1/99_nope")
    assert done.returncode == 2 and "unknown task(s) ['level1/99_nope']" in done.stderr
