"""One validation problem, printed as `file:line: field: what is wrong (how to fix)`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str  # path relative to the knowledge-base root, e.g. papers/cudaforge.yaml
    line: int
    field: str  # dotted path, e.g. results[0].metric; "" for the whole file
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: "
        field = f"{self.field}: " if self.field else ""
        fix = f" ({self.fix})" if self.fix else ""
        return f"{where}{field}{self.message}{fix}"


def dotted(path: tuple[str | int, ...]) -> str:
    """("results", 0, "metric") -> "results[0].metric"."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out
