"""`python -m repro.bench.hostspread`: the batch's own cost as separate fresh processes measure it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from repro.bench import hostspread


def test_each_process_reports_its_own_cost_on_the_cpus_it_was_pinned_to(tmp_path: Path) -> None:
    cpu = min(os.sched_getaffinity(0))
    out = tmp_path / "spread.json"
    args = [
        "--device",
        "cpu",
        "--tasks",
        "row_max,scale_add",
        "--processes",
        "2",
        "--repeats",
        "1",
        "--pin",
        str(cpu),
    ]
    assert hostspread.main([*args, "--out", str(out)]) == 0
    got = json.loads(out.read_text())
    assert [r["cpus"] for r in got["rows"]] == [[cpu], [cpu]]
    costs = [r["tasks"][t] for r in got["rows"] for t in ("row_max", "scale_add")]
    assert all(c["gen_ms"] > 0 and c["launch_ms"] > 0 and c["dev_ms"] is None for c in costs)  # no device
    gens = [r["tasks"]["scale_add"]["gen_ms"] for r in got["rows"]]
    assert got["summary"]["scale_add"]["gen_ms_spread"] == pytest.approx(max(gens) / min(gens))
    assert "dev_ms_spread" not in got["summary"]["row_max"]
    assert got["pin"] == str(cpu) and got["provenance"]["device"] == "cpu"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--processes", "1"], "--processes must be at least 2"),
        (["--repeats", "0"], "--repeats must be at least 1"),
        (["--tasks", "row_max,nope"], "--tasks 'row_max,nope': unknown ['nope']"),
        (["--pin", "x"], "--pin 'x': give CPU numbers"),
        (["--pin", "4096"], "may run only on CPUs"),
    ],
)
def test_bad_arguments_are_named(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        hostspread.main(["--device", "cpu", *args])
    assert exc.value.code == 2 and message in capsys.readouterr().err
