"""Every file one part writes and another reads has one versioned format module in repro.records:
the writer stamps it, the reader (the site included) checks it, refuses a major version it does not
know with a message naming the field and the fix, and still reads the files committed before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repro.records import evaluation, reproduction, suite_results, trajectory
from repro.records.schema import FormatError, major_of
from repro.records.verdicts import FAILED, HARNESS_VERDICTS, NOT_COMPILED, Status, Verdict

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(
    p
    for p in (ROOT / "repro" / "results").glob("*/*/*.json")
    if p.parts[-3] not in reproduction.OTHER_OUTPUTS
)


def test_the_committed_reproduction_files_load() -> None:
    assert COMMITTED, "no committed reproduction files found"
    for path in COMMITTED:
        data = json.loads(path.read_text())
        checked = reproduction.read_reproduction(data, (path.parts[-3], path.parts[-2], path.stem))
        assert (
            reproduction.check_version(
                checked, format_name=reproduction.FORMAT, known=reproduction.KNOWN_VERSIONS, writer="-"
            )
            == 1
        )


def sample_reproduction(**changes: object) -> dict:
    data = json.loads(COMMITTED[0].read_text())
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"format_version": 2},
            r"`format_version` 2: this reader knows kernelatlas-reproduction major version\(s\) 1; update KernelAtlas",
        ),
        ({"format_version": "2.1"}, r"`format_version` '2.1': this reader knows"),
        ({"format_version": "one"}, r"`format_version` 'one' is not a version number like 1 or 1.2"),
        (
            {"format": "other"},
            r"`format` must be 'kernelatlas-reproduction' \(files here are written by `python -m repro reproduce`\)",
        ),
        (
            {"tasks": [{"task": "t", "status": "done"}]},
            r"task record #1 \(t\): unknown status 'done' \(known: measured, no_solution, failed, not_run\)",
        ),
        (
            {"tasks": [{"task": "t", "status": "measured", "verdict": "great"}]},
            r"task record #1 \(t\): unknown verdict 'great'",
        ),
    ],
)
def test_a_reproduction_file_is_refused_by_name(changes: dict, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        reproduction.read_reproduction(sample_reproduction(**changes))


def test_a_minor_version_is_read() -> None:
    assert reproduction.read_reproduction(sample_reproduction(format_version="1.3"))
    assert [major_of(v) for v in (1, "1", "1.2", True, None, "x")] == [1, 1, 1, None, None, None]


def test_the_site_reads_reproduction_files_through_the_format_module(tmp_path: Path) -> None:
    from site_gen.site.reproduced import render_reproduced

    place = tmp_path / COMMITTED[0].relative_to(ROOT / "repro" / "results")
    place.parent.mkdir(parents=True)
    place.write_text(json.dumps(sample_reproduction(format_version=2)))
    (message,) = render_reproduced(tmp_path).errors
    assert "`format_version` 2: this reader knows kernelatlas-reproduction major version(s) 1" in message


def test_evaluation_results_are_stamped_and_checked() -> None:
    record = {"correct": True, "verdict": "correct", "reason": "ok"}
    stamped = evaluation.stamp(record)
    assert (stamped["format"], stamped["format_version"]) == ("kernelatlas-evaluation", 1)
    assert evaluation.read_evaluation(stamped)["verdict"] == Verdict.CORRECT
    assert evaluation.read_evaluation(record)  # written before the format was versioned
    with pytest.raises(FormatError, match="major version"):
        evaluation.read_evaluation({**stamped, "format_version": 7})
    with pytest.raises(ValueError, match=r"`verdict`: unknown verdict 'fine'"):
        evaluation.read_evaluation({**record, "verdict": "fine"})


def test_suite_results_are_checked() -> None:
    rows = [{"task": "a", "verdict": "correct"}, {"task": "b", "verdict": None}]
    data = {"format": suite_results.FORMAT, "format_version": 1, "metrics": {}, "results": rows}
    assert suite_results.read_suite_results(data) is data
    assert suite_results.read_suite_results({"metrics": {}, "results": rows})  # unversioned: version 1
    with pytest.raises(FormatError, match="major version"):
        suite_results.read_suite_results({**data, "format_version": 2})
    with pytest.raises(ValueError, match=r"row #1 \(a\): unknown verdict 'yes'"):
        suite_results.read_suite_results({**data, "results": [{"task": "a", "verdict": "yes"}]})


def test_trajectory_lines_are_checked(tmp_path: Path) -> None:
    line = {
        "task": "t",
        "id": "c0000",
        "index": 0,
        "parents": [],
        "correct": False,
        "verdict": "no_candidate",
    }
    path = tmp_path / "trajectory.jsonl"
    path.write_text(json.dumps(trajectory.stamp(line)) + "\n" + json.dumps(line) + "\n")
    assert len(trajectory.read_trajectory(path)) == 2
    path.write_text(json.dumps({**line, "format_version": 2}) + "\n")
    with pytest.raises(
        FormatError, match=r"trajectory.jsonl:1: `format_version` 2: this reader knows trajectory"
    ):
        trajectory.read_trajectory(path)


def test_one_vocabulary() -> None:
    from repro.harness.result import VERDICTS

    assert tuple(v.value for v in HARNESS_VERDICTS) == VERDICTS
    assert NOT_COMPILED <= FAILED and Verdict.CORRECT not in FAILED
    assert (
        Verdict("not_run") == "not_run"
        and json.dumps([Verdict.CORRECT, Status.MEASURED]) == '["correct", "measured"]'
    )
