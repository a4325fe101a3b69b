"""`python -m repro.bench.clockload`: candidates judged while busy processes start with the batch."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from repro.bench import clockload


def test_a_solution_is_judged_beside_busy_processes_that_are_gone_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "load.json"
    assert (
        clockload.main(["--targets", "level1/01_gelu", "--runs", "1", "--burst", "1", "--out", str(out)]) == 0
    )
    (row,) = json.loads(out.read_text())["rows"]
    assert row["target"] == "level1/01_gelu" and row["verdict"] == "correct", row["reason"]
    assert len(row["rounds_per_call_ms"]) >= 1 and min(row["rounds_per_call_ms"]) <= row["allowed_ms"]
    assert len(row["busy_pids"]) == 1  # started with the batch's first round, stopped when it returned
    assert os.environ["KERNELATLAS_CACHE"] == str(tmp_path / "cache")  # each run had a cache of its own
    for pid in row["busy_pids"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--runs", "0"], "--runs must be at least 1"),
        (["--burst", "-1"], "--burst must be 0 or more"),
        (
            ["--targets", "level1/01_gelu,nope"],
            "['nope'] are neither a task with a solution nor a CPU gauntlet",
        ),
        (["--targets", "cuda_graph"], "['cuda_graph'] are neither"),
    ],
)
def test_bad_arguments_are_named(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        clockload.main(args)
    assert message in capsys.readouterr().err
