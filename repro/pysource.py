"""Parsing Python source from several threads at once.

CPython 3.11 before 3.11.9 keeps the AST constructor's recursion depth in state shared by all threads
(python/cpython#106905): two threads parsing at once can fail with "SystemError: AST constructor
recursion depth mismatch". The audit's prebuild parses kernel sources in a thread pool and failed so
on 3.11.7; every parse in `repro` goes through `parse`, which takes one lock for the process.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse(source)`, one thread at a time; a SyntaxError is raised as ast.parse raises it."""
    with _LOCK:
        return ast.parse(source, filename)
