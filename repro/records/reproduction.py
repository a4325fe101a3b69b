"""Reproduction files: one `<gpu-slug>/<suite>/<method>.json` per GPU model, suite and method, written
by `python -m repro reproduce` (records by task, rewritten atomically after each unit) and read by the
site's reproduced-results pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic
from repro.records.provenance import utc_now
from repro.records.schema import FormatError, check_version, require
from repro.records.suite_results import suite_metrics
from repro.records.verdicts import Status, status_of, verdict_of

FORMAT = "kernelatlas-reproduction"
FORMAT_VERSION = 1  # major version written; readers refuse majors not in KNOWN_VERSIONS
KNOWN_VERSIONS = (1,)
WRITER = "`python -m repro reproduce`"
OTHER_OUTPUTS = ("bench", "eval-suite")  # folders of repro/results that other commands write


def read_reproduction(data: Any, place: tuple[str, str, str] | None = None) -> dict[str, Any]:
    """Check a parsed reproduction file: its format and version, that it is where it says it belongs
    (`place` = (gpu slug, suite, method) from its path), and the fields readers use. Returns `data`;
    raises FormatError (a ValueError) whose message names the first field that is wrong."""
    check_version(data, format_name=FORMAT, known=KNOWN_VERSIONS, writer=WRITER)
    if place is not None:
        for key, expected in zip(("gpu_slug", "suite", "method"), place, strict=True):
            if data.get(key) != expected:
                raise FormatError(f"`{key}` is {data.get(key)!r} but the file's place says {expected!r}")
    tasks = require(data, "tasks", list, "a list of task records")
    for i, rec in enumerate(tasks):
        if (
            not isinstance(rec, dict)
            or not isinstance(rec.get("task"), str)
            or not isinstance(rec.get("status"), str)
        ):
            raise FormatError(f"task record #{i + 1} needs text `task` and `status`")
        status_of(rec["status"], f"task record #{i + 1} ({rec['task']})")
        if rec.get("verdict") is not None:
            verdict_of(rec["verdict"], f"task record #{i + 1} ({rec['task']})")
    require(data, "gpu", str, "the GPU's name")
    for key in ("method_info", "settings", "provenance", "metrics"):
        require(data, key, dict, "an object")
    require(data, "settings_hash", str, "text")
    return data


class ResultFile:
    """One `<gpu>/<suite>/<method>.json`: records by task, rewritten atomically after each unit."""

    def __init__(self, path: Path, header: dict[str, Any], tasks: list[str]) -> None:
        self.path, self.header, self.tasks = path, header, tasks
        self.records: dict[str, dict[str, Any]] = {}
        if path.is_file():
            try:
                old = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{path}: not valid JSON ({exc.msg}); delete it to measure it again"
                ) from None
            same = old.get("settings_hash") == header["settings_hash"] and old.get("method_info") == header[
                "method_info"]  # fmt: skip
            if same:  # records of other settings or method parameters would be mislabelled: dropped
                self.records = {
                    r["task"]: r for r in old.get("tasks", []) if r.get("status") != Status.NOT_RUN
                }

    def done(self, task: str, key: str, any_commit: bool = False) -> bool:
        """Measured (or nothing to measure) for this key, or with `any_commit` at any commit (the
        file holds only records of the same settings); failed units are tried again."""
        rec = self.records.get(task, {})
        return (any_commit or rec.get("key") == key) and rec.get("status") in (
            Status.MEASURED,
            Status.NO_SOLUTION,
        )

    def put(self, task: str, key: str, commit: str, record: dict[str, Any]) -> None:
        self.records[task] = {"task": task, "key": key, "commit": commit, "date": utc_now(), **record}

    def write(self, provenance: dict[str, Any]) -> None:
        rows = [self.records.get(t) or {"task": t, "status": Status.NOT_RUN, "reason": "not measured yet"}
                for t in self.tasks]  # fmt: skip
        measured = [r for r in rows if r["status"] in (Status.MEASURED, Status.FAILED)]
        metrics: dict[str, Any] = {"tasks_in_suite": len(rows), "tasks_measured": len(measured)}
        if measured and self.header["method"] != "baselines":
            metrics.update(suite_metrics(measured))
        commits = sorted({r["commit"] for r in rows if r.get("commit")})
        write_json_atomic(self.path, {**self.header, "provenance": provenance, "commits": commits,
                                      "metrics": metrics, "tasks": rows})  # fmt: skip
