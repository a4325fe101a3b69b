"""Every page template of the built site in headless Chromium, as a reader uses it at 1440 and 390
px: nothing is fetched from another origin, axe-core finds no serious violation, nothing is wider
than the page unless it scrolls in a box the keyboard can reach, the front page states findings,
search and the All works filter find works by every name they go by, and the 404 page works
wherever the site is served."""

from __future__ import annotations

import importlib.resources
import re
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import bibtexparser
import pytest
import site_fixture
from site_fixture import PROBE_ID, BuiltSite, search_site

from site_gen.site import home, people

pytestmark = pytest.mark.browser

WIDE, PHONE = site_fixture.WIDE, site_fixture.PHONE


def _entry_with_most_results(kb) -> str:
    """A method's page with the most reported numbers (benchmark pages have their own template)."""
    methods = [e for e in kb.entries if e.id != PROBE_ID and e.kind != "benchmark"]
    return max(methods, key=lambda e: (len(e.results), e.id)).id


def _templates(built: BuiltSite) -> dict[str, str]:
    """One URL (relative to the site root) per page template."""
    kb = built.kb
    benchmark = next(e.id for e in kb.entries if e.kind == "benchmark" and e.benchmark)
    letter = people.family_initial(kb.entries[0].authors[0]) if kb.entries[0].authors else "a"
    return {
        "home": "",
        "works": "works/",
        "compare": f"compare/?ids={_entry_with_most_results(kb)},{benchmark}",
        "taxonomy": "taxonomy/",
        "category": "taxonomy/agent4kernel/",
        "entry": f"papers/{_entry_with_most_results(kb)}/",
        "benchmark-entry": f"papers/{benchmark}/",
        "timeline": "timeline/",
        "benchmarks": "benchmarks/",
        "reported": "results/reported/",
        "reproduced": "results/reproduced/",
        "reproduced-gpu": f"results/reproduced/{site_fixture.REPRO_SLUG}/",
        "methodology": "results/methodology/",
        "downloads": "downloads/",
        "authors": "authors/",
        "author-letter": f"authors/{letter}/",
        "organizations": "organizations/",
        "changes": "changes/",
        "404": "404.html",
    }


TEMPLATE_NAMES = [
    "home", "works", "compare", "taxonomy", "category", "entry", "benchmark-entry", "timeline", "benchmarks",
    "reported", "reproduced", "reproduced-gpu", "methodology", "downloads", "authors", "author-letter",
    "organizations", "changes", "404",
]  # fmt: skip


# --- nothing leaves the origin, axe-core, layout ------------------------------------------------


# For each table and chart of the article: does it fit, and if not, does it scroll in a box that
# the keyboard can reach (a tab stop)?
_LAYOUT = """() => {
  const article = document.querySelector("article");
  const right = article.getBoundingClientRect().right;
  const out = {page: document.documentElement.scrollWidth - document.documentElement.clientWidth, items: []};
  for (const el of article.querySelectorAll("table, svg")) {
    if (el.tagName.toLowerCase() === "svg" && (el.closest("a.headerlink, button, .md-clipboard") || el.getBoundingClientRect().width < 40)) continue;
    let box = el.parentElement, scroller = null;
    while (box && box !== article) {
      const ox = getComputedStyle(box).overflowX;
      if (ox === "auto" || ox === "scroll") { scroller = box; break; }
      box = box.parentElement;
    }
    const scrolls = scroller ? scroller.scrollWidth > scroller.clientWidth + 1 : false;
    out.items.push({
      what: (el.className && (el.className.baseVal ?? el.className)) || el.tagName.toLowerCase(),
      cut: !scroller && el.getBoundingClientRect().right > right + 1,
      scrolls, reachable: scrolls ? scroller.tabIndex >= 0 : true,
    });
  }
  return out;
}"""


def _open_template(open_page, built: BuiltSite, template: str, viewport: dict = WIDE, scheme: str = "light"):
    """The page of `template`, once what its script draws from the downloads is there."""
    page = open_page(_templates(built)[template], viewport, scheme)
    if template == "compare":
        page.wait_for_selector("#ka-compare-numbers")
    return page


def _axe_source() -> str:
    return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


# Marks each table row whose markup another row already shows: the same place on the page (the chain
# of boxes around its table), the same section, the same row class and kind, the same parity (striped
# rows) and the same elements and classes inside it; only the text differs. axe-core's contrast check
# costs about 10 ms an element, and the Reported page's 1,200 rows are a few dozen such patterns
# repeated, so the first row of each pattern stands for the rest. Returns (rows, patterns).
_MARK_REPEATED_ROWS = """() => {
  const name = (el) => el.tagName.toLowerCase() + "." + [...el.classList].sort().join(".");
  const seen = new Set();
  let rows = 0;
  for (const tr of document.querySelectorAll("tr")) {
    rows += 1;
    const chain = [];
    for (let box = tr.parentElement; box; box = box.parentElement) chain.push(name(box));
    const inside = [...tr.querySelectorAll("*")].map(name).join(" ");
    const index = [...tr.parentElement.children].indexOf(tr);
    const key = [chain.join("<"), name(tr), tr.dataset.kind || "", index % 2, inside].join("|");
    if (seen.has(key)) tr.setAttribute("data-ka-axe-same", "");
    else seen.add(key);
  }
  return [rows, seen.size];
}"""


def _axe_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now (one row per repeated
    row pattern: see _MARK_REPEATED_ROWS)."""
    rows, patterns = page.evaluate(_MARK_REPEATED_ROWS)
    assert patterns <= rows
    page.add_script_tag(content=_axe_source())
    return page.evaluate(
        """async () => (await axe.run({exclude: [["[data-ka-axe-same]"]]}, {resultTypes: ["violations"]})).violations
             .filter(v => v.impact === "serious" || v.impact === "critical")
             .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")}`)"""
    )


def _assert_fits(page) -> None:
    layout = page.evaluate(_LAYOUT)
    assert layout["page"] <= 0, "the page scrolls sideways"
    assert [i for i in layout["items"] if i["cut"]] == []
    assert [i for i in layout["items"] if not i["reachable"]] == []


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_page_template_on_a_wide_screen(open_page, site_url: str, built_site: BuiltSite, template: str):
    """Nothing fetched from another origin, no script error, no serious axe-core violation, and
    every table fits or scrolls in a box the keyboard reaches."""
    page = _open_template(open_page, built_site, template)
    foreign = [u for u in page.requests if not u.startswith((site_url + "/", "data:", "blob:"))]
    assert not foreign, foreign
    assert not page.errors
    _assert_fits(page)
    assert _axe_violations(page) == []


@pytest.mark.parametrize("template", ["home", "entry", "works", "reported", "benchmarks", "compare"])
def test_dark_scheme_has_enough_contrast(open_page, built_site: BuiltSite, template: str):
    """The slate scheme a reader's dark system setting selects: no serious axe-core violation."""
    page = _open_template(open_page, built_site, template, WIDE, "dark")
    assert page.evaluate("document.body.dataset.mdColorScheme") == "slate"
    assert _axe_violations(page) == []


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_page_template_on_a_phone(open_page, built_site: BuiltSite, template: str):
    _assert_fits(_open_template(open_page, built_site, template, PHONE))


# Words (letters, digits, dots, underscores: split neither at hyphens nor at slashes) in the
# article's table cells that are drawn on more than one line, i.e. cut in two.
_CUT_WORDS = """() => {
  const cut = [], seen = new Set();
  for (const cell of document.querySelectorAll("article table td, article table th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        seen.add(m[0]);
        if (lines.size > 1) cut.push(m[0]);
      }
    }
  }
  return {cut, seen: [...seen]};
}"""


@pytest.mark.parametrize("template", ["reported", "benchmark-entry", "entry", "reproduced-gpu"])
def test_names_in_tables_are_never_cut_mid_word_on_a_phone(open_page, built_site: BuiltSite, template: str):
    """Narrow columns wrap between words (the theme's `overflow-wrap: break-word` let a cell cut
    "AKO4ALL" into "AKO4AL" and "L" on Reported results at 390 px)."""
    page = _open_template(open_page, built_site, template, PHONE)
    words = page.evaluate(_CUT_WORDS)
    if template == "reported":
        assert "AKO4ALL" in words["seen"]
    assert words["cut"] == []


@pytest.mark.parametrize("template", ["home", "works", "entry"])
def test_tables_fit_without_scrolling_on_a_wide_screen(open_page, built_site: BuiltSite, template: str):
    page = open_page(_templates(built_site)[template])
    layout = page.evaluate(_LAYOUT)
    assert layout["items"] and [i for i in layout["items"] if i["scrolls"]] == []


def test_entry_results_name_benchmarks_briefly_and_put_sources_under_each_row(
    open_page, built_site: BuiltSite
):
    kb = built_site.kb
    entry = kb.by_id[_entry_with_most_results(kb)]
    page = open_page(f"papers/{entry.id}/")
    table = page.locator("article table", has=page.locator("tr.ka-note"))
    first = entry.results[0]
    assert table.locator("tbody tr:first-child td:first-child").first.inner_text() == home.short_title(
        kb.by_id[first.benchmark]
    )
    assert first.source in table.locator("tr.ka-note").first.inner_text()
    heights = table.locator("tbody tr:first-child").evaluate_all("rs => rs.map(r => r.offsetHeight)")
    assert max(heights) < 120, heights


# --- chronology -----------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1440", "390"])
def test_chronology_is_full_size_complete_and_its_links_reachable(
    open_page, built_site: BuiltSite, viewport: dict
):
    page = open_page("timeline/", viewport)
    svg = page.locator("svg.ka-chronology")
    natural, shown = svg.evaluate("s => [s.width.baseVal.value, s.getBoundingClientRect().width]")
    assert shown == pytest.approx(natural, abs=1), "the chart is shrunk to the column"
    assert "more" not in svg.text_content()
    kb = built_site.kb
    placements = sum(len({kb.categories[s].stream for s in e.taxonomy}) for e in kb.entries)
    assert svg.locator("a").count() == placements
    assert page.locator("[role=img] a").count() == 0
    font = svg.locator("a text").first.evaluate("t => t.getBoundingClientRect().height")
    assert font >= 10, font
    scroller = page.locator(".ka-scroll", has=svg)
    start = scroller.evaluate("el => el.scrollLeft")
    assert start > 0, "the chronology opens at its newest quarter"
    scroller.focus()
    for _ in range(3):
        scroller.press("ArrowLeft")
    page.wait_for_function(f"el => el.scrollLeft < {start}", arg=scroller.element_handle())


# --- front page -------------------------------------------------------------------------------------


def test_front_page_states_findings(open_page, built_site: BuiltSite):
    kb = built_site.kb
    page = open_page("")
    article = page.locator("article")
    headlines = home.headline_results(kb)
    assert headlines, "the knowledge base reports numbers, so the front page shows the best of them"
    table = page.locator("table.ka-headlines").first
    for h in headlines:
        row = table.locator("tr", has=page.locator(f"a[href='papers/{h.best.entry.id}/']")).filter(
            has_text=h.best.value_label
        )
        assert row.count() >= 1, (h.benchmark.id, h.subset, h.best.value_label)
    # The stream counts add up to more than the works; the page says why, with the numbers.
    streams, multi = home.stream_counts(kb)
    total = sum(s.works for s in streams)
    text = article.inner_text()
    assert f"add up to {total} for {len(kb.entries)} works" in text and f"{multi} works sit in more" in text
    assert page.locator("article img[src$='works-per-quarter.svg']").count() == 1
    # No two links share a name but lead to different pages.
    links = page.eval_on_selector_all(
        "article a[href]", "as => as.map(a => [a.textContent.trim(), new URL(a.href).pathname])"
    )
    targets: dict[str, set[str]] = {}
    for name, path in links:
        targets.setdefault(name, set()).add(path)
    assert {n: t for n, t in targets.items() if len(t) > 1 and n} == {}


def test_front_page_citation_has_year_version_and_date(open_page, built_site: BuiltSite):
    page = open_page("")
    bib = page.locator("article code.language-bibtex").last.inner_text()
    library = bibtexparser.parse_string(bib)
    assert not library.failed_blocks and len(library.entries) == 1
    fields = library.entries[0].fields_dict
    assert re.fullmatch(r"\d{4}", fields["year"].value)
    assert fields["version"].value and re.fullmatch(r"\d{4}-\d\d-\d\d", fields["urldate"].value)


def test_recent_additions_changelog_and_feed_agree(open_page, built_site: BuiltSite, site_url: str):
    page = open_page("")
    recent = page.locator("article ul.ka-worklist").last.locator("li")
    days = [re.search(r"added (\d{4}-\d\d-\d\d)", t)[1] for t in recent.all_inner_texts()]
    assert days and days == sorted(days, reverse=True)
    feed_href = page.locator("link[rel=alternate][type='application/atom+xml']").get_attribute("href")
    feed = page.request.get(f"{site_url}/{feed_href.lstrip('./')}")
    assert feed.ok
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(feed.body())
    entries = root.findall("a:entry", ns)
    assert entries and len(entries) <= len(built_site.kb.entries)
    first = entries[0].find("a:link", ns).get("href")
    assert first.endswith(f"{recent.first.locator('a').first.get_attribute('href')}")
    changes = open_page("changes/")
    listed = changes.locator("article ul.ka-worklist li").count()
    dated = sum(1 for e in built_site.kb.entries if e.added) or len(built_site.kb.entries)
    assert listed >= min(dated, len(entries))


# --- search -----------------------------------------------------------------------------------------


def _entry_for(kb, predicate) -> str:
    found = [e.id for e in kb.entries if predicate(e)]
    if not found:
        pytest.skip("the knowledge base holds no such entry")
    return found[0]


@pytest.mark.parametrize(
    "query,entry_id",
    [("cudaforge", "cudaforge"), ("kernelblaster", "kernelblaster"), ("dr kernel", "dr-kernel")],
)
def test_search_ranks_the_named_work_first(page_search, built_site: BuiltSite, query: str, entry_id: str):
    if entry_id not in built_site.kb.by_id:
        pytest.skip(f"{entry_id} is not in the knowledge base")
    hrefs = page_search(query)
    assert f"/papers/{entry_id}/" in hrefs[0], (query, hrefs[:5])


@pytest.mark.parametrize("field", ["organisation", "squashed-organisation", "arxiv", "author"])
def test_search_finds_works_by_organisation_arxiv_id_and_author(
    page_search, built_site: BuiltSite, field: str
):
    kb = built_site.kb
    count = Counter(o for e in kb.entries for o in e.organizations)
    entry = kb.by_id[_entry_for(kb, lambda e: any(count[o] == 1 and " " not in o for o in e.organizations))]
    org = next(o for o in entry.organizations if count[o] == 1 and " " not in o)
    query = {
        "organisation": org,
        "squashed-organisation": org.lower(),
        "arxiv": entry.arxiv or pytest.skip("no arXiv id"),
        "author": entry.authors[-1] if entry.authors else pytest.skip("no authors"),
    }[field]
    pages = list(dict.fromkeys(h.split("?")[0].split("#")[0] for h in page_search(query)))
    assert any(f"/papers/{entry.id}/" in h for h in pages[:10]), (query, entry.id, pages[:10])


@pytest.fixture
def page_search(browser, site_url: str):
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    yield lambda query: search_site(page, site_url, query)
    context.close()


# --- All works ----------------------------------------------------------------------------------


def _rows(page) -> list[str]:
    return page.eval_on_selector_all("#ka-table tbody tr", "rows => rows.map(r => r.dataset.id)")


@pytest.mark.parametrize(
    "query", ["cudaforge", "CUDAFORGE", "cuda forge", "deepreinforce", "dr kernel", "2511.01884"]
)
def test_works_filter_searches_names_organisations_and_ids(open_page, built_site: BuiltSite, query: str):
    kb = built_site.kb
    expected = {
        "cudaforge": "cudaforge",
        "CUDAFORGE": "cudaforge",
        "cuda forge": "cudaforge",
        "deepreinforce": _entry_for(kb, lambda e: "DeepReinforce" in " ".join(e.organizations)),
        "dr kernel": "dr-kernel",
        "2511.01884": _entry_for(kb, lambda e: e.arxiv == "2511.01884"),
    }[query]
    if expected not in kb.by_id:
        pytest.skip(f"{expected} is not in the knowledge base")
    page = open_page(f"works/?text={query}")
    rows = _rows(page)
    assert expected in rows and len(rows) < len(kb.entries)
    if query in ("cudaforge", "dr kernel"):
        assert rows[0] == expected


def test_works_table_is_readable_and_complete(open_page, built_site: BuiltSite):
    page = open_page("works/")
    total = len(built_site.kb.entries)
    if len(_rows(page)) < total:  # the first page of rows; "Show more" draws the rest
        page.locator("#ka-more").click()
    assert len(_rows(page)) == total
    assert not page.locator("#ka-more").is_visible(), "Show more is shown with nothing more to show"
    size = page.locator("#ka-table tbody td").first.evaluate(
        "td => parseFloat(getComputedStyle(td).fontSize)"
    )
    assert size >= 14, size
    headers = page.locator("#ka-table thead th").all_inner_texts()
    for name in ("Authors", "Venue", "Results"):
        assert any(name in h for h in headers), headers
    entry = max(built_site.kb.entries, key=lambda e: len(e.results))
    row = page.locator(f"#ka-table tr[data-id='{entry.id}']")
    assert str(len(entry.results)) in row.locator(".ka-col-results").inner_text()


def test_works_table_title_column_has_room_on_a_phone(open_page):
    page = open_page("works/", PHONE)
    width = page.locator("#ka-table tbody td.ka-col-title").first.evaluate(
        "td => td.getBoundingClientRect().width"
    )
    assert width >= 180, width


def test_sorting_by_kind_orders_by_its_name_with_buttons_that_answer_space_and_enter(
    open_page, built_site: BuiltSite
):
    page = open_page("works/")
    button = page.locator("#ka-table thead th button", has_text="Kind")
    button.focus()
    page.keyboard.press("Space")
    kinds = page.locator("#ka-table tbody td.ka-col-kind").all_inner_texts()
    assert kinds == sorted(kinds, key=str.lower) and len(set(kinds)) > 1
    page.keyboard.press("Enter")
    kinds = page.locator("#ka-table tbody td.ka-col-kind").all_inner_texts()
    assert kinds == sorted(kinds, key=str.lower, reverse=True)
    assert "sort=kind" in page.url and "dir=desc" in page.url


# --- authors and organisations -------------------------------------------------------------------------


def test_entry_links_to_its_authors_and_organisations(open_page, built_site: BuiltSite):
    kb = built_site.kb
    entry = next(e for e in kb.entries if e.authors and e.organizations and e.id != PROBE_ID)
    page = open_page(f"papers/{entry.id}/")
    page.locator("article a", has_text=entry.authors[0]).first.click()
    page.wait_for_load_state("load")
    anchor = page.url.split("#")[1]
    section = page.locator(f"h2[id='{anchor}']")
    assert entry.authors[0] in section.inner_text()
    works = section.locator("xpath=following-sibling::ul[1]")
    assert works.locator(f"a[href$='papers/{entry.id}/']").count() == 1
    page = open_page(f"papers/{entry.id}/")
    page.locator("article a", has_text=entry.organizations[0]).first.click()
    page.wait_for_load_state("load")
    section = page.locator(f"h2[id='{page.url.split('#')[1]}']")
    assert entry.organizations[0] in section.inner_text()
    assert (
        section.locator("xpath=following-sibling::ul[1]").locator(f"a[href$='papers/{entry.id}/']").count()
        == 1
    )


# --- 404 ----------------------------------------------------------------------------------------------


class _PagesHandler(SimpleHTTPRequestHandler):
    """Serves the site under `prefix` and answers a missing path with 404.html, as static hosts do."""

    prefix = "/"

    def log_message(self, *args: object) -> None:
        pass

    def send_head(self):
        if not self.path.startswith(self.prefix):
            return self._not_found()
        self.path = "/" + self.path[len(self.prefix) :]
        local = Path(self.translate_path(self.path))
        if not (local.is_file() or (local / "index.html").is_file()):
            return self._not_found()
        return super().send_head()

    def _not_found(self):
        body = (Path(self.directory) / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        import io

        return io.BytesIO(body)


@pytest.mark.parametrize("prefix", ["/", "/kernelatlas/"])
def test_404_page_is_styled_and_links_home_wherever_the_site_is_served(
    browser, built_site: BuiltSite, prefix: str
):
    handler = type("Handler", (_PagesHandler,), {"prefix": prefix})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(built_site.site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    context = browser.new_context(viewport=WIDE)
    try:
        page = context.new_page()
        failed = []
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 and r.url != page.url else None)
        page.goto(f"{origin}{prefix}no/such/page/")
        page.wait_for_load_state("networkidle")
        failed = [u for u in failed if u != f"{origin}{prefix}no/such/page/"]
        if prefix == "/":  # the preload scanner tries the published path before the script runs
            failed = [u for u in failed if not u.startswith(f"{origin}/kernelatlas/")]
        assert failed == []
        header = page.locator(".md-header").evaluate("h => getComputedStyle(h).position")
        assert header in ("sticky", "fixed"), "the theme's stylesheet did not load"
        home_link = page.locator(".md-header__button.md-logo").get_attribute("href")
        assert page.evaluate("h => new URL(h, document.baseURI).pathname", home_link) == prefix
        page.locator(".md-header__button.md-logo").click()
        page.wait_for_load_state("load")
        assert page.locator("article h1").inner_text().startswith("KernelAtlas")
    finally:
        context.close()
        server.shutdown()


@pytest.mark.parametrize("prefix", ["/", "/kernelatlas/"])
def test_404_page_offers_search_and_the_main_sections(browser, built_site: BuiltSite, prefix: str):
    """More than a title: a search form holding the missing address's last part, which opens the
    site's search with it, and links to the main sections that resolve wherever the site is served."""
    handler = type("Handler", (_PagesHandler,), {"prefix": prefix})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(built_site.site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{origin}{prefix}papers/cudaforg/")
        assert page.locator("article h1").inner_text() == "Page not found"
        links = page.locator("article .ka-notfound-links a").evaluate_all("as => as.map(a => a.href)")
        paths = {urlsplit(u).path for u in links}
        for section in ["", "works/", "taxonomy/", "results/reported/", "benchmarks/", "downloads/"]:
            assert prefix + section in paths, (section, paths)
        for url in links:
            assert page.request.get(url).status == 200, url
        box = page.locator("#ka-notfound-q")
        assert box.input_value() == "cudaforg"
        box.fill("KernelBench")
        page.locator(".ka-notfound-search button[type=submit]").click()
        page.wait_for_url(f"{origin}{prefix}?q=KernelBench")
        page.wait_for_function("document.querySelector('.md-search__input')?.value === 'KernelBench'")
        page.wait_for_selector(".md-search-result__item", timeout=15_000)
    finally:
        context.close()
        server.shutdown()


# --- explanations where a number needs one -----------------------------------------------------------


def test_speed_of_light_above_100_percent_is_explained_on_the_gpu_page(open_page):
    page = open_page(f"results/reproduced/{site_fixture.REPRO_SLUG}/")
    text = page.locator("article").inner_text()
    assert re.search(r"above 100\s?%", text), "the GPU page does not say how a SOL fraction can pass 100%"
