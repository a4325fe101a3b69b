"""The search plugin's reading of each page, kept between builds of one checkout.

MkDocs-Material's search plugin splits every page's HTML into sections with an HTML parser; on
the real knowledge base that is about a seventh of a build, and between two builds almost every
page's HTML is the same. The sections a page splits into depend on nothing but its HTML (and the
versions of the plugin and of Python's parser), so they are kept in build/search-cache.json keyed
by a hash of the HTML, and a page whose HTML is unchanged is not parsed again. Each build writes
the cache afresh with the pages it built, so it never grows beyond one site. A fresh checkout, a
missing or unreadable cache, or any page that changed is parsed as before; the index written is
the same either way (tests/test_site_searchcache.py compares it with an uncached build).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from material.plugins.search.plugin import Element, Parser, SearchIndex, SearchPlugin, Section

CACHE_FILE = Path("build") / "search-cache.json"
FORMAT = 2  # of the cache file: a file of another format is not read
# A section as kept: its id, and its title and text (see SearchCache.sections).
_Kept = list[Any]


def _salt() -> str:
    """What else the parse depends on: the plugin's code and Python's HTML parser."""
    return (
        f"format {FORMAT}; mkdocs-material {version('mkdocs-material')}; python {platform.python_version()}"
    )


class SearchCache:
    """Sections of every page HTML seen, by hash: those loaded and those parsed in this build."""

    def __init__(self, path: Path):
        self.path = path
        self.salt = _salt()
        self.loaded: dict[str, list[_Kept]] = {}
        self.used: dict[str, list[_Kept]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if (
                isinstance(data, dict)
                and data.get("salt") == self.salt
                and isinstance(data.get("pages"), dict)
            ):
                self.loaded = data["pages"]
        except (OSError, ValueError):
            pass  # no cache yet, or an unreadable one: every page is parsed

    def sections(self, content: str) -> list[Section]:
        """The sections of `content` the index takes (those not excluded), parsed or from the
        cache. Only what the plugin reads of them is kept: the id, and the title and text
        pieces joined (None for no pieces: the plugin gives an untitled section the page's
        title). The objects are fresh either way, since the plugin writes into them."""
        key = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
        kept = self.used.get(key)
        if kept is None:
            kept = self.loaded.get(key)
        if kept is None:
            parser = Parser()
            parser.feed(content)
            parser.close()
            kept = [
                [s.id, "".join(s.title) if s.title else None, "".join(s.text) if s.text else None]
                for s in parser.data
                if not s.is_excluded()
            ]
        self.used[key] = kept
        out = []
        for section_id, title, text in kept:
            section = Section(Element("hx"))
            section.id = section_id
            section.title = [title] if title is not None else []
            section.text = [text] if text is not None else []
            out.append(section)
        return out

    def save(self) -> None:
        """Write the sections of this build's pages, atomically; a cache that cannot be written
        only costs the next build its speed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-search-cache-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(
                    {"salt": self.salt, "pages": self.used}, handle, ensure_ascii=False, separators=(",", ":")
                )
            os.replace(tmp, self.path)
        except (OSError, ValueError, TypeError):
            pass


def add_entry(cache: SearchCache, index: SearchIndex, page: Any) -> None:
    """SearchIndex.add_entry_from_context, with the parse taken from `cache` when it can be."""
    search = page.meta.get("search") or {}
    if search.get("exclude"):
        return
    for section in cache.sections(page.content):
        index.create_entry_for_section(section, page.toc, page.url, page)


def install(plugins: Any, root: Path) -> SearchCache | None:
    """Make the search plugin among `plugins` (once its configuration has been read) read pages
    through a cache kept under `root`; None when there is no such plugin."""
    for plugin in plugins.values():
        index = getattr(plugin, "search_index", None) if isinstance(plugin, SearchPlugin) else None
        if index is not None:
            cache = SearchCache(root / CACHE_FILE)
            index.add_entry_from_context = functools.partial(add_entry, cache, index)
            return cache
    return None
