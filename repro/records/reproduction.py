"""Reproduction files: one `<gpu-slug>/<suite>/<method>.json` per GPU model, suite and method, written
by `python -m repro reproduce` (records by task, rewritten atomically after each unit) and read by the
site's reproduced-results pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic
from repro.records.provenance import utc_now
from repro.records.suite_results import suite_metrics

FORMAT = "kernelatlas-reproduction"
FORMAT_VERSION = 1


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
                self.records = {r["task"]: r for r in old.get("tasks", []) if r.get("status") != "not_run"}

    def done(self, task: str, key: str, any_commit: bool = False) -> bool:
        """Measured (or nothing to measure) for this key, or with `any_commit` at any commit (the
        file holds only records of the same settings); failed units are tried again."""
        rec = self.records.get(task, {})
        return (any_commit or rec.get("key") == key) and rec.get("status") in ("measured", "no_solution")

    def put(self, task: str, key: str, commit: str, record: dict[str, Any]) -> None:
        self.records[task] = {"task": task, "key": key, "commit": commit, "date": utc_now(), **record}

    def write(self, provenance: dict[str, Any]) -> None:
        rows = [self.records.get(t) or {"task": t, "status": "not_run", "reason": "not measured yet"}
                for t in self.tasks]  # fmt: skip
        measured = [r for r in rows if r["status"] in ("measured", "failed")]
        metrics: dict[str, Any] = {"tasks_in_suite": len(rows), "tasks_measured": len(measured)}
        if measured and self.header["method"] != "baselines":
            metrics.update(suite_metrics(measured))
        commits = sorted({r["commit"] for r in rows if r.get("commit")})
        write_json_atomic(self.path, {**self.header, "provenance": provenance, "commits": commits,
                                      "metrics": metrics, "tasks": rows})  # fmt: skip
