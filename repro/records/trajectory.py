"""Run trajectories: `trajectory.jsonl`, one line per evaluated candidate of `python -m repro run`
(with its lineage, operator, verdict, timings and source path), read back by `--resume` and by
`python -m repro export`. Each line carries `format_version`; lines written before it read as 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repro.records.ledger import read_jsonl
from repro.records.schema import FormatError, major_of
from repro.records.verdicts import verdict_of

FORMAT_VERSION = 1
KNOWN_VERSIONS = (1,)


def stamp(line: dict[str, Any]) -> dict[str, Any]:
    """A trajectory line with its format version."""
    return {"format_version": FORMAT_VERSION, **line}


def check_line(line: Any, where: str) -> dict[str, Any]:
    """One parsed line: a known major version, the fields readers use, a known verdict."""
    if not isinstance(line, dict):
        raise FormatError(f"{where}: a trajectory line must be a JSON object")
    version = line.get("format_version", 1)
    if major_of(version) not in KNOWN_VERSIONS:
        raise FormatError(
            f"{where}: `format_version` {version!r}: this reader knows trajectory major version(s) "
            f"{', '.join(map(str, KNOWN_VERSIONS))}; update KernelAtlas to read it"
        )
    for key in ("task", "id", "index", "parents", "correct"):
        if key not in line:
            raise FormatError(f"{where}: `{key}` is missing")
    verdict_of(line.get("verdict"), f"{where}: `verdict`")
    return line


def read_trajectory(path: Path) -> list[dict[str, Any]]:
    """Every checked line of a trajectory file (a line cut short by an interruption is skipped)."""
    return [check_line(line, f"{path}:{i + 1}") for i, line in enumerate(read_jsonl(path))]
