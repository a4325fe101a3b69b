"""`python -m site_gen awesome`: the knowledge base as an awesome-list README.

Sections follow the taxonomy tree (stream, category, sub-category), each listing the works
tagged with it, newest first; a work tagged with several categories appears in each. The
output depends only on the knowledge base, so regenerating it gives a clean diff.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from site_gen.kb.load import KnowledgeBase, load_knowledge_base
from site_gen.kb.model import Entry
from site_gen.kb.paths import add_root_argument
from site_gen.outputs.write import write_output

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>|])")


def _escape(text: str) -> str:
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def github_anchor(heading: str, seen: dict[str, int]) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-', repeats numbered."""
    base = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    count = seen.get(base, 0)
    seen[base] = count + 1
    return f"{base}-{count}" if count else base


def entry_line(entry: Entry) -> str:
    """`- [2025-11] Title — [paper](…) | [code](…)`: the date, the title, then every link the entry has."""
    links = [
        f"[{name}]({url.replace(' ', '%20').replace(')', '%29')})"
        for name, url in entry.links.model_dump().items()
        if url
    ]
    tail = " — " + " | ".join(links) if links else ""
    return f"- \\[{entry.date}\\] {_escape(entry.title)}{tail}"


def render_awesome(kb: KnowledgeBase) -> str:
    members: dict[str, list[Entry]] = {slug: [] for slug in kb.categories}
    for entry in kb.entries:  # already newest first
        for slug in dict.fromkeys(entry.taxonomy):
            members[slug].append(entry)
    seen: dict[str, int] = {}
    github_anchor("KernelAtlas: LLM-driven GPU kernel generation", seen)
    github_anchor("Contents", seen)
    anchors = {slug: github_anchor(cat.name, seen) for slug, cat in kb.categories.items()}
    lines = [
        "# KernelAtlas: LLM-driven GPU kernel generation",
        "",
        f"{len(kb.entries)} works on using language models to write and optimize GPU kernels, grouped by "
        "the taxonomy of the survey *Towards Automated Kernel Generation in the Era of LLMs* "
        "(arXiv 2601.15727). Generated from the KernelAtlas knowledge base with "
        "`python -m site_gen awesome`; edit `papers/*.yaml`, not this file.",
        "",
        "## Contents",
        "",
    ]
    for slug, category in kb.categories.items():
        count = len(members[slug])
        lines.append(f"{'  ' * category.depth}- [{category.name}](#{anchors[slug]}) ({count})")
    for slug, category in kb.categories.items():
        lines += ["", f"{'#' * (category.depth + 2)} {category.name}", "", category.description]
        if members[slug]:
            lines.append("")
            lines += [entry_line(entry) for entry in members[slug]]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    write_output(render_awesome(load_knowledge_base(Path(args.root))), args.out, "README.md")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("awesome", help="write the knowledge base as awesome-list Markdown")
    parser.add_argument("--out", default="-", metavar="FILE", help="output file (default: standard output)")
    add_root_argument(parser)
    parser.set_defaults(func=run)
