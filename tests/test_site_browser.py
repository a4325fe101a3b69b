"""The built site in real headless Chromium: search, the All works table (filters, URL state,
sorting, exports) and hostile text. Screenshots go to test-artifacts/ for a human to look at."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import bibtexparser
import pytest
from site_fixture import PROBE_ID, PROBE_TITLE, BuiltSite
from site_fixture import search_site as _search

from site_gen.kb.paths import REPO_ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = REPO_ROOT / "test-artifacts"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def test_search_by_title_leads_to_the_entry_page(page, site_url: str, built_site: BuiltSite) -> None:
    entry = built_site.kb.by_id.get("tritonbench") or built_site.kb.entries[0]
    hrefs = _search(page, site_url, entry.title.split(":")[-1].strip())
    shot(page, "search-title")
    assert any(f"/papers/{entry.id}/" in h for h in hrefs[:3]), hrefs[:5]
    page.locator(f".md-search-result__link[href*='/papers/{entry.id}/']").first.click()
    page.wait_for_url(f"**/papers/{entry.id}/**")
    assert entry.title.split(":")[0] in page.locator("h1").inner_text()
    shot(page, "entry-page")


@pytest.mark.parametrize("field", ["alias", "author", "arxiv"])
def test_search_finds_a_work_by_alias_author_and_arxiv_id(
    page, site_url: str, built_site: BuiltSite, field: str
) -> None:
    entries = [e for e in built_site.kb.entries if e.id != PROBE_ID]
    papers_by = Counter(a for e in entries for a in e.authors)
    # An author with one work and a distinctive name, so the work must be among the first results.
    entry, author = next(
        (e, a)
        for e in entries
        for a in e.authors
        if papers_by[a] == 1 and min(map(len, a.split())) >= 5 and e.aliases and e.arxiv
    )
    query = {"alias": entry.aliases[0], "author": author, "arxiv": entry.arxiv}[field]
    hrefs = _search(page, site_url, query)
    assert any(f"/papers/{entry.id}/" in h for h in hrefs), (query, hrefs[:8])


def _row_ids(page) -> list[str]:
    """Every row of the table: the table draws 200 at a time, "Show more" the next ones."""
    more = page.locator("#ka-more")
    while more.is_visible():
        more.click()
    return page.eval_on_selector_all("#ka-table tbody tr", "rows => rows.map(r => r.dataset.id)")


def _expected(built_site: BuiltSite, param: str, value: str) -> set[str]:
    kb = built_site.kb
    tests = {
        "kind": lambda e: e.kind == value,
        "cat": lambda e: any(value in [c.slug for c in kb.category_path(s)] for s in e.taxonomy),
        "year": lambda e: e.date.startswith(value),
        "lang": lambda e: value in e.languages,
        "hw": lambda e: value in e.hardware,
        "tech": lambda e: value in e.techniques,
        "code": lambda e: bool(e.links.code),
    }
    return {e.id for e in kb.entries if tests[param](e)}


def _pick(built_site: BuiltSite, param: str) -> str:
    """A value that selects some but not all works."""
    kb = built_site.kb
    candidates = {
        "kind": sorted({e.kind for e in kb.entries}),
        "cat": list(kb.categories),
        "year": sorted({e.date[:4] for e in kb.entries}),
        "lang": sorted({s for e in kb.entries for s in e.languages}),
        "hw": sorted({s for e in kb.entries for s in e.hardware}),
        "tech": sorted({s for e in kb.entries for s in e.techniques}),
        "code": ["1"],
    }[param]
    total = len(kb.entries)
    return max(
        candidates,
        key=lambda v: (
            0 < len(_expected(built_site, param, v)) < total,
            len(_expected(built_site, param, v)),
        ),
    )


@pytest.mark.parametrize("param", ["kind", "cat", "year", "lang", "hw", "tech", "code"])
def test_each_filter_narrows_the_table_and_the_url_restores_it(
    page, site_url: str, built_site: BuiltSite, param: str
) -> None:
    page.goto(f"{site_url}/works/")
    page.wait_for_selector("#ka-table tbody tr")
    total = len(_row_ids(page))
    assert total == len(built_site.kb.entries)
    value = _pick(built_site, param)
    if param == "code":
        page.check("input[name=code]")
    else:
        page.select_option(f"select[name={param}]", value)
    ids = _row_ids(page)
    expected = _expected(built_site, param, value)
    assert set(ids) == expected and 0 < len(ids) < total
    assert f"{param}={value}" in page.url
    shot(page, f"works-filter-{param}")
    restored = page.context.new_page()
    restored.goto(page.url)
    restored.wait_for_selector("#ka-table tbody tr")
    assert set(_row_ids(restored)) == expected
    control = restored.locator(f"[name={param}]")
    assert (control.is_checked() if param == "code" else control.input_value() == value) is True


def test_free_text_filter_sorting_and_combined_state_survive_a_reload(
    page, site_url: str, built_site: BuiltSite
) -> None:
    entry = next(e for e in built_site.kb.entries if e.aliases and e.id != PROBE_ID)
    page.goto(f"{site_url}/works/?text={entry.aliases[0]}")
    page.wait_for_selector("#ka-table tbody tr")
    assert entry.id in _row_ids(page) and len(_row_ids(page)) < len(built_site.kb.entries)
    page.fill("#ka-text", "")
    page.click("button[data-sort=title]")
    titles = page.eval_on_selector_all(
        "#ka-table tbody tr td:first-child a", "as => as.map(a => a.textContent)"
    )
    assert titles == sorted(titles, key=str.lower)
    assert "sort=title" in page.url and "dir=asc" in page.url
    page.click("button[data-sort=title]")
    assert "dir=desc" in page.url
    page.reload()
    page.wait_for_selector("#ka-table tbody tr")
    titles = page.eval_on_selector_all(
        "#ka-table tbody tr td:first-child a", "as => as.map(a => a.textContent)"
    )
    assert titles == sorted(titles, key=str.lower, reverse=True)


def test_exports_contain_exactly_the_filtered_works(
    page, site_url: str, built_site: BuiltSite, tmp_path: Path
) -> None:
    page.goto(f"{site_url}/works/?kind=benchmark")
    page.wait_for_selector("#ka-table tbody tr")
    ids = set(_row_ids(page))
    with page.expect_download() as info:
        page.click("#ka-export-bib")
    bib_path = tmp_path / "export.bib"
    info.value.save_as(bib_path)
    library = bibtexparser.parse_string(bib_path.read_text(encoding="utf-8"))
    assert not library.failed_blocks
    assert {e.key for e in library.entries} == ids
    with page.expect_download() as info:
        page.click("#ka-export-csv")
    csv_path = tmp_path / "export.csv"
    info.value.save_as(csv_path)
    rows = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert {r["id"] for r in rows} == ids
    assert all(r["kind"] == "benchmark" for r in rows)


def test_script_carrying_title_shows_as_text(page, site_url: str) -> None:
    page.goto(f"{site_url}/papers/{PROBE_ID}/")
    assert page.evaluate("window.__xss") is None and not page.dialogs
    assert "<script>window.__xss=1</script>" in page.locator("article h1").inner_text()
    assert "<b>XssProbeAlias</b>" in page.locator("article").inner_text()
    assert page.title().startswith("</title><script>")
    shot(page, "xss-entry")
    page.goto(f"{site_url}/works/?text=XssProbeAlias")
    page.wait_for_selector("#ka-table tbody tr")
    assert page.locator("#ka-table tbody tr td:first-child a").inner_text() == PROBE_TITLE
    assert page.evaluate("window.__xss") is None
    shot(page, "xss-works")
    _search(page, site_url, "XssProbeAlias")
    assert page.evaluate("window.__xss") is None and not page.dialogs
    assert "<script>" in page.locator(".md-search-result").inner_text()
    shot(page, "xss-search")


@pytest.mark.parametrize(
    "path",
    [
        "",
        "taxonomy/agent4kernel/",
        "timeline/",
        "benchmarks/",
        "results/reported/",
        "results/reproduced/",
        "downloads/",
    ],
)
def test_pages_render_without_script_errors(page, site_url: str, path: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{site_url}/{path}")
    page.wait_for_load_state("load")
    assert page.locator("article h1").count() == 1
    shot(page, "page-" + (path.strip("/").replace("/", "-") or "home"))
    assert not errors
