"""`repro.pysource.parse`: ast.parse that several threads may call at once (the audit's prebuild pool)."""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor

import pytest

from repro import pysource

NESTED = (
    "x = "
    + "(" * 60
    + "1"
    + ")" * 60
    + "\n"
    + "".join(f"def f{i}(a):\n    return [a, {{'k': (a, {i})}}]\n" for i in range(50))
)


def test_threads_parsing_at_once_each_get_the_whole_tree() -> None:
    want = ast.dump(ast.parse(NESTED))
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda _: ast.dump(pysource.parse(NESTED)), range(64)))
    assert got == [want] * 64


def test_a_syntax_error_is_raised_with_its_line_as_ast_parse_raises_it() -> None:
    with pytest.raises(SyntaxError) as exc:
        pysource.parse("import torch\ndef forward(:\n", "kernel.py")
    assert exc.value.lineno == 2 and exc.value.filename == "kernel.py"
