"""One registry pattern for everything chosen by name on the command line: loops, proposers,
backends and commands. An entry is registered under its name with the dotted path of the object
that implements it, so listing the names imports nothing (the Ray backend and the OpenAI proposer
pull in heavy packages only when chosen), and a misspelt name fails with the close matches.

Imports nothing from repro: every layer may use it.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownName(ValueError):
    """A name that is not registered; the message offers the close matches and the choices."""


@dataclass(frozen=True)
class Entry:
    name: str
    target: str  # "package.module:attribute" or "package.module" (the module itself)
    help: str = ""


class Registry(Generic[T]):
    """Names to lazily imported implementations, in registration order."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # what the names name, for messages: "loop", "proposer", ...
        self._entries: dict[str, Entry] = {}
        self._loaded: dict[str, T] = {}

    def add(self, name: str, target: str, help: str = "") -> None:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, target, help)

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def entry(self, name: str) -> Entry:
        if name not in self._entries:
            raise UnknownName(unknown_message(self.kind, name, self.names()))
        return self._entries[name]

    def get(self, name: str) -> T:
        """The implementation registered under `name`, imported on first use."""
        if name not in self._loaded:
            module_name, _, attribute = self.entry(name).target.partition(":")
            obj: Any = importlib.import_module(module_name)
            for part in attribute.split(".") if attribute else ():
                obj = getattr(obj, part)
            self._loaded[name] = obj
        return self._loaded[name]


def unknown_message(kind: str, name: str, choices: list[str]) -> str:
    """`unknown loop 'evolv': did you mean 'evolve'? (choose from best-of-n, refine, ...)`"""
    close = difflib.get_close_matches(name, choices, n=2, cutoff=0.6)
    hint = f": did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {kind} {name!r}{hint} (choose from {', '.join(choices)})"
