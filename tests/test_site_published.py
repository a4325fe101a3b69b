"""Published results re-measured on the site: the ledger and KernelBench baselines files read and
checked, the headline per policy, the entry pages' Reproduction section, the pages and the downloads."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path

import pytest
from site_fixture import KB_BASELINES, LEDGER, BuiltSite

from site_gen.site.published import download_files, headlines, ledger_csv, load_published


def write(results: Path, ledger: dict | str | None = None, baselines: dict | None = None) -> Path:
    (results / "published").mkdir(parents=True, exist_ok=True)
    (results / "kernelbench").mkdir(parents=True, exist_ok=True)
    if ledger is not None:
        text = ledger if isinstance(ledger, str) else json.dumps(ledger)
        (results / "published" / "cuda-l1-h100.json").write_text(text)
    if baselines is not None:
        (results / "kernelbench" / "nvidia-h200.json").write_text(json.dumps(baselines))
    return results


def test_headline_counts_released_kernels_only_and_matches_the_entry(tmp_path: Path) -> None:
    pub = load_published(write(tmp_path / "results", LEDGER, KB_BASELINES), {"2507.14111": "cuda-l1"})
    assert pub.errors == []
    (audit,) = pub.audits
    assert audit.entry_id == "cuda-l1" and audit.not_released == 1 and len(audit.judged_rows) == 3
    strict, kb = audit.headlines
    assert (strict.policy, strict.accepted, strict.judged) == ("strict", 0, 3)
    assert (kb.accepted, kb.judged) == (2, 3) and kb.share == pytest.approx(2 / 3)
    assert kb.measured_mean_accepted == pytest.approx(1.75) and kb.claimed_mean == pytest.approx(
        (2.75 + 1.6 + 1.5) / 3
    )
    assert kb.claimed_mean_accepted == pytest.approx((2.75 + 1.5) / 2)
    assert kb.mean_refused_as_1 == pytest.approx((2.5 + 1.0 + 1.0) / 3)
    assert dict(strict.statuses) == {
        "library call, not a kernel": 1,
        "refused: global flag changed": 1,
        "incorrect": 1,
    }
    assert pub.for_entry("cuda-l1")["audits"] == [audit] and pub.for_entry("other") is None
    assert pub.for_entry("kernelbench")["baselines"] == pub.baselines
    (b,) = pub.baselines
    assert b.baseline_names == ["eager", "cuda-graph"] and [t["task"] for t in b.tasks] == [
        "level1/19_ReLU",
        "level1/23_Softmax",
    ]
    (lv,) = b.levels
    assert lv["measured"] == 2 and lv["median_sol"]["eager"] == pytest.approx((0.9958 + 0.4882) / 2)
    assert lv["counted"] == {"eager": 2, "cuda-graph": 1}  # a median over 1 of 2 problems says so


def test_max_autotune_is_set_beside_the_default_compile(tmp_path: Path, kb_root: Path) -> None:
    """Where both compiles were measured: counted as faster, slower or even (within 10%), and the
    problems where max-autotune is over 20% slower named, worst first."""
    data = copy.deepcopy(KB_BASELINES)
    (b,) = load_published(write(tmp_path / "none", None, data)).baselines
    assert b.compile_modes is None  # neither problem has both
    base = data["tasks"]["level1/19_ReLU"]
    for name, (c, m) in {
        "a": (1.0, 0.5),
        "b": (1.0, 1.05),
        "c": (1.0, 1.15),
        "d": (1.0, 2.5),
        "e": (2.0, 3.0),
    }.items():
        data["tasks"][f"level1/{name}"] = {
            **base,
            "baselines": {"compile": {"median": c}, "max-autotune": {"median": m}},
        }
    data["tasks"]["level1/f"] = {
        **base,
        "baselines": {"compile": {"median": 1.0}, "max-autotune": {"error": "x"}},
    }
    data["tasks"]["level1/e"]["baselines"]["max-autotune"]["method"] = (
        "cuda-events; work outside the current stream detected, timed by the host clock"
    )
    (b,) = load_published(write(tmp_path / "both", None, data)).baselines
    cm = b.compile_modes
    assert (cm["both"], cm["faster"], cm["slower"]) == (5, 1, 3)
    worst = [(t, round(r, 2), host) for t, r, _, _, host in cm["worst"]]
    assert worst == [("level1/d", 2.5, False), ("level1/e", 1.5, True)]  # e flagged: timed by the host clock

    from site_gen.kb.load import load_knowledge_base
    from site_gen.site.render import make_environment

    template = make_environment(load_knowledge_base(kb_root)).get_template("kernelbench_baselines.md.j2")
    page = template.render(published=load_published(tmp_path / "both"))
    assert "faster on 1, slower on 3 of 5 problems" in page
    assert "`level1/d`: 2.50×" in page and "`level1/e`: 1.50×" in page and "`level1/c`" not in page
    assert page.count("host clock †") == 1
    assert "\n\n    † Timed by the host clock" in page  # a paragraph of its own, after the list
    data["tasks"]["level1/e"]["baselines"]["max-autotune"]["method"] = "cuda-events"
    page = template.render(published=load_published(write(tmp_path / "events", None, data)))
    assert "†" not in page  # no footnote without a host-clock timing


def test_host_bound_problems_are_named_with_their_eager_over_graph_ratio(
    tmp_path: Path, kb_root: Path
) -> None:
    """Eager at 1.2x its CUDA-graph replay or more: flagged on the page (note, ‡ in the table, the share of
    the compile comparisons involved) and the ratio given in the CSV; a problem without a replay is not
    judged, and a file with none host-bound has no note."""
    from site_gen.kb.load import load_knowledge_base
    from site_gen.site.published import baselines_csv
    from site_gen.site.render import make_environment

    data = copy.deepcopy(KB_BASELINES)
    base = data["tasks"]["level1/19_ReLU"]
    for name, (e, g, c, m) in {
        "level3/10_ResNet101": (10.0, 3.5, 6.0, 7.0),  # 2.86x
        "level3/7_GoogLeNet": (1.8, 1.5, None, None),  # 1.2x: the threshold counts
        "level3/1_MLP": (1.19, 1.0, 1.0, 1.0),  # just under
    }.items():
        runs = {"eager": {"median": e}, "cuda-graph": {"median": g}}
        if c:
            runs |= {"compile": {"median": c}, "max-autotune": {"median": m}}
        data["tasks"][name] = {**base, "level": 3, "baselines": runs}
    (b,) = load_published(write(tmp_path / "hb", None, data)).baselines
    hb = b.host_bound
    assert [(t, round(r, 2)) for t, r in hb["problems"]] == [
        ("level3/10_ResNet101", 2.86),
        ("level3/7_GoogLeNet", 1.2),
    ]
    assert hb["by_level"] == [("level3", 2)] and hb["of"] == 4  # Softmax has no replay to set beside
    assert hb["in_compile_modes"] == 1  # of the two problems with both compiles, ResNet is host-bound

    template = make_environment(load_knowledge_base(kb_root)).get_template("kernelbench_baselines.md.j2")
    page = template.render(published=load_published(tmp_path / "hb"))
    assert '!!! warning "Host-bound: 2 of 4 problems' in page
    assert "`level3/10_ResNet101` 2.86×, `level3/7_GoogLeNet` 1.20×." in page
    assert "| level3/10\\_ResNet101 ‡ |" in page and "| level3/1\\_MLP |" in page
    assert "1 of the 2 are host-bound" in page
    rows = {r["task"]: r for r in csv.DictReader(io.StringIO(baselines_csv(b)))}
    assert rows["level3/10_ResNet101"]["eager_over_graph"] == "2.857"
    assert rows["level1/23_Softmax"]["eager_over_graph"] == ""

    (b,) = load_published(write(tmp_path / "none", None, KB_BASELINES)).baselines
    assert b.host_bound is None
    assert "Host-bound" not in template.render(published=load_published(tmp_path / "none"))


def test_claims_over_a_cuda_graph_of_the_reference_show_speedups_that_are_launch_overhead(
    tmp_path: Path, kb_root: Path
) -> None:
    """The release's claims grouped by baseline; kernels claimed at 1.5x or more over eager but under 1.1x
    over a CUDA graph of the reference listed (largest gap first) with their statuses. A row with no kernel
    released is not judged, so neither counted nor linked (the page has no row to link to)."""
    from site_gen.kb.load import load_knowledge_base
    from site_gen.site.render import make_environment

    data = copy.deepcopy(LEDGER)
    graph = "CUDA graph of the reference"
    rows = {r["task"]: r for r in data["rows"]}
    rows["level1/1"]["other_claims"] = [{"metric": "speedup", "value": 0.99, "baseline": graph},
                                        {"metric": "speedup", "value": 3.0, "baseline": "torch.compile"}]  # fmt: skip
    rows["level2/1"]["other_claims"] = [
        {"metric": "speedup", "value": 1.4, "baseline": graph}
    ]  # its own kernel
    rows["level1/3"]["other_claims"] = [
        {"metric": "speedup", "value": 0.5, "baseline": graph}
    ]  # 1.5x: counted
    rows["level1/3"]["policies"]["kernelbench"]["other_baselines"] = {
        "cuda-graph": {"ms": 0.4, "speedup": 0.62}
    }
    rows["level1/2"]["claim"]["value"] = 4.0
    rows["level1/2"]["other_claims"] = [
        {"metric": "speedup", "value": 0.2, "baseline": graph}
    ]  # not released
    (a,) = load_published(write(tmp_path / "r", data, None)).audits
    by = {g["baseline"]: (g["claims"], round(g["geomean"], 3), g["big"]) for g in a.claims_by_baseline()}
    assert by == {
        "eager": (4, round((2.75 * 1.6 * 1.5 * 4.0) ** 0.25, 3), 4),  # the fixture's claims name no baseline
        graph: (4, round((0.99 * 1.4 * 0.5 * 0.2) ** 0.25, 3), 0),
        "torch.compile": (1, 3.0, 1),
    }
    overhead = a.launch_overhead_claims()
    assert overhead["big"] == 3  # level1/1, level2/1, level1/3: judged, claimed at 1.5x or more
    assert [(r["task"], r["eager"], r["graph"], r["accepted"]) for r in overhead["rows"]] == [
        ("level1/3", 1.5, 0.5, ["kernelbench"]),
        ("level1/1", 2.75, 0.99, ["kernelbench"]),
    ]
    assert overhead["rows"][1]["statuses"] == {
        "strict": "library call, not a kernel",
        "kernelbench": "reproduced",
    }

    template = make_environment(load_knowledge_base(kb_root)).get_template("published.md.j2")
    page = template.render(published=load_published(tmp_path / "r"), harness_version="14", big_claim=1.5,
                           graph_even=1.1)  # fmt: skip
    assert (
        "**2 of the 3 judged kernels claimed at 1.5× or more over eager claim under 1.1× over a CUDA graph"
        in page
    )
    assert (
        "| [level1/3](#cuda-l1-h100-level1-3) | 1.50× | 0.50× | incorrect | slower than claimed | 0.62× |"
        in page
    )
    assert (
        "| [level1/1](#cuda-l1-h100-level1-1) | 2.75× | 0.99× | library call, not a kernel | reproduced | — |"
        in page
    )
    assert "Measured here over our CUDA-graph replay" in page
    by_task = {r["task"]: r for r in csv.DictReader(io.StringIO(ledger_csv(a)))}
    assert by_task["level1/3"]["kernelbench_speedup_over_cuda_graph"] == "0.62"
    assert by_task["level1/1"]["kernelbench_speedup_over_cuda_graph"] == ""
    assert "strict_speedup_over_cuda_graph" in by_task["level1/1"]  # a column per policy
    assert "#cuda-l1-h100-level1-2)" not in page
    assert (
        page.count('<span title="The release claims under 1.1× over a CUDA graph of the reference') == 2
    )  # ‡ rows
    assert "2 of them are accepted here under some policy" in page

    plain = copy.deepcopy(LEDGER)
    for r in plain["rows"]:
        r.pop("other_claims", None)
    (a,) = load_published(write(tmp_path / "plain", plain, None)).audits  # one baseline: no section
    assert a.launch_overhead_claims()["rows"] == []
    page = template.render(published=load_published(tmp_path / "plain"), harness_version="14", big_claim=1.5,
                           graph_even=1.1)  # fmt: skip
    assert "What the release's speedups are measured against" not in page


def test_baselines_without_a_measurement_are_listed_with_their_reason(tmp_path: Path) -> None:
    data = copy.deepcopy(KB_BASELINES)
    data["tasks"]["level1/23_Softmax"]["baselines"]["cuda-graph"] = {"error": "did not finish within 280 s",
                                                                     "retry": True}  # fmt: skip
    data["tasks"]["level1/24_LogSoftmax"] = {
        **data["tasks"]["level1/19_ReLU"],
        "baselines": {"eager": {"median": 1.0}},
    }
    (b,) = load_published(write(tmp_path / "results", None, data)).baselines
    (gap,) = b.gaps  # eager is measured everywhere: no note for it
    assert gap["baseline"] == "cuda-graph" and gap["of"] == 3 and gap["absent"] == 1
    assert gap["failed"] == [("level1/23_Softmax", "did not finish within 280 s", True)]
    assert gap["summary"] == "1 not run yet; 1 failed:"
    data["tasks"].pop("level1/23_Softmax")
    (b,) = load_published(write(tmp_path / "results2", None, data)).baselines
    assert [g["summary"] for g in b.gaps] == ["1 not run yet."]


def test_readings_set_aside_are_told_once_with_their_reason(tmp_path: Path, kb_root: Path) -> None:
    from site_gen.kb.load import load_knowledge_base
    from site_gen.site.render import make_environment

    data = copy.deepcopy(KB_BASELINES)
    kept = data["tasks"]["level1/19_ReLU"]["baselines"]["eager"]
    data["tasks"]["level1/19_ReLU"]["baselines"]["eager"] = {"error": "set aside: shared the GPU", "retry": True,
                                                             "run": 3, "set_aside": kept}  # fmt: skip
    # Two more withdrawn readings: one measured again since (kept beside its new reading), one whose
    # new measurement ran out of time (its own failure is what the gap says).
    relu, softmax = (
        data["tasks"]["level1/19_ReLU"]["baselines"],
        data["tasks"]["level1/23_Softmax"]["baselines"],
    )
    old = dict(relu["cuda-graph"], run=5)
    relu["cuda-graph"] = {**old, "median": 2.9, "run": 7, "set_aside": old}
    softmax["eager"] = {"error": "the measurement did not finish within 400 s", "retry": True, "run": 7,
                        "attempts": 3, "seconds_tried": 1180, "set_aside": {**softmax["eager"], "run": 3}}  # fmt: skip
    data["set_aside"] = [{"runs": [3, 5], "why": "shared the GPU with a stopped run's workers",
                          "date": "2026-12-03T18:09:58+00:00", "baselines": 3}]  # fmt: skip
    (b,) = load_published(write(tmp_path / "results", None, data)).baselines
    assert b.set_aside == data["set_aside"]
    (gap,) = [g for g in b.gaps if g["baseline"] == "eager"]
    assert gap["failed"] == [("level1/19_ReLU", "set aside (see the note above)", True),
                             ("level1/23_Softmax", "the measurement did not finish within 400 s (3 attempts, 1180 s in all)",
                              True)]  # fmt: skip
    from site_gen.site.published import _failure

    stopped = {"error": "the measurement did not finish within 1512.3 s (the run was stopped while it ran)",
               "attempts": 2, "seconds_tried": 1912.3}  # fmt: skip
    assert _failure(stopped) == (
        "the measurement did not finish within 1512.3 s (the run was stopped while it ran; 2 attempts, 1912.3 s in all)"
    )
    kept = {"error": "the measurement did not finish within 600 s", "autotune_cache": {"shapes_after": 63}}
    assert (
        _failure(kept)
        == "the measurement did not finish within 600 s (autotune timings of 63 shapes kept for the next run)"
    )
    assert _failure({**stopped, "autotune_cache": {"shapes_after": 13}}).endswith(
        "2 attempts, 1912.3 s in all; autotune timings of 13 shapes kept for the next run)"
    )
    template = make_environment(load_knowledge_base(kb_root)).get_template("kernelbench_baselines.md.j2")
    page = template.render(published=load_published(tmp_path / "results"))
    assert '!!! warning "3 readings of runs 3, 5 set aside (2026-12-03), 1 measured again since"' in page
    assert page.count("Shared the GPU with a stopped run") == 1
    assert "the next run measures the rest again" in page
    # Once every withdrawn reading has its successor, the note no longer warns of readings to come.
    softmax["eager"] = {
        **softmax["eager"]["set_aside"],
        "median": 3.1,
        "run": 8,
        "set_aside": softmax["eager"]["set_aside"],
    }
    relu["eager"] = {**kept, "median": 1.2, "run": 8, "set_aside": {**kept, "run": 3}}
    page = template.render(published=load_published(write(tmp_path / "results3", None, data)))
    assert '!!! note "3 readings of runs 3, 5 set aside (2026-12-03), all measured again since"' in page
    assert "the next run measures the rest again" not in page
    assert "beside this reason and beside the reading that replaced it." in page


def test_the_page_names_the_newest_runs_commit(tmp_path: Path, kb_root: Path) -> None:
    """`--merge` appends runs and leaves the file's top-level provenance as it was: the page's commit,
    torch and driver are the newest run's, and it says how many runs measured the file."""
    from site_gen.kb.load import load_knowledge_base
    from site_gen.site.render import make_environment

    data = copy.deepcopy(KB_BASELINES)
    old = data.get("provenance") or {}
    data["provenance"] = {**old, "git": {"commit": "a" * 40}, "torch": "2.97"}
    data["runs"] = [
        {"provenance": data["provenance"]},
        {"provenance": {**old, "git": {"commit": "b" * 40}, "torch": "2.98"}},
    ]
    (b,) = load_published(write(tmp_path / "results", None, data)).baselines
    assert b.runs == 2 and b.provenance["git"]["commit"] == "b" * 40
    template = make_environment(load_knowledge_base(kb_root)).get_template("kernelbench_baselines.md.j2")
    page = template.render(published=load_published(tmp_path / "results"))
    assert f"at commit `{'b' * 12}` (the newest of 2 runs;" in page and "a" * 12 not in page
    assert "torch\n2\\.98," in page and "2\\.97" not in page  # versions as the page escapes them


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d.update(format="other"), "`format` must be 'kernelatlas-published-ledger'"),
        (lambda d: d.update(format_version=2), "`format_version` 2 is not 1"),
        (lambda d: d["rows"].append({"task": 7}), "row #5 needs text `task`"),
        (lambda d: d["rows"][0]["policies"].update(lax={"verdict": "correct", "status": "x"}), "policy 'lax' is not declared"),
        (lambda d: d["rows"][0]["policies"]["kernelbench"].update(speedup="fast"), "speedup` must be a number"),
        (lambda d: d["rows"][1]["policies"]["strict"].pop("status"), "needs `verdict` and text `status`"),
        (lambda d: d["rows"][0]["policies"]["kernelbench"].update(readings={}),
         "row #1 (level1/1): `policies.kernelbench`: readings must be a non-empty list"),
    ],
)  # fmt: skip
def test_a_malformed_ledger_is_named_and_skipped(tmp_path: Path, mutate, words: str) -> None:
    bad = copy.deepcopy(LEDGER)
    mutate(bad)
    pub = load_published(write(tmp_path / "results", bad, KB_BASELINES))
    assert pub.audits == [] and len(pub.baselines) == 1
    (error,) = pub.errors
    assert error.startswith("repro/results/published/cuda-l1-h100.json: ") or "cuda-l1-h100.json" in error
    assert words in error


def test_unreadable_files_and_bad_baselines_are_named(tmp_path: Path) -> None:
    bad = {**KB_BASELINES, "tasks": {"level1/1_x": {"level": "one"}}}
    pub = load_published(write(tmp_path / "results", "{not json", bad))
    assert (
        len(pub.errors) == 2 and "cuda-l1-h100.json" in pub.errors[0] and "integer `level`" in pub.errors[1]
    )
    assert load_published(tmp_path / "nothing").errors == []


def test_ledger_csv_has_one_line_per_task_with_both_policies(tmp_path: Path) -> None:
    pub = load_published(write(tmp_path / "results", LEDGER, KB_BASELINES))
    rows = list(csv.DictReader(io.StringIO(ledger_csv(pub.audits[0]))))
    assert [r["task"] for r in rows] == ["level1/1", "level2/1", "level1/2", "level1/3"]
    assert (
        rows[0]["strict_status"] == "library call, not a kernel" and rows[0]["kernelbench_speedup"] == "2.5"
    )
    assert rows[0]["commit"] == "c" * 40 and rows[0]["claim_value"] == "2.75"
    # The release's other claims, a column per baseline it names; empty where a row names none.
    assert rows[0]["claim_over_cuda_graph_of_the_reference"] == "0.99"
    assert rows[1]["claim_over_cuda_graph_of_the_reference"] == ""
    assert (rows[0]["kernelbench_readings"], rows[0]["kernelbench_spread"], rows[0]["strict_readings"]) == (
        "2",
        "1.24",
        "",
    )
    files = download_files(pub)
    assert set(files) == {
        "ledger-cuda-l1-h100.json",
        "ledger-cuda-l1-h100.csv",
        "kernelbench-baselines-nvidia-h200.csv",
    }
    # The stored fields as they are, with what is derived from them beside.
    rows_out = json.loads(files["ledger-cuda-l1-h100.json"])["rows"]
    derived = ("kernel_ran", "build_failure", "build_failures")
    assert [{k: v for k, v in r.items() if k not in derived} for r in rows_out] == LEDGER["rows"]
    assert [r["kernel_ran"] for r in rows_out] == [True, True, None, False]
    assert rows_out[3]["build_failures"] == ["binding error in the source"]
    assert [(r["kernel_ran"], r["build_failure"]) for r in rows] == [
        ("true", ""),
        ("true", ""),
        ("", ""),
        ("false", "binding error in the source"),
    ]
    assert (
        "level1/23_Softmax" in files["kernelbench-baselines-nvidia-h200.csv"]
        and "cuda-graph: x" in files["kernelbench-baselines-nvidia-h200.csv"]
    )


def test_headlines_without_rows() -> None:
    (h,) = headlines({"strict": {}}, [])
    assert (h.judged, h.accepted, h.share, h.measured_mean_accepted) == (0, 0, None, None)


def test_the_built_site_shows_claims_beside_measurements(built_site: BuiltSite) -> None:
    entry = (built_site.site / "papers" / "cuda-l1" / "index.html").read_text(encoding="utf-8")
    assert 'id="reproduction"' in entry and "2 (67%)" in entry and "1.75×" in entry
    assert 'href="../../results/published/#cuda-l1-h100"' in entry
    page = (built_site.site / "results" / "published" / "index.html").read_text(encoding="utf-8")
    assert 'id="cuda-l1-h100"' in page and 'id="cuda-l1-h100-level1-3"' in page
    assert "Judged at harness version" in page  # which rules judged the rows, beside the current version
    # The row whose extension failed to build is tagged beside its status, and counted apart.
    row3 = page[page.index('id="cuda-l1-h100-level1-3"') :].split("</tr>", 1)[0]
    assert 'class="ka-fallback"' in row3 and "fallback: build failed (binding error in the source)" in row3
    assert row3.count("ka-fallback") == 1 and "ka-fallback" not in page[: page.index('id="cuda-l1-h100"')]
    assert "Released kernel not run." in page and "binding error in the source 1" in page
    assert "(1 PyTorch fallback)" in page
    # Rows read more than once: the range and count beside the speedup, a differing verdict beside the status.
    row1 = page[page.index('id="cuda-l1-h100-level1-1"') :].split("</tr>", 1)[0]
    assert "2.50×" in row1 and "(2.50–3.10×, 2 readings)" in row1
    row2 = page[page.index('id="cuda-l1-h100-level2-1"') :].split("</tr>", 1)[0]
    assert "(accepted in 1 of 2 readings)" in row2
    assert "Read more than once." in page and "2 of the 3 judged rows were measured again" in page
    assert "Released kernel not run" in entry and '<span class="ka-fallback">1</span>' in entry
    # The release's own claim over a CUDA graph: the entry says how many claims are launch overhead, the
    # ledger marks the row beside its claim.
    assert "Launch overhead</strong>: 1 of the 3 judged kernels claimed at 1.5× or more over eager" in entry
    assert "over a CUDA graph of the reference for this kernel" in row1 and "‡" not in row2
    assert 'slower than claimed 1 <span class="ka-fallback">1 PyTorch fallback</span>' in entry
    assert "window.__xss=4" in page and "<script>window.__xss=4" not in page and "<b>softmax" not in page
    assert "broken.json" in page and "row #1 needs text `task`" in page.replace("<code>", "`").replace(
        "</code>", "`"
    )
    assert "(1 not yet measured)" in page and "h100.json" in page and "/somewhere/" not in page
    downloads = built_site.site / "downloads"
    assert (downloads / "ledger-cuda-l1-h100.csv").read_text().count("\n") == 5
    downloads_page = (downloads / "index.html").read_text(encoding="utf-8")
    assert (
        "ledger-cuda-l1-h100.csv" in downloads_page
        and "ledger-kernelbench-leaderboard-l40s.csv" in downloads_page
    )
    assert (
        "per task and model the claim" in downloads_page
        and "H100 release): per task the claim" in downloads_page
    )
    kb_entry = (built_site.site / "papers" / "kernelbench" / "index.html").read_text(encoding="utf-8")
    assert 'id="reproduction"' in kb_entry and "74%" in kb_entry  # median SOL of eager over the two problems
    # The leaderboard: its own release, a model per row, a headline per model, the rows not judged and why,
    # attached to the KernelBench entry, and in the downloads.
    assert 'id="kernelbench-leaderboard-l40s"' in page and "anneouyang/KernelBenchLeaderboard" in page
    assert 'id="kernelbench-leaderboard-l40s-level1-19-llama-3-1-405b"' in page and "f" * 12 in page
    lb = page[page.index('id="kernelbench-leaderboard-l40s"') :]
    assert "<th>Model</th>" in lb and "llama-3.1-405b" in lb and "1.90×" in lb and "0.80×" in lb
    assert "docs/assets/solutions/ccc.py is missing" in lb and "no correct solution" in lb
    assert "KernelBench leaderboard" in kb_entry and "written by 3 models" in kb_entry
    assert 'href="../../results/published/#kernelbench-leaderboard-l40s"' in kb_entry
    lb_csv = list(
        csv.DictReader(io.StringIO((downloads / "ledger-kernelbench-leaderboard-l40s.csv").read_text()))
    )
    assert [r["model"] for r in lb_csv] == ["gpt-o1", "llama-3.1-405b", "model-c", ""]
    assert json.loads((downloads / "ledger-kernelbench-leaderboard-l40s.json").read_text())["rows"][1][
        "model"
    ] == ("llama-3.1-405b")
    kb_page = (built_site.site / "results" / "kernelbench" / "index.html").read_text(encoding="utf-8")
    assert "level1/23_Softmax" in kb_page and "49%" in kb_page and "d" * 12 in kb_page
    assert (
        "cuda-graph: 1 of 2 problems without a measurement" in kb_page
        and "<code>level1/23_Softmax</code>: x" in kb_page
    )


def test_reasons_show_file_names_not_the_run_machine_folders() -> None:
    """A recorded reason may name where the run kept its files (`/tmp/<work>/problems/x.py`): the page
    shows the file name only, so the folder of someone's machine never reaches readers (nor widens a
    table cell with one unbreakable word); relative paths, ratios and op names stay as recorded."""
    from site_gen.site.render import file_names

    reason = "HarnessError: /tmp/kaudit/problems/level1_59_219a40fa.py: fix the problem file"
    assert file_names(reason) == "HarnessError: level1_59_219a40fa.py: fix the problem file"
    kept = "see repro/harness/README.md; 1/2 of the time; aten::mm at /"
    assert file_names(kept) == kept


def test_rows_judged_at_an_older_harness_are_counted_per_version(tmp_path: Path) -> None:
    """A ledger judged over several harness versions says how many rows each version judged, and how
    many were judged before the current harness (whose rules differ); rows without the field count as
    not recorded."""
    from repro.records.provenance import HARNESS_VERSION

    ledger = copy.deepcopy(LEDGER)
    judged = [r for r in ledger["rows"] if r.get("provenance") is not None or r.get("policies")]
    versions = ["10", HARNESS_VERSION, None]
    for row, v in zip(judged, versions, strict=False):
        row.setdefault("provenance", {})["harness_version"] = v
    (audit,) = load_published(write(tmp_path / "results", ledger, KB_BASELINES), {}).audits
    assert len(audit.judged_rows) == 3
    got = dict(audit.harness_versions)
    assert got.get("10") == 1 and got.get(HARNESS_VERSION) == 1 and got.get("not recorded") == 1
    assert [v for v, _ in audit.harness_versions][-1] == "not recorded"  # numbers first, oldest first
    assert audit.judged_before_current == 2
