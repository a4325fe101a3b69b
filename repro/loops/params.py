"""How a loop declares its parameters: a frozen dataclass `Params` whose fields carry their help text
(and allowed values), from which `repro.commands` generates the command-line flags and their defaults.
The library only ever sees a `Params` instance, never parsed arguments."""

from __future__ import annotations

import dataclasses
from typing import Any


def param(default: Any, help: str, choices: tuple[Any, ...] | None = None) -> Any:
    """A loop parameter: its default, the flag's help text, and optionally the values allowed."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


def check_choice(params: Any, name: str) -> None:
    """Refuse a value outside the field's `choices`, naming the flag and the values allowed."""
    allowed = next(f for f in dataclasses.fields(params) if f.name == name).metadata["choices"]
    value = getattr(params, name)
    if value not in allowed:
        flag = "--" + name.replace("_", "-")
        raise ValueError(f"{flag} {value!r}: choose from {', '.join(map(str, allowed))}")


def params_of(params_class: type, values: dict[str, Any]) -> Any:
    """`params_class` built from a recorded mapping (a run.json's `loop_args`), refusing unknown keys."""
    known = {f.name for f in dataclasses.fields(params_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown loop parameter(s) {unknown}; known: {', '.join(sorted(known)) or 'none'}")
    return params_class(**values)
