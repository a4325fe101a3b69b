"""The Compare page in headless Chromium: works picked in All works or named in the address open
side by side, numbers measured the same way share a row, and the address keeps the choice
through removing, adding, going back and reloading."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import pytest
from site_fixture import BuiltSite

from site_gen.kb.results import rows
from site_gen.site.home import short_title

pytestmark = pytest.mark.browser


def _pair_sharing_a_cell(built: BuiltSite) -> tuple[str, str, str]:
    """Two works that report a number in the same comparison cell, and that cell's id."""
    works_of: dict[str, list[str]] = defaultdict(list)
    for row in rows(built.kb):
        if row.entry.id not in works_of[row.cell.slug]:
            works_of[row.cell.slug].append(row.entry.id)
    cell, works = next((c, w) for c, w in sorted(works_of.items()) if len(w) >= 2)
    return works[0], works[1], cell


def _ids(page) -> list[str]:
    return parse_qs(urlsplit(page.url).query).get("ids", [""])[0].split(",")


def _columns(page) -> list[str]:
    return page.locator("#ka-compare-table thead th[data-id]").evaluate_all(
        "ths => ths.map(t => t.dataset.id)"
    )


def test_works_named_in_the_address_are_side_by_side_with_shared_cells_in_one_row(
    open_page, built_site: BuiltSite
) -> None:
    first, second, cell = _pair_sharing_a_cell(built_site)
    page = open_page(f"compare/?ids={first},{second},no-such-work")
    page.wait_for_selector("#ka-compare-table")
    assert _columns(page) == [first, second]
    kb = built_site.kb
    heads = page.locator("#ka-compare-table thead th[data-id] a").all_inner_texts()
    assert heads == [short_title(kb.by_id[first]), short_title(kb.by_id[second])]
    assert "no-such-work" in page.locator("#ka-compare-status").inner_text()
    row = page.locator(f"#ka-compare-numbers tr[data-cell='{cell}']")
    assert row.get_attribute("class") == "ka-shared"
    values = row.locator("td").all_inner_texts()
    assert len(values) == 2 and "—" not in values, values
    assert row.locator("td strong").count() >= 1  # the better number of a shared row
    # Shared rows come first.
    classes = page.locator("#ka-compare-numbers tbody tr").evaluate_all("rs => rs.map(r => r.className)")
    assert classes == sorted(classes, key=lambda c: c != "ka-shared")
    # What both works have in common is marked in the facet rows.
    common = set(kb.by_id[first].languages) & set(kb.by_id[second].languages)
    marked = page.locator("#ka-compare-table tbody tr", has_text="Languages").locator("strong")
    assert marked.count() == 2 * len(common)


def test_the_address_follows_removing_adding_back_and_reload(open_page, built_site: BuiltSite) -> None:
    first, second, _ = _pair_sharing_a_cell(built_site)
    third = next(e for e in built_site.kb.entries if e.id not in (first, second) and e.aliases)
    page = open_page(f"compare/?ids={first},{second}")
    page.wait_for_selector("#ka-compare-table")
    page.locator(f"button.ka-remove[data-id='{first}']").click()
    page.wait_for_function(f"!location.search.includes('{first}')")
    assert _ids(page) == [second] and _columns(page) == [second]
    page.locator("#ka-compare-add").fill(third.aliases[0].upper())
    page.locator("#ka-compare-form button[type=submit]").click()
    page.wait_for_function(f"location.search.includes('{third.id}')")
    assert _ids(page) == [second, third.id] and _columns(page) == [second, third.id]
    page.go_back()
    page.wait_for_function(f"!location.search.includes('{third.id}')")
    assert _columns(page) == [second]
    page.go_forward()
    page.wait_for_function(f"location.search.includes('{third.id}')")
    page.reload()
    page.wait_for_selector("#ka-compare-table")
    assert _columns(page) == [second, third.id]


def test_works_ticked_in_all_works_open_on_the_compare_page(open_page, built_site: BuiltSite) -> None:
    page = open_page("works/")
    ticks = page.locator("#ka-table input.ka-pick")
    link = page.locator("#ka-compare")
    assert link.get_attribute("aria-disabled") == "true"
    chosen = [ticks.nth(i).get_attribute("value") for i in range(5)]
    for i in range(4):
        ticks.nth(i).check()
    assert ticks.nth(4).is_disabled(), "at most four works side by side"
    ticks.nth(3).uncheck()
    assert not ticks.nth(4).is_disabled()
    # Filtering redraws the rows; the ticks stay.
    page.locator("#ka-text").fill(built_site.kb.by_id[chosen[0]].title)
    page.locator("#ka-text").fill("")
    assert page.locator(f"#ka-table input.ka-pick[value='{chosen[1]}']").is_checked()
    assert link.get_attribute("aria-disabled") is None
    link.click()
    page.wait_for_url("**/compare/?ids=*")
    page.wait_for_selector("#ka-compare-table")
    assert _ids(page) == chosen[:3] and _columns(page) == chosen[:3]


def test_an_entry_page_opens_the_compare_page_with_its_work(open_page, built_site: BuiltSite) -> None:
    first, _, _ = _pair_sharing_a_cell(built_site)
    page = open_page(f"papers/{first}/")
    page.locator("article a", has_text="Compare with other works").click()
    page.wait_for_selector("#ka-compare-table")
    assert _ids(page) == [first] and _columns(page) == [first]
    assert "Add another work" in page.locator("#ka-compare-status").inner_text()


def test_the_compare_page_is_light(open_page, built_site: BuiltSite, site_url: str) -> None:
    """The page fetches one compact data file, not the full downloads (2.4 MB for the real
    knowledge base, most of it fields and repeated cell names the page never shows)."""
    first, second, _ = _pair_sharing_a_cell(built_site)
    page = open_page(f"compare/?ids={first},{second}")
    page.wait_for_selector("#ka-compare-numbers")
    fetched = [url.split("?")[0][len(site_url) + 1 :] for url in page.requests if url.startswith(site_url)]
    assert not [u for u in fetched if u.startswith("downloads/")], fetched
    site = built_site.site
    sizes = {u: (site / u / "index.html" if u.endswith("/") else site / u).stat().st_size for u in fetched}
    # What this page loads beyond what every page loads (the theme, the search index).
    own = {u: n for u, n in sizes.items() if u.startswith("compare/") or u == "assets/compare.js"}
    assert "compare/data.json" in own, fetched
    assert own["compare/data.json"] < 0.3 * (site / "downloads" / "papers.json").stat().st_size, own
    assert sum(own.values()) < 400_000, own
