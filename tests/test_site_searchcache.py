"""The search plugin's reading of pages, kept between builds: the index is the same whether pages
are parsed afresh or taken from the cache, and a stale, foreign or broken cache is not trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from material.plugins.search.plugin import Parser
from site_fixture import BuiltSite

from site_gen.site import searchcache
from site_gen.site.build import build_site

PAGE = (
    '<h1 id="t">Title<a class="headerlink" href="#t">&para;</a></h1><p>Intro &amp; more</p>'
    '<h2 id="a" data-search-exclude>Hidden</h2><p>not indexed</p><h2 id="b">Shown</h2><p>text</p>'
)


def _read(sections: list) -> list[tuple]:
    """What the search plugin reads of the sections it indexes."""
    return [(s.id, "".join(s.title), bool(s.title), "".join(s.text)) for s in sections if not s.is_excluded()]


def _plain(content: str) -> list[tuple]:
    parser = Parser()
    parser.feed(content)
    parser.close()
    return _read(parser.data)


def _cached(cache: searchcache.SearchCache, content: str) -> list[tuple]:
    return _read(cache.sections(content))


def test_sections_from_the_cache_are_those_the_parser_gives(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    first = searchcache.SearchCache(path)
    assert _cached(first, PAGE) == _plain(PAGE)
    assert [s.id for s in first.sections(PAGE)] == [None, "b"]  # the excluded section is left out
    first.save()
    again = searchcache.SearchCache(path)
    assert list(again.loaded) == list(first.used)
    assert _cached(again, PAGE) == _plain(PAGE)
    changed = PAGE.replace("text", "other words")
    assert _cached(again, changed) == _plain(changed)  # a changed page is parsed, not looked up
    # The plugin writes a missing title into the sections it is given: each call gets fresh ones.
    again.sections(PAGE)[0].title.append("x")
    assert _cached(again, PAGE) == _plain(PAGE)


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '["a list"]',
        '{"salt": "format 1; mkdocs-material 0.0; python 0", "pages": {}}',
        '{"salt": 1}',
    ],
)
def test_a_broken_or_foreign_cache_is_ignored(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cache.json"
    path.write_text(
        text.replace("{}", json.dumps({"k": [["h1", {}, 0, None, ["stale"], []]]})), encoding="utf-8"
    )
    cache = searchcache.SearchCache(path)
    assert cache.loaded == {}
    assert _cached(cache, PAGE) == _plain(PAGE)


def test_a_build_from_the_cache_writes_the_same_index_as_one_without(
    built_site: BuiltSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = built_site.root
    cache = json.loads((root / searchcache.CACHE_FILE).read_text(encoding="utf-8"))
    assert len(cache["pages"]) >= len(built_site.kb.entries)  # the session's build kept its pages
    warm = build_site(root, tmp_path / "warm")
    monkeypatch.setattr(searchcache, "install", lambda plugins, root: None)
    plain = build_site(root, tmp_path / "plain")
    index = (plain / "search" / "search_index.json").read_bytes()
    assert (warm / "search" / "search_index.json").read_bytes() == index
    assert (built_site.site / "search" / "search_index.json").read_bytes() == index
