"""Scorecard files read for the "What each harness catches" page: this project's gauntlet files merged
per device (newest run of a case wins), other harnesses' files one column per view, malformed files
named and skipped."""

from __future__ import annotations

import json
from pathlib import Path

from repro.records.scorecards import read_scorecards


def ours(date: str, device: str, commit: str, rows: list[tuple[str, str]]) -> dict:
    prov = {"device": device, "name": "NVIDIA H200" if device == "cuda" else "x86_64",
            "git": {"commit": commit}}  # fmt: skip
    return {"format": "kernelatlas-gauntlet", "format_version": 1, "harness": "kernelatlas", "date": date,
            "provenance": prov, "settings": {"device": device},
            "cases": [{"name": n, "category": "timing", "hack": f"the {n} trick", "status": s,
                       "reason": f"why {n} at {commit}"} for n, s in rows]}  # fmt: skip


def other(rows: list[tuple[str, dict]]) -> dict:
    return {"format": "kernelatlas-harness-scorecard", "format_version": 1, "harness": "kernelbench",
            "label": "KernelBench", "repository": "ScalingIntelligence/KernelBench", "commit": "k" * 40,
            "date": "2026-12-01T15:00:00+00:00", "provenance": {"device": "cuda", "name": "NVIDIA H200"},
            "views": [{"key": "eval", "label": "KernelBench eval"}, {"key": "eval+static", "label": "KB + static"}],
            "cases": [{"name": n, "category": "timing", "hack": f"the {n} trick", "statuses": st,
                       "why": {k: f"kb says\n  {k}" for k in st}} for n, st in rows]}  # fmt: skip


def write(folder: Path, name: str, data: dict | str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(data if isinstance(data, str) else json.dumps(data))


def test_columns_cells_and_merging(tmp_path: Path) -> None:
    g = tmp_path / "gauntlet"
    write(g, "old.json", ours("2026-11-30T00:00:00+00:00", "cuda", "a" * 40,
                              [("good", "caught"), ("graph", "missed"), ("thread", "caught")]))  # fmt: skip
    write(g, "new.json", ours("2026-12-01T00:00:00+00:00", "cuda", "b" * 40,
                              [("graph", "caught"), ("thread", "not_run")]))  # fmt: skip
    write(
        g,
        "cpu.json",
        ours("2026-12-01T00:00:00+00:00", "cpu", "c" * 40, [("good", "caught"), ("x", "known_miss")]),
    )
    write(g, "kb.json", other([("good", {"eval": "caught", "eval+static": "caught"}),
                               ("graph", {"eval": "missed", "eval+static": "not_applicable"})]))  # fmt: skip
    cards = read_scorecards(g)
    assert cards.errors == []
    keys = [c.key for c in cards.columns]
    assert keys == ["kernelatlas@NVIDIA H200", "kernelatlas@CPU (Triton interpreter)",
                    "kernelbench:eval@NVIDIA H200", "kernelbench:eval+static@NVIDIA H200"]  # fmt: skip
    h200 = cards.columns[0]
    assert h200.commits == ["b" * 40, "a" * 40] and h200.dates == ["2026-12-01", "2026-11-30"]
    cell = {c.name: c.cells for c in cards.cases}
    assert cell["graph"]["kernelatlas@NVIDIA H200"].status == "caught"  # the newer run
    assert "at " + "b" * 40 in cell["graph"]["kernelatlas@NVIDIA H200"].why
    assert cell["thread"]["kernelatlas@NVIDIA H200"].status == "caught"  # "not run" does not hide a result
    assert cell["x"]["kernelatlas@CPU (Triton interpreter)"].label == "missed (documented)"
    assert cell["graph"]["kernelbench:eval+static@NVIDIA H200"].label == "not applicable"
    assert cell["graph"]["kernelbench:eval@NVIDIA H200"].why == "kb says eval"  # one line: a table cell
    assert cards.columns[2].commits == ["k" * 40] and cards.columns[2].repository.endswith("KernelBench")
    # thread and x ran in no KernelBench file: not run, so the counts add up to the cases
    assert cards.counts("kernelbench:eval@NVIDIA H200") == {"caught": 1, "missed": 1, "not_run": 2}
    assert [c.name for c in cards.cases][:3] == ["good", "graph", "thread"]


def test_malformed_files_are_named_and_skipped(tmp_path: Path) -> None:
    g = tmp_path / "gauntlet"
    write(g, "ok.json", ours("2026-12-01T00:00:00+00:00", "cpu", "c" * 40, [("good", "caught")]))
    write(g, "truncated.json", '{"format": "kernelatlas-gauntlet", "cases": [')
    write(g, "future.json", {**ours("2026-12-01", "cpu", "c" * 40, []), "format_version": 9})
    write(g, "other.json", {"format": "kernelatlas-suite-results", "format_version": 1})
    bad_row = other([("good", {"eval": "caught"})])
    del bad_row["cases"][0]["statuses"]
    write(g, "badrow.json", bad_row)
    cards = read_scorecards(g, tmp_path)
    text = "\n".join(cards.errors)
    assert len(cards.errors) == 4, text
    assert "gauntlet/truncated.json" in text and "format_version 9" in text
    assert "is not a scorecard" in text and "cases[0]: missing field 'statuses'" in text
    assert [c.name for c in cards.cases] == ["good"]


def test_no_folder_means_no_columns(tmp_path: Path) -> None:
    cards = read_scorecards(tmp_path / "absent")
    assert cards.columns == [] and cards.cases == [] and cards.errors == []


def test_the_page_shows_each_cell_with_its_reason_and_names_the_broken_file(built_site) -> None:
    """The built site's "What each harness catches" page: a column per harness with its commit, a cell
    per trick and harness, the hostile text literal, the malformed file named."""
    import re

    page = built_site.site / "results" / "harnesses" / "index.html"
    html = page.read_text(encoding="utf-8")

    def cell(case: str, harness: str) -> str:
        m = re.search(rf'<span class="ka-sc ka-sc-(\w+)" data-case="{case}" data-harness="{re.escape(harness)}"'
                      rf'(?: title="([^"]*)")?>([^<]*)</span>', html)  # fmt: skip
        assert m, (case, harness)
        return f"{m.group(1)}|{m.group(2) or ''}|{m.group(3)}"

    # the control, an honest kernel, reads "accepted"
    assert cell("good_triton", "kernelatlas@NVIDIA H200") == "caught|all outputs match|accepted"
    assert cell("patch_timer", "kernelbench:eval@NVIDIA H200") == "missed|accepted at 5.7x &lt;b&gt;|missed"
    assert cell("poisons_cache", "kernelbench:eval@NVIDIA H200").startswith(
        "not_applicable|no cache|not applicable"
    )
    assert cell("poisons_cache", "kernelatlas@NVIDIA H200") == "none||—"  # never run there
    assert "c" * 40 in html and "github.com/ScalingIntelligence/KernelBench/tree/" in html
    assert "b" * 10 in html and "KernelBench eval, NVIDIA H200" in html
    assert "patching &lt;the&gt; timer" in html and "<the>" not in html
    assert "broken-scorecard.json" in html  # named, and the other files still shown
    assert "</code>- " not in html  # each harness's files on a line of their own, not run together
    assert html.count("<table>") >= 3  # the harness summary and one table per category, not run together
    nav = (built_site.site / "index.html").read_text(encoding="utf-8")
    assert "What each harness catches" in nav or "results/harnesses/" in nav
