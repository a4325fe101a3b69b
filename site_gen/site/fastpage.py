"""The Markdown of generated pages, converted without Python-Markdown.

Entry pages (one per work, thousands in a large knowledge base) are Markdown only for their
headings; every body is an HTML placeholder comment that the render hook fills in. Building a
Python-Markdown instance and running its parsers on such a page was a quarter of the site build.
`convert` turns exactly that subset (headings, optionally `{ data-search-exclude }` or `{ #id }`,
placeholder comments, blank lines) into the HTML and table of contents Python-Markdown with the
site's extensions (`attr_list`, `toc` with permalinks) would produce; for anything else it
returns None and the page goes through Python-Markdown as before. tests/test_site_fastpage.py
compares both on awkward titles.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from markdown.extensions.toc import nest_toc_tokens, slugify, unique

# A heading line: level, text, and an optional attribute list the subset understands.
_HEADING = re.compile(
    r"^(#{1,6}) (?P<text>.*?)(?: \{ (?:(?P<exclude>data-search-exclude)|#(?P<id>[A-Za-z][\w-]*)) \})?$"
)
_PLACEHOLDER = re.compile(r"^<!--ka:[id]\d+-->$")
# Characters `md_escape` backslash-escapes; Python-Markdown prints them literally.
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])")
# What may remain in heading text once those escapes are read: no Markdown or HTML syntax left,
# entities only as `md_escape` writes them. Its apostrophe, `&\#x27;`, is one Python-Markdown
# shows as such in the page but as `&amp;#x27;` in the table of contents (and in the slug).
_PLAIN = re.compile(r"^(?:[^\\`*_{}\[\]()#+\-.!|<>&]|\\[\\`*_{}\[\]()#+\-.!|]|&(?:amp|lt|gt|quot|\\#x27);)*$")
_APOSTROPHE = "&\\#x27;"


@dataclass
class Converted:
    """What `Page.render` would have set: the HTML, the table of contents' tokens, the ids of the
    page's elements, and the first heading's text."""

    content: str
    toc_tokens: list[dict] = field(default_factory=list)
    anchor_ids: set[str] = field(default_factory=set)
    title: str | None = None


def convert(markdown: str) -> Converted | None:
    """The page's HTML when `markdown` is within the subset (see the module's docstring), else None."""
    blocks = markdown.strip("\n").split("\n\n")
    headings: list[tuple[int, str, str, bool, str | None]] = []  # level, HTML, TOC HTML, excluded, id
    shape: list[str | int] = []  # a placeholder's text, or the index of a heading
    for block in blocks:
        if "\n" in block or block != block.strip():
            return None
        if _PLACEHOLDER.match(block):
            shape.append(block + "\n")  # Python-Markdown ends a raw HTML block with a newline
            continue
        match = _HEADING.match(block)
        if not match or not _PLAIN.match(match["text"]) or not match["text"].strip():
            return None
        text = match["text"]
        if text != text.strip() or "  " in text:
            return None
        shape.append(len(headings))
        inner = _ESCAPED.sub(r"\1", text)
        toc_html = _ESCAPED.sub(r"\1", text.replace(_APOSTROPHE, "&amp;\\#x27;"))
        headings.append((len(match[1]), inner, toc_html, bool(match["exclude"]), match["id"]))
    used = {h[4] for h in headings if h[4]}
    if len(used) != sum(1 for h in headings if h[4]):
        return None  # a repeated explicit id: leave the odd case to Python-Markdown
    counters: dict[str, int] = {}
    rendered: list[str] = []
    tokens: list[dict] = []
    for level, inner, toc_html, excluded, explicit in headings:
        anchor = explicit or unique(slugify(html.unescape(toc_html), "-"), used, counters)
        attrs = f' data-search-exclude id="{anchor}"' if excluded else f' id="{anchor}"'
        link = f'<a class="headerlink" href="#{anchor}" title="Permanent link">&para;</a>'
        rendered.append(f"<h{level}{attrs}>{inner}{link}</h{level}>")
        tokens.append(
            {"level": level, "id": anchor, "name": toc_html, "html": toc_html, "data-toc-label": ""}
        )
    html_blocks = [rendered[part] if isinstance(part, int) else part for part in shape]
    first = shape[0] if shape else None
    title = headings[first][2] if isinstance(first, int) and headings[first][0] == 1 else None
    anchors = {t["id"] for t in tokens}
    return Converted("\n".join(html_blocks).strip(), nest_toc_tokens(tokens), anchors, title)
