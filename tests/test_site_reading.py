"""What a reader sees in headless Chromium: names in tables are never cut mid-word, an
organisation written two ways is one organisation, and sections without searchable text stay out
of the search index."""

from __future__ import annotations

import json

import pytest
import site_fixture
from site_fixture import ORG_ENTRIES, ORG_NAME, ORG_SPELLING, BuiltSite

from site_gen.site.people import slugify

pytestmark = pytest.mark.browser

WIDE, PHONE = site_fixture.WIDE, site_fixture.PHONE

# Words of table cells that the browser laid out over two lines. A word is what lies between
# spaces, hyphens, slashes, dots, commas and brackets (places where a line may break cleanly).
_BROKEN_WORDS = """(selector) => {
  const broken = [];
  for (const cell of document.querySelectorAll(selector)) {
    const vertical = getComputedStyle(cell).writingMode.startsWith("vertical");
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/[^\\s\\-\\/(),.]+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
        if (new Set(rects.map(r => Math.round(vertical ? r.left : r.top))).size > 1) broken.push(m[0]);
      }
    }
  }
  return broken;
}"""


def _benchmark_with_leaderboards(built: BuiltSite) -> str:
    reported_on = {r.benchmark for e in built.kb.entries for r in e.results}
    return next(e.id for e in built.kb.entries if e.kind == "benchmark" and e.id in reported_on)


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1440", "390"])
def test_benchmark_matrix_headers_are_whole_words_and_every_column_is_shown(
    open_page, built_site: BuiltSite, viewport: dict
) -> None:
    page = open_page("benchmarks/", viewport)
    matrix = page.locator("table.ka-matrix")
    assert page.evaluate(_BROKEN_WORDS, "table.ka-matrix th") == []
    # Each benchmark's column is no wider than its name set upright would make it.
    widths = matrix.locator("thead th").evaluate_all("ths => ths.slice(1).map(th => th.offsetWidth)")
    assert widths and max(widths) < 60, widths
    # The first column names works briefly: no row is taller than two lines.
    heights = matrix.locator("tbody tr").evaluate_all("rs => rs.map(r => r.offsetHeight)")
    assert max(heights) < 60, max(heights)


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1440", "390"])
@pytest.mark.parametrize("template", ["home", "reported", "benchmark-entry"])
def test_names_in_tables_are_not_cut_mid_word(
    open_page, built_site: BuiltSite, template: str, viewport: dict
) -> None:
    path = {
        "home": "",
        "reported": "results/reported/",
        "benchmark-entry": f"papers/{_benchmark_with_leaderboards(built_site)}/",
    }[template]
    page = open_page(path, viewport)
    assert page.locator("article table").count() > 0
    assert page.evaluate(_BROKEN_WORDS, "article table a") == []
    assert page.evaluate(_BROKEN_WORDS, "article table.ka-headlines td:first-child") == []


def test_an_organisation_written_two_ways_is_one_organisation(open_page, built_site: BuiltSite) -> None:
    first, second = ORG_ENTRIES
    entry = open_page(f"papers/{second}/")
    link = entry.locator(".ka-entry-meta a", has_text=ORG_SPELLING)
    assert link.get_attribute("href").endswith(f"organizations/#{slugify(ORG_NAME)}")
    link.click()
    entry.wait_for_url(f"**/organizations/#{slugify(ORG_NAME)}")
    page = entry
    headings = page.locator("article h2").all_inner_texts()
    assert [h for h in headings if ORG_SPELLING in h] == []
    section = page.locator(f"h2#{slugify(ORG_NAME)}")
    assert ORG_NAME in section.inner_text()
    listed = section.locator("xpath=following-sibling::ul[1]//a[contains(@href, 'papers/')]")
    hrefs = listed.evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert {h.split("/")[-2] for h in hrefs} == {first, second}
    assert ORG_SPELLING in section.locator("xpath=following-sibling::p[1]").inner_text()


def test_leaderboards_of_a_benchmark_page_are_not_a_search_result(
    open_page, built_site: BuiltSite, site_url: str
) -> None:
    benchmark = _benchmark_with_leaderboards(built_site)
    page = open_page(f"papers/{benchmark}/")
    assert page.locator("h2#leaderboards").count() == 1
    index = json.loads(page.request.get(f"{site_url}/search/search_index.json").body())
    locations = [d["location"] for d in index["docs"] if d["location"].startswith(f"papers/{benchmark}/")]
    assert f"papers/{benchmark}/" in locations
    assert [loc for loc in locations if "#" in loc and not loc.endswith("#summary")] == []


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1440", "390"])
def test_a_row_whose_kernel_did_not_run_is_tagged_beside_its_status(open_page, viewport: dict) -> None:
    """The sample ledger's level1/3 failed to build its extension: the tag sits in its KernelBench status
    cell, whole and readable, and the page itself never scrolls sideways (the table scrolls in its box)."""
    page = open_page("results/published/", viewport)
    row = page.locator("tr", has=page.locator("#cuda-l1-h100-level1-3"))
    tag = row.locator(".ka-fallback")
    assert tag.count() == 1 and tag.inner_text() == "fallback: build failed (binding error in the source)"
    cell = row.locator("td:has(.ka-fallback)")
    assert cell.inner_text().startswith("slower than claimed")
    tag.scroll_into_view_if_needed()
    box, cell_box = tag.bounding_box(), cell.bounding_box()
    assert box and cell_box and box["height"] > 0
    assert cell_box["x"] <= box["x"] and box["x"] + box["width"] <= cell_box["x"] + cell_box["width"] + 0.5
    assert page.evaluate(_BROKEN_WORDS, "article td .ka-fallback") == []
    width = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], width
