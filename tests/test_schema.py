"""The committed JSON Schema is exactly what the model and the taxonomy generate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from site_gen.cli import main
from site_gen.kb.paths import REPO_ROOT, SCHEMA_FILE
from site_gen.outputs.schema import build_schema, schema_text


def test_committed_schema_is_current() -> None:
    assert (REPO_ROOT / SCHEMA_FILE).read_text(encoding="utf-8") == schema_text(REPO_ROOT), (
        "run `python -m site_gen schema` and commit taxonomy/entry.schema.json"
    )


def test_schema_carries_vocabulary_enums(kb_root: Path) -> None:
    schema = build_schema(kb_root)
    assert "iterative-refinement" in schema["properties"]["taxonomy"]["items"]["enum"]
    assert "cuda" in schema["properties"]["languages"]["items"]["enum"]
    assert "benchmark" in schema["properties"]["kind"]["enum"]
    assert "fast_p" in schema["$defs"]["Result"]["properties"]["aggregate"]["enum"]
    assert "speedup" in schema["$defs"]["Result"]["properties"]["metric"]["enum"]


def test_check_flag_detects_stale_schema(kb_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = kb_root / SCHEMA_FILE
    assert main(["schema", "--root", str(kb_root)]) == 0
    assert main(["schema", "--root", str(kb_root), "--check"]) == 0
    path.write_text(json.dumps({"stale": True}))
    assert main(["schema", "--root", str(kb_root), "--check"]) == 1
    assert "taxonomy/entry.schema.json is out of date" in capsys.readouterr().out
