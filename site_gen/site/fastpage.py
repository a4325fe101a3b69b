"""The Markdown of generated pages, converted without Python-Markdown.

Entry pages (one per work, thousands in a large knowledge base) are Markdown only for their
headings; every body is an HTML placeholder comment that the render hook fills in. Building a
Python-Markdown instance and running its parsers on such a page was a quarter of the site build.
`convert` turns exactly that subset (plain paragraphs, headings, optionally `{ data-search-exclude }` or `{ #id }`,
placeholder comments, blank lines) into the HTML and table of contents Python-Markdown with the
site's extensions (`attr_list`, `toc` with permalinks) would produce; for anything else it
returns None and the page goes through Python-Markdown as before. tests/test_site_fastpage.py
compares both on awkward titles.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
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
_PARAGRAPH_START = re.compile(r"^[A-Za-z]")  # a line that cannot start a list, quote, table or HTML


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
        if block != block.strip():
            return None
        if _PARAGRAPH_START.match(block):  # plain prose, as on the organisations page
            lines = [_text_html(line) if _PARAGRAPH_START.match(line) else None for line in block.split("\n")]
            if any(line is None or line != line.strip() for line in lines):
                return None
            shape.append("<p>" + "\n".join(lines) + "</p>")  # type: ignore[arg-type]
            continue
        if "\n" in block:
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


# Pipe tables of generated pages (result tables run to hundreds of rows) are the other large cost
# of Python-Markdown: its inline parser runs over every cell. `extract_tables` takes out each table
# whose cells stay within a small subset (plain text, backslash escapes, entities, inline HTML tags
# without Markdown syntax inside, links to a plain relative path or anchor) and renders it as
# Python-Markdown's `tables` extension would, resolving links with MkDocs' own link processor (so
# they are checked and rewritten as before); the rest of the page, with a placeholder comment where
# each table stood, still goes through Python-Markdown. tests/test_site_fastpage.py compares both
# on every table of the built site.
_TABLE_PLACEHOLDER = "<!--ka:t{}-->"
_SEPARATOR_CELL = re.compile(r"^(:?)-+(:?)$")
# Python-Markdown's inline HTML pattern (markdown.inlinepatterns.HTML_RE) without comments.
_TAG = re.compile(r"<(/?[a-zA-Z][^<>@ ]*(?: [^<>]*)?)>")
# What an inline pattern that runs before HTML's would take from inside a tag: backslash escapes,
# code spans, and brackets unless they are balanced, followed by neither `(` nor `[` (no link,
# image or reference) and the page defines no references.
_TAG_UNSAFE = re.compile(r"[\\`]|\]\s?[(\[]")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]*\]:", re.MULTILINE)
_LINK = re.compile(r"\[([^\[\]]*)\]\(([A-Za-z0-9_./#-]+)\)")
# Cell text: no Markdown syntax but backslash escapes and underscores inside words.
_CELL_TEXT = re.compile(r"^(?:[^\\`*_{}\[\]<]|\\[*_{}\[\]()#+\-.!|>])*$")
_CELL_ESCAPE = re.compile(r"\\([*_{}\[\]()#+\-.!|>])")
_INWORD_UNDERSCORE = re.compile(r"(?<=[A-Za-z0-9])_(?=[A-Za-z0-9])")
_BARE_AMP = re.compile(r"&(?!(?:\#[0-9]+|\#x[0-9a-f]+|[0-9a-z]+);)", re.IGNORECASE)
_PIPE = re.compile(r"(?<!\\)\|")
_ID_ATTR = re.compile(r"""\sid=(?:"([^"&]*)"|'([^'&]*)')""")
# Block-level tags that, left open, make Python-Markdown keep what follows as raw HTML.
_BLOCK_TAG = re.compile(
    r"<(/?)(div|details|section|article|aside|nav|figure|blockquote|table|form|p|ul|ol|dl|pre)[\s>]"
)


def _open_blocks(text: str) -> int:
    """How many block-level tags `text` opens and does not close (a table after one is left alone)."""
    depth = 0
    for match in _BLOCK_TAG.finditer(text):
        depth += -1 if match[1] else 1
    return depth


def _text_html(text: str) -> str | None:
    """Cell text as Python-Markdown writes it, or None outside the subset."""
    if not _CELL_TEXT.match(_INWORD_UNDERSCORE.sub("", text)):
        return None
    return _BARE_AMP.sub("&amp;", _CELL_ESCAPE.sub(r"\1", text)).replace(">", "&gt;")


# A cell as pieces: HTML to write as it is, or a link (its URL and the HTML of its text).
_Piece = str | tuple[str, str]


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        if char in "[]":
            depth += 1 if char == "[" else -1
            if depth < 0:
                return False
    return depth == 0


def _cell_pieces(cell: str) -> list[_Piece] | None:
    pieces: list[_Piece] = []
    pos = 0
    for match in _TAG.finditer(cell):
        tag = match[0]
        if _TAG_UNSAFE.search(tag) or (" id=" in tag and not _ID_ATTR.search(tag)):
            return None
        if ("[" in tag or "]" in tag) and not _balanced(tag):
            return None
        pieces.append(cell[pos : match.start()])
        pieces.append(("", tag))
        pos = match.end()
    pieces.append(cell[pos:])
    out: list[_Piece] = []
    for piece in pieces:
        if isinstance(piece, tuple):
            out.append(piece[1])
            continue
        at = 0
        for link in _LINK.finditer(piece):
            before, text = _text_html(piece[at : link.start()]), _text_html(link[1])
            if before is None or text is None:
                return None
            out += [before, (link[2], text)]
            at = link.end()
        rest = _text_html(piece[at:])
        if rest is None:
            return None
        out.append(rest)
    return out


def _split_row(line: str) -> list[str] | None:
    line = line.strip()
    if len(line) < 2 or not line.startswith("|") or not line.endswith("|") or line.endswith("\\|"):
        return None
    return [cell.strip() for cell in _PIPE.split(line[1:-1])]


@dataclass
class _Table:
    aligns: list[str]
    rows: list[list[list[_Piece]]]  # the header first
    anchor_ids: set[str]

    def html(self, resolve: Callable[[str], str]) -> str:
        parts = ["<table>", "<thead>"]
        for n, row in enumerate(self.rows):
            if n == 1:
                parts.append("<tbody>")
            parts.append("<tr>")
            tag = "th" if n == 0 else "td"
            for pieces, style in zip(row, self.aligns, strict=True):
                inner = "".join(
                    p if isinstance(p, str) else f'<a href="{resolve(p[0])}">{p[1]}</a>' for p in pieces
                )
                parts.append(f"<{tag}{style}>{inner}</{tag}>")
            parts.append("</tr>")
            if n == 0:
                parts.append("</thead>")
        if len(self.rows) > 1:
            parts.append("</tbody>")
        parts.append("</table>")
        return "\n".join(parts)


def _parse_table(block: str) -> _Table | None:
    """One pipe-table block within the subset, or None."""
    lines = block.split("\n")
    if len(lines) < 2 or "\\\\" in block or "\t" in block or "\r" in block:
        return None
    rows: list[list[str]] = []
    for line in lines:
        row = _split_row(line)
        if row is None:
            return None
        rows.append(row)
    header, separator, *body = rows
    aligns = []
    for cell in separator:
        match = _SEPARATOR_CELL.match(cell)
        if not match:
            return None
        left, right = bool(match[1]), bool(match[2])
        align = "center" if left and right else "left" if left else "right" if right else None
        aligns.append(f' style="text-align: {align};"' if align else "")
    if len(header) != len(aligns) or any(len(row) != len(aligns) for row in body):
        return None
    parsed = []
    for row in [header, *body]:
        cells = [_cell_pieces(cell) for cell in row]
        if any(cell is None for cell in cells):
            return None
        parsed.append(cells)
    ids = {a or b for match in _TAG.finditer(block) for a, b in _ID_ATTR.findall(match[0])}
    return _Table(aligns, parsed, ids)  # type: ignore[arg-type]


@dataclass
class Tables:
    """A page's Markdown with its tables taken out, their HTML, and the ids in them."""

    markdown: str
    html: list[str]
    anchor_ids: set[str]

    def fill(self, content: str) -> str:
        """Python-Markdown's output for `markdown` with each table put back (a placeholder block
        is written followed by a newline, a table without one)."""
        for n, table in enumerate(self.html):
            placeholder = _TABLE_PLACEHOLDER.format(n)
            if placeholder + "\n" in content:
                content = content.replace(placeholder + "\n", table, 1)
            else:
                content = content.replace(placeholder, table, 1)
        return content


def extract_tables(markdown: str, resolve: Callable[[str], str]) -> Tables | None:
    """`markdown` with every table within the subset replaced by a placeholder, or None when
    there is none. `resolve` turns a link's URL into the one to write (MkDocs' link processor)."""
    if "<!--ka:t" in markdown or "```" in markdown or "<pre" in markdown:
        return None
    if _REFERENCE_DEFINITION.search(markdown):
        return None
    blocks = markdown.split("\n\n")
    tables: list[str] = []
    ids: set[str] = set()
    depth = 0
    for i, block in enumerate(blocks):
        if not block.startswith("|") or "\n|" not in block:
            depth += _open_blocks(block)
            continue
        table = _parse_table(block.rstrip("\n")) if not depth else None
        if table is None:
            continue
        blocks[i] = _TABLE_PLACEHOLDER.format(len(tables)) + block[len(block.rstrip("\n")) :]
        tables.append(table.html(resolve))
        ids |= table.anchor_ids
    return Tables("\n\n".join(blocks), tables, ids) if tables else None
