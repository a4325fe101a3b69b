"""The direct conversion of generated pages (headings, paragraphs, placeholders, tables) gives
what Python-Markdown gives, or declines."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import markdown
import pytest
from mkdocs.commands.build import get_files
from mkdocs.structure.pages import Page

from site_gen.site.build import HOOK, site_config
from site_gen.site.fastpage import convert, extract_tables
from site_gen.site.render import md_escape

TITLES = [
    "Synthetic work 7: generating kernels number 7 with feedback",
    "Dr. Kernel: RL done right for Triton kernel generations",
    "CUDA-L1: Improving CUDA Optimization via Contrastive Reinforcement Learning",
    '</title><script>window.__xss=1</script><img src=x onerror="window.__xss=2"> *Probe* | pipe',
    "Kevin: multi-turn RL (for CUDA) & friends — “quoted” and 'single'",
    "Zoë Ñúñez's kernels: 1. first # second ## third",
    "back\\slash `code` _under_ {brace} [bracket] !bang +plus -minus .dot",
    "a  b\twith   spacing",
    "100% & <50% of SOL",
    "___",
    "日本語のタイトル",
    "Summary",
    "Title #",
    "x { data-search-exclude }",
]


def _markdown(text: str) -> tuple[str, list[dict]]:
    md = markdown.Markdown(
        extensions=["attr_list", "tables", "admonition", "toc"],
        extension_configs={"toc": {"permalink": True}},
    )
    return md.convert(text), md.toc_tokens  # type: ignore[attr-defined]


def _page(title: str) -> str:
    return (
        f"# {md_escape(title)}\n\n<!--ka:i0-->\n\n## Summary\n\n<!--ka:i1-->\n\n"
        "## Classification { data-search-exclude }\n\n<!--ka:d0-->\n\n<!--ka:d1-->\n\n"
        f"## {md_escape(title)} {{ data-search-exclude }}\n\n## Summary\n\n"
        f"### {md_escape('summary_1')}\n\n<!--ka:d2-->\n"
    )


@pytest.mark.parametrize("title", TITLES)
def test_entry_shaped_pages_match_python_markdown(title: str) -> None:
    text = _page(title)
    converted = convert(text)
    assert converted is not None, title
    html, tokens = _markdown(text)
    assert converted.content == html
    assert converted.toc_tokens == tokens
    assert converted.anchor_ids == {t["id"] for t in _flatten(tokens)}


def test_explicit_ids_match_python_markdown() -> None:
    text = "# Authors: L\n\n<!--ka:d0-->\n\n## Ada Lovelace { #ada-lovelace }\n\n<!--ka:d1-->\n\n## ada lovelace\n\n<!--ka:d2-->\n"
    converted = convert(text)
    assert converted is not None
    html, tokens = _markdown(text)
    assert (converted.content, converted.toc_tokens) == (html, tokens)


@pytest.mark.parametrize(
    "text",
    [
        "# Title\n\nSome *Markdown* paragraph.\n",
        "# Title\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        "# Title\n\n!!! note\n    admonition\n",
        "# Title\n<!--ka:i0-->\n",  # not separated by a blank line
        "# *emphasis* unescaped\n",
        "# Title { .class }\n",
        "# A { #x }\n\n## B { #x }\n",
        "# <b>raw</b>\n",
        "# &copy; entity\n",
    ],
)
def test_other_markdown_is_left_to_python_markdown(text: str) -> None:
    assert convert(text) is None


def _load_hook() -> ModuleType:
    """The render hook as MkDocs loads it (by path)."""
    spec = importlib.util.spec_from_file_location("kernelatlas_hook_under_test", HOOK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flatten(tokens: list[dict]) -> list[dict]:
    return [t for token in tokens for t in (token, *_flatten(token["children"]))]


def test_every_page_of_the_built_site_matches_python_markdown(built_site) -> None:
    """Each page of a site built from the real knowledge base, hostile entries and result files
    (tables of results, scorecards with brackets and quotes in their titles, links to entries)
    gives the same HTML, anchors, table of contents and links through the fast paths as through
    Python-Markdown."""
    config = site_config(built_site.root, built_site.root / "scratch-site")
    files = get_files(config)
    hook = _load_hook()
    tables = paragraphs = 0
    for file in files.documentation_pages():
        plain, fast = Page(None, file, config), Page(None, file, config)
        plain.read_source(config)
        fast.read_source(config)
        Page.render(plain, config, files)
        hook._render_generated(fast, config, files)
        assert plain.markdown is not None
        converted = convert(plain.markdown)
        tables += extract_tables(plain.markdown, lambda url: url) is not None
        paragraphs += converted is not None and "<p>" in converted.content
        assert fast.content == plain.content, file.src_uri
        assert fast.present_anchor_ids == plain.present_anchor_ids, file.src_uri
        assert str(fast.toc) == str(plain.toc), file.src_uri
        assert fast._title_from_render == plain._title_from_render, file.src_uri
        if converted is None:  # headings' own permalinks are the only links of converted pages
            assert fast.links_to_anchors == plain.links_to_anchors, file.src_uri
    assert tables >= 5 and paragraphs >= 1  # the fast paths were taken


_CELLS = [
    "level1/01\\_gelu",
    "evolve \\(offline\\) <small>(mutate:MAX\\_BLOCK\\_N)</small>",
    "the reference&\\#x27;s ops &amp; 100% &lt;b&gt; a > b",
    'fast_1 vs eager <span class="x" data-case="good_triton" title="[&#39;A&#39;, 2]">caught</span>',
    '<span id="row-1"></span>level2/6',
    "<code>e57369c4d2</code>, 2026\\-12\\-01",
    "[CUDA\\-L1](#cuda-l1-h100)",
    "",
    "日本語 Zoë",
]


@pytest.mark.parametrize("cell", _CELLS)
def test_tables_in_the_subset_match_python_markdown(cell: str) -> None:
    text = f"# T\n\nSome text.\n\n| A | B | C |\n|---|---:|:-:|\n| {cell} | 2 | {cell} |\n| x | | y |\n\n## After\n"
    tables = extract_tables(text, lambda url: url)
    assert tables is not None
    html, _ = _markdown(tables.markdown)
    assert tables.fill(html) == _markdown(text)[0]


@pytest.mark.parametrize(
    "cell",
    [
        "*emphasis*",
        "`code`",
        "a _b_ c",
        "[link](https://example.org)",  # only plain relative paths and anchors are resolved here
        '<span title="[x](y)">z</span>',
        '<span title="[x">z</span>',
        "<span title='a\\-b'>z</span>",
        "{ .class }",
        "back\\\\slash",
    ],
)
def test_tables_outside_the_subset_are_left_to_python_markdown(cell: str) -> None:
    text = f"# T\n\n| A | B |\n|---|---|\n| {cell} | 2 |\n"
    assert extract_tables(text, lambda url: url) is None


def test_a_table_inside_raw_html_or_beside_references_is_left_alone() -> None:
    table = "| A |\n|---|\n| 1 |"
    assert extract_tables(f"<div markdown>\n\n{table}\n\n</div>\n", lambda url: url) is None
    assert extract_tables(f"{table}\n\n[ref]: https://example.org\n", lambda url: url) is None
    assert extract_tables(f"<div>x</div>\n\n{table}\n", lambda url: url) is not None
