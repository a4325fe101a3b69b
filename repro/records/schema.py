"""What every versioned file format shares: a `format` name and a `format_version` whose major number a
reader must know. A minor change (a new optional field) keeps the major; a change an older reader would
misread bumps it, and that reader then refuses the file by name instead of misreading it. A file
written before its format carried a version counts as version 1."""

from __future__ import annotations

from typing import Any


class FormatError(ValueError):
    """A file that is not of the expected format, or of a major version this reader does not know."""


def major_of(version: object) -> int | None:
    """1 for 1, "1", "1.2"; None for anything else."""
    if isinstance(version, bool):
        return None
    if isinstance(version, int):
        return version
    if isinstance(version, str):
        head = version.split(".", 1)[0]
        return int(head) if head.isdigit() else None
    return None


def check_version(
    data: Any, *, format_name: str, known: tuple[int, ...], writer: str, legacy: bool = False
) -> int:
    """The major version of `data` (a parsed file); FormatError naming the field and the fix otherwise.
    With `legacy`, a file without `format` and `format_version` is read as version 1."""
    if not isinstance(data, dict):
        raise FormatError("the top level must be a JSON object")
    if legacy and "format" not in data and "format_version" not in data:
        return 1
    if data.get("format") != format_name:
        raise FormatError(f"`format` must be {format_name!r} (files here are written by {writer})")
    version = data.get("format_version", 1)
    major = major_of(version)
    if major is None:
        raise FormatError(f"`format_version` {version!r} is not a version number like 1 or 1.2")
    if major not in known:
        raise FormatError(
            f"`format_version` {version!r}: this reader knows {format_name} major version(s) "
            f"{', '.join(map(str, known))}; update KernelAtlas to read it, or measure it again with this version"
        )
    return major


def require(data: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> Any:
    """`data[key]` when it is of `kind`; FormatError naming the field and what it must be otherwise."""
    value = data.get(key)
    if not isinstance(value, kind):
        raise FormatError(f"`{key}` must be {what}")
    return value
