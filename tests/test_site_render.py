"""Unit tests of the site renderer: escaping, result grouping, charts and
the docs writer. Fast; the full build is tested in test_site_build.py."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import markdown
import pytest

from site_gen.kb.load import KnowledgeBaseError, load_knowledge_base
from site_gen.kb.paths import REPO_ROOT
from site_gen.site.charts import chronology_svg, works_per_quarter
from site_gen.site.leaderboards import sections
from site_gen.site.render import DocsWriter, PageFragments, front_matter, md_escape

HOSTILE = [
    "<script>alert(1)</script>",
    "*bold* _it_ `code` [link](javascript:alert(1)) ![img](x.png)",
    "# not a heading | a | table |",
    "1. not a list",
    "- not a list either",
    "{: .class } &amp; &lt;b&gt; \\ backslash",
    "a\nmultiline\n\n\ntext",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_md_escape_shows_text_literally(text: str) -> None:
    rendered = markdown.markdown(str(md_escape(text)), extensions=["tables", "attr_list"])
    assert "<script" not in rendered
    inner = re.sub(r"^<p>|</p>$", "", rendered)
    assert "<" not in inner.replace("&lt;", ""), rendered  # no element was created
    assert html.unescape(inner) == " ".join(text.split())


def test_front_matter_escapes_title_and_description_for_the_theme() -> None:
    text = str(front_matter('</title><script>x</script>"', description='"><img src=x>'))
    assert "<" not in text.split("---")[1]
    meta = dict(line.split(": ", 1) for line in text.strip().strip("-").strip().splitlines())
    assert json.loads(meta["title"]) == "&lt;/title&gt;&lt;script&gt;x&lt;/script&gt;&quot;"


def _kb_with_results(tmp_path: Path, results: str) -> Path:
    shutil.copytree(REPO_ROOT / "taxonomy", tmp_path / "taxonomy")
    papers = tmp_path / "papers"
    papers.mkdir()
    summary = "A summary long enough to satisfy the checker's minimum length for entries."
    (papers / "bench.yaml").write_text(
        f"id: bench\ntitle: A benchmark\nauthors: [A B]\ndate: 2025-01\nkind: benchmark\ntaxonomy: [benchmarks]\nsummary: {summary}\n"
    )
    for name in ("alpha", "beta", "gamma"):
        block = results.replace("NAME", name)
        (papers / f"{name}.yaml").write_text(
            f"id: {name}\ntitle: Method {name}\nauthors: [A B]\ndate: 2025-02\nkind: method\ntaxonomy: [rl]\n"
            f"benchmarks: [bench]\nsummary: {summary}\nresults:\n{block}"
        )
    return tmp_path


def test_reported_numbers_are_only_ranked_within_same_hardware_and_baseline(tmp_path: Path) -> None:
    results = """  - {benchmark: bench, metric: speedup, aggregate: geomean, value: VALUE, baseline: eager, model: M, hardware: HW, url: "https://example.org/NAME", source: Table 1}
"""
    root = _kb_with_results(tmp_path, results)
    values = {
        "alpha": ("1.5", "nvidia-h100"),
        "beta": ("2.5", "nvidia-a100"),
        "gamma": ("1.9", "nvidia-h100"),
    }
    for name, (value, hw) in values.items():
        path = root / "papers" / f"{name}.yaml"
        path.write_text(path.read_text().replace("VALUE", value).replace("HW", hw))
    (section,) = sections(load_knowledge_base(root))
    (board,) = section.boards
    assert board.hardware == "nvidia-h100" and [r.work_id for r in board.rows] == ["gamma", "alpha"]
    assert [r.rank for r in board.rows] == [1, 2] and board.works == 2
    assert "<polyline" in str(board.chart) and "gamma 1.9×" in str(board.chart)
    (unranked,) = section.unranked
    assert unranked.row.entry.id == "beta"
    assert unranked.reason.startswith("the closest numbers (alpha, gamma) differ in hardware")


def test_numbers_without_hardware_are_refused(tmp_path: Path) -> None:
    results = '  - {benchmark: bench, metric: correctness, aggregate: share, value: 50, model: M, url: "https://example.org/r", source: Table 1}\n'
    with pytest.raises(KnowledgeBaseError, match="needs `hardware`"):
        load_knowledge_base(_kb_with_results(tmp_path, results))


def test_timeline_buckets_old_works_and_counts_each_stream() -> None:
    kb = load_knowledge_base(REPO_ROOT)
    quarters = works_per_quarter(kb)
    newest = max(e.date for e in kb.entries)
    assert quarters[-1].label == f"{newest[:4]} Q{(int(newest[5:7]) - 1) // 3 + 1}"
    if min(e.date for e in kb.entries) < f"{int(newest[:4]) - 3}":
        assert quarters[0].label == f"Before {int(newest[:4]) - 3}"
    streams_per_entry = sum(len({kb.categories[s].stream for s in e.taxonomy}) for e in kb.entries)
    assert sum(q.total for q in quarters) == streams_per_entry
    svg = chronology_svg(kb)
    assert svg.count("<a href=") >= min(len(kb.entries), 40)


def test_docs_writer_keeps_unchanged_files_and_prunes_stale_ones(tmp_path: Path) -> None:
    first = DocsWriter(tmp_path)
    first.write("a/keep.md", "same")
    first.write("a/stale.md", "old")
    first.prune()
    keep = tmp_path / "a" / "keep.md"
    before = keep.stat().st_mtime_ns
    second = DocsWriter(tmp_path)
    second.write("a/keep.md", "same")
    second.prune()
    assert keep.stat().st_mtime_ns == before
    assert not (tmp_path / "a" / "stale.md").exists()


def test_page_fragments_survive_markdown_and_fill_each_stage_separately() -> None:
    parts = PageFragments()
    text = (
        f"# Title\n\n{parts.indexed('<p>kept *as is*</p>')}\n\n{parts.deferred('<ul><li>later</li></ul>')}\n"
    )
    converted = markdown.markdown(text, extensions=["toc"])
    content = parts.fill("i", converted)
    assert "<p>kept *as is*</p>" in content and "<li>later</li>" not in content
    page = parts.fill("d", content)
    assert "<ul><li>later</li></ul>" in page and "<!--ka:" not in page
