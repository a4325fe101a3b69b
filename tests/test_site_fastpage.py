"""The direct conversion of generated pages gives what Python-Markdown gives, or declines."""

from __future__ import annotations

import markdown
import pytest

from site_gen.site.fastpage import convert
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


def _flatten(tokens: list[dict]) -> list[dict]:
    return [t for token in tokens for t in (token, *_flatten(token["children"]))]
