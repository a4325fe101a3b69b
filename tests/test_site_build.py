"""The full site build (strict MkDocs) from a copy of the real knowledge base: links, navigation,
escaping of hostile text, search index, reproduced results and downloads."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import bibtexparser
import pytest
from mkdocs.config import load_config
from mkdocs.exceptions import MkDocsException
from site_fixture import PROBE_ID, BuiltSite

from site_gen.site.build import build_site


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.nav_links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)
        if tag == "a" and "md-nav__link" in (found.get("class") or "") and found.get("href"):
            self.nav_links.append(found["href"])


def _target(site: Path, page: Path, link: str, mount: str) -> Path | None:
    """The file an internal link points to, or None for external links. Absolute paths (the 404
    page uses them) start with the path of `site_url`, `mount`."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
        return None
    if not parts.path:
        return page
    if parts.path.startswith("/"):
        assert parts.path.startswith(mount), f"{page}: absolute link {link} outside the site"
        base, path = site, parts.path[len(mount) :]
    else:
        base, path = page.parent, parts.path
    target = (base / unquote(path)).resolve()
    return target / "index.html" if target.is_dir() or parts.path.endswith("/") else target


def test_every_internal_link_and_anchor_resolves(built_site: BuiltSite) -> None:
    site = built_site.site.resolve()
    mount = urlsplit(load_config(str(built_site.root / "mkdocs.yml")).site_url).path
    pages = sorted(site.rglob("*.html"))
    anchors = {}
    broken = []
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        anchors[page] = (parser.ids, parser.links)
    for page, (_, links) in anchors.items():
        for link in links:
            target = _target(site, page, link, mount)
            if target is None:
                continue
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {link}")
                continue
            fragment = urlsplit(link).fragment
            if fragment and target in anchors and fragment not in anchors[target][0]:
                broken.append(f"{page.relative_to(site)} -> {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken[:30])
    assert len(pages) > len(built_site.kb.entries)


def test_every_entry_has_a_permalink_page_outside_the_navigation(built_site: BuiltSite) -> None:
    for entry in built_site.kb.entries:
        assert (built_site.site / "papers" / entry.id / "index.html").is_file(), entry.id
    # The navigation is pruned to the open section: streams show everywhere, a category's
    # sub-categories on its own pages, entry pages nowhere.
    home, section = _Links(), _Links()
    home.feed((built_site.site / "index.html").read_text(encoding="utf-8"))
    section.feed((built_site.site / "taxonomy/learning-mechanisms/index.html").read_text(encoding="utf-8"))
    assert "taxonomy/agent4kernel/" in home.nav_links
    assert "../iterative-refinement/" in section.nav_links
    assert not [link for link in home.nav_links + section.nav_links if "papers/" in link]


def test_entry_page_shows_metadata_bibtex_edit_link_and_related_works(built_site: BuiltSite) -> None:
    entry = next(e for e in built_site.kb.entries if e.arxiv and e.authors and e.links.code)
    html = (built_site.site / "papers" / entry.id / "index.html").read_text(encoding="utf-8")
    assert f"https://arxiv.org/abs/{entry.arxiv}" in html
    assert entry.links.code in html
    assert f"/edit/main/papers/{entry.id}.yaml" in html
    cite = re.sub(r"<[^>]+>", "", html[html.index('id="cite"') :])
    assert re.search(rf"@\w+\{{{re.escape(entry.id)},", cite)
    assert 'id="related-works"' in html


def _visible_html(site: Path) -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(site.rglob("*.html"))]


def test_hostile_text_is_escaped_everywhere(built_site: BuiltSite) -> None:
    offenders = []
    for page, html in _visible_html(built_site.site):
        for raw in ("<script>window.__xss", "<img src=x", "<b>XssProbeAlias", "<i>Mallory"):
            if raw in html:
                offenders.append(f"{page.relative_to(built_site.site)}: {raw}")
    assert not offenders, offenders
    page = (built_site.site / "papers" / PROBE_ID / "index.html").read_text(encoding="utf-8")
    assert "<title>&lt;/title&gt;&lt;script&gt;" in page
    # Escaped once, not twice, in the header a scrolled page shows (rendered once, the title put in):
    topic = re.search(r'data-md-component="header-topic">\s*<span class="md-ellipsis">\s*([^<]*)', page)
    assert topic and topic.group(1).startswith("&lt;/title&gt;&lt;script&gt;"), topic
    doubled = [f"{p.relative_to(built_site.site)}: {d}" for p, html in _visible_html(built_site.site)
               for d in ("&amp;lt;", "&amp;quot;", "&amp;#x27;") if d in html]  # fmt: skip
    assert not doubled, doubled[:5]
    assert "*Probe* | pipe" in page  # Markdown syntax shown as typed, not interpreted
    data = (built_site.site / "assets" / "works-data.js").read_text(encoding="utf-8")
    assert "</" not in data and "<script" not in data
    index = (built_site.site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "<script>" not in index and "&lt;script&gt;window.__xss=1" in index


def test_search_index_has_titles_aliases_authors_and_arxiv_ids(built_site: BuiltSite) -> None:
    docs = json.loads((built_site.site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    by_location = {}
    for doc in docs:
        by_location.setdefault(doc["location"].split("#")[0], []).append(doc["title"] + " " + doc["text"])
    for entry in built_site.kb.entries:
        text = " ".join(by_location[f"papers/{entry.id}/"])
        for alias in entry.aliases[:1]:
            assert alias.replace("<", "&lt;").replace(">", "&gt;") in text, (entry.id, alias)
        for author in entry.authors[:2]:
            assert author.replace("<", "&lt;").replace(">", "&gt;") in text, (entry.id, author)
        if entry.arxiv:
            assert entry.arxiv in text, entry.id


def test_search_index_leaves_out_deferred_sections(built_site: BuiltSite) -> None:
    docs = json.loads((built_site.site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    text = " ".join(d["text"] for d in docs if d["location"].startswith("papers/kernelbench/"))
    entry = built_site.kb.by_id["kernelbench"]
    assert entry.summary.split()[0] in text and entry.arxiv in text
    assert entry.benchmark is not None and entry.benchmark.correctness not in text  # shown, not indexed
    assert "@misc{" not in text and "@article{" not in text  # nor the BibTeX


def test_reproduced_results_show_good_files_and_name_the_malformed_one(built_site: BuiltSite) -> None:
    index = (built_site.site / "results" / "reproduced" / "index.html").read_text(encoding="utf-8")
    assert "repro/results/nvidia-h200/level1/evolve.json" in index and "Skipped a result file" in index
    html = (built_site.site / "results" / "reproduced" / "nvidia-h200" / "index.html").read_text(
        encoding="utf-8"
    )
    assert "repro/results/nvidia-h200/level1/evolve.json" in html and "level1/03_softmax" in html
    assert "NVIDIA H200" in html and "incorrect" in html


def test_downloads_are_complete_and_parse(built_site: BuiltSite) -> None:
    downloads = built_site.site / "downloads"
    count = len(built_site.kb.entries)
    library = bibtexparser.parse_string((downloads / "papers.bib").read_text(encoding="utf-8"))
    assert len(library.entries) == count and not library.failed_blocks
    assert json.loads((downloads / "papers.json").read_text(encoding="utf-8"))["count"] == count
    assert (downloads / "papers.csv").is_file()
    assert json.loads((downloads / "entry.schema.json").read_text(encoding="utf-8"))
    for chart in ("works-per-quarter.svg", "chronology.svg"):
        svg = (built_site.site / "charts" / chart).read_text(encoding="utf-8")
        assert svg.startswith("<svg") and "<script" not in svg


def test_every_reported_number_appears_on_the_results_page(built_site: BuiltSite) -> None:
    html = (built_site.site / "results" / "reported" / "index.html").read_text(encoding="utf-8")
    for entry in built_site.kb.entries:
        for result in entry.results:
            assert re.search(rf">{re.escape(f'{result.value:g}')}(%|×)?<", html), (entry.id, result)


def test_an_invalid_knowledge_base_fails_the_build_naming_the_file(
    built_site: BuiltSite, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "bad"
    shutil.copytree(built_site.root / "taxonomy", root / "taxonomy")
    shutil.copy(built_site.root / "mkdocs.yml", root / "mkdocs.yml")
    (root / "papers").mkdir()
    (root / "papers" / "broken.yaml").write_text("id: broken\ntitle: Broken\n", encoding="utf-8")
    with pytest.raises(MkDocsException):
        build_site(root, strict=True)
    assert "papers/broken.yaml:1: date: required field is missing" in caplog.text


def _row_of(html: str, entry_id: str) -> str:
    """The table row of the Benchmarks comparison that links to `entry_id`."""
    table = html[html.index('class="ka-table ka-benchmarks"') :]
    table = table[: table.index("</table>")]
    return next(row for row in table.split("<tr>") if f'href="../papers/{entry_id}/"' in row)


def test_benchmark_comparison_shows_tasks_correctness_and_anti_cheating(built_site: BuiltSite) -> None:
    html = (built_site.site / "benchmarks" / "index.html").read_text(encoding="utf-8")
    kernelbench = built_site.kb.by_id["kernelbench"].benchmark
    assert kernelbench is not None and kernelbench.tasks == 250
    row = _row_of(html, "kernelbench")
    assert "<td>250 — PyTorch programs in 3 levels" in row
    assert kernelbench.correctness in row and "PyTorch eager, torch.compile" in row
    assert "<li>locked clocks</li>" in _row_of(html, "sol-execbench")
    _row_of(html, "geak")  # a method that releases a benchmark is compared too
    page = (built_site.site / "papers" / "kernelbench" / "index.html").read_text(encoding="utf-8")
    assert 'id="how-the-benchmark-evaluates"' in page and kernelbench.correctness in page


def test_theme_files_are_listed_as_mkdocs_lists_them_without_walking_hidden_folders(
    built_site: BuiltSite,
) -> None:
    """The hook's loader skips hidden folders (Material's .icons: some 14,000 files) when MkDocs
    looks for the theme's static files; MkDocs drops every hidden path anyway."""
    import importlib.util

    from mkdocs.structure.files import Files

    from site_gen.site.build import HOOK, site_config

    spec = importlib.util.spec_from_file_location("kernelatlas_hook_under_test", HOOK)
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    config = site_config(built_site.root, built_site.root / "scratch-site")
    plain, visible = Files([]), Files([])
    plain.add_files_from_theme(config.theme.get_env(), config)
    env = hook._visible_theme_env(config.theme.get_env)()
    assert isinstance(env.loader, hook._VisibleTemplates)
    visible.add_files_from_theme(env, config)
    assert [f.src_uri for f in visible] == [f.src_uri for f in plain]
    assert any(f.src_uri.endswith(".css") for f in plain)
