# ruff: noqa: F811  (pytest fixtures are imported by name and requested as parameters)
"""Leaderboards in real headless Chromium: sorting, filters, URL state, benchmark pages and the
results downloads, on the site built from this checkout (plus a sample reproduction)."""

from __future__ import annotations

import csv
import io
import json
import urllib.request

import pytest
from site_fixture import BuiltSite
from test_site_browser import page  # noqa: F401  (a fixture)

from site_gen.kb.results import RECORD_FIELDS, cells, stats

pytestmark = pytest.mark.browser


def _visible_boards(page) -> list[dict]:
    return page.eval_on_selector_all(
        ".ka-board:not([hidden])",
        """els => els.map(b => ({id: b.id, hardware: b.dataset.hardware, metric: b.dataset.metric,
            values: Array.from(b.querySelectorAll('tbody tr:not([hidden])')).map(tr => Number(tr.dataset.value)),
            models: Array.from(b.querySelectorAll('tbody tr:not([hidden])')).map(tr => tr.dataset.model)}))""",
    )


def _board_with_distinct_values(page) -> dict:
    for board in _visible_boards(page):
        if len(set(board["values"])) >= 2:
            return board
    pytest.skip("no leaderboard with two different values in this knowledge base")


def test_leaderboard_sorts_by_value_and_keeps_the_sort_in_the_url(page, site_url: str) -> None:
    page.goto(f"{site_url}/results/reported/")
    board = _board_with_distinct_values(page)
    ranked = board["values"]
    assert ranked == sorted(ranked, reverse=True) or ranked == sorted(ranked)  # best first by rank
    header = page.locator(f"#{board['id']} th[data-sort='value']")
    header.click()
    after = next(b for b in _visible_boards(page) if b["id"] == board["id"])["values"]
    assert after == sorted(ranked)
    assert header.get_attribute("aria-sort") == "ascending" and "sort=value" in page.url
    header.click()
    after = next(b for b in _visible_boards(page) if b["id"] == board["id"])["values"]
    assert after == sorted(ranked, reverse=True) and "dir=desc" in page.url
    page.reload()
    again = next(b for b in _visible_boards(page) if b["id"] == board["id"])["values"]
    assert again == sorted(ranked, reverse=True)


def test_hardware_and_metric_filters_hide_other_cells_and_survive_a_reload(page, site_url: str) -> None:
    page.goto(f"{site_url}/results/reported/")
    boards = _visible_boards(page)
    hardware = next(b["hardware"] for b in boards if b["hardware"])
    page.select_option("#ka-lb-filters select[name=hardware]", hardware)
    shown = _visible_boards(page)
    assert shown and all(b["hardware"] == hardware for b in shown)
    assert len(shown) < len(boards) or all(b["hardware"] == hardware for b in boards)
    assert f"hardware={hardware}" in page.url
    count = page.inner_text("#ka-lb-count")
    page.reload()
    assert page.eval_on_selector("#ka-lb-filters select[name=hardware]", "s => s.value") == hardware
    assert page.inner_text("#ka-lb-count") == count
    metric = shown[0]["metric"]
    page.select_option("#ka-lb-filters select[name=metric]", metric)
    assert all(b["metric"] == metric and b["hardware"] == hardware for b in _visible_boards(page))
    page.click("#ka-lb-reset")
    page.wait_for_function("!location.search")
    assert len(_visible_boards(page)) == len(boards)


def test_model_filter_keeps_only_matching_rows(page, site_url: str) -> None:
    page.goto(f"{site_url}/results/reported/")
    board = _visible_boards(page)[0]
    word = board["models"][0].split()[0]
    page.fill("#ka-lb-filters input[name=model]", word)
    shown = _visible_boards(page)
    assert shown and all(word in m for b in shown for m in b["models"])
    assert "model=" in page.url


def test_unknown_url_values_are_ignored(page, site_url: str) -> None:
    page.goto(f"{site_url}/results/reported/?hardware=not-a-device&sort=<script>&dir=sideways")
    assert page.eval_on_selector("#ka-lb-filters select[name=hardware]", "s => s.value") == ""
    assert len(_visible_boards(page)) > 0


def test_a_benchmark_page_shows_its_own_leaderboards(page, site_url: str, built_site: BuiltSite) -> None:
    bench = next(c.key.benchmark for c in cells(built_site.kb) if len(c.rows) >= 2)
    page.goto(f"{site_url}/papers/{bench}/")
    boards = _visible_boards(page)
    assert boards and all(b["id"].startswith(bench) for b in boards)
    assert page.locator("#ka-lb-filters select[name=benchmark]").count() == 0
    hardware = boards[0]["hardware"]
    page.select_option("#ka-lb-filters select[name=hardware]", hardware)
    assert all(b["hardware"] == hardware for b in _visible_boards(page))


def test_results_downloads_hold_every_number_with_its_provenance(
    site_url: str, built_site: BuiltSite
) -> None:
    with urllib.request.urlopen(f"{site_url}/downloads/results.csv") as response:
        table = list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))
    with urllib.request.urlopen(f"{site_url}/downloads/results.json") as response:
        data = json.loads(response.read())
    counts = stats(built_site.kb)
    assert len(table) == len(data["results"]) == counts.results
    assert list(table[0]) == RECORD_FIELDS == data["fields"]
    assert all(row["source"] and (row["arxiv"] or row["url"]) for row in table)
