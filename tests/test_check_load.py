"""load_knowledge_base hands out a fully valid knowledge base or one error listing every problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ALPHA, replace_line, write_entry

from site_gen.kb.check import check_knowledge_base
from site_gen.kb.load import KnowledgeBaseError, load_knowledge_base, use_report_once


def test_entries_categories_and_vocab(kb_root: Path) -> None:
    kb = load_knowledge_base(kb_root)
    assert [e.id for e in kb.entries] == ["alpha", "bench"]
    assert kb.by_id["bench"].kind == "benchmark"
    leaf = kb.categories["iterative-refinement"]
    assert (leaf.parent, leaf.depth, leaf.stream) == ("learning-mechanisms", 2, "agent4kernel")
    assert "iterative-refinement" in kb.categories["learning-mechanisms"].children
    assert kb.categories["benchmarks"].parent is None
    assert kb.vocab["metrics"]["speedup"].higher_is_better is True
    assert "rocm" in kb.vocab["languages"]["hip"].aliases
    assert kb.source_path("alpha") == kb_root / "papers" / "alpha.yaml"


def test_invalid_knowledge_base_raises_with_every_problem(kb_root: Path) -> None:
    write_entry(kb_root, "alpha", replace_line(replace_line(ALPHA, 6, "kind: paper"), 7, "taxonomy: [nope]"))
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base(kb_root)
    assert [(p.line, p.field) for p in info.value.problems] == [(6, "kind"), (7, "taxonomy[0]")]
    assert "papers/alpha.yaml:6: kind: unknown kinds term 'paper'" in str(info.value)


def test_a_report_handed_over_by_the_build_is_used_once(kb_root: Path) -> None:
    """The build checks before MkDocs starts; the render hook's load reuses that report once, and
    any later load checks the files again."""
    report = check_knowledge_base(kb_root)
    use_report_once(kb_root, report)
    write_entry(kb_root, "alpha", replace_line(ALPHA, 6, "kind: paper"))  # after the check
    assert [e.id for e in load_knowledge_base(kb_root).entries] == ["alpha", "bench"]
    with pytest.raises(KnowledgeBaseError):
        load_knowledge_base(kb_root)
