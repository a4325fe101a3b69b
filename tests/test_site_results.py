"""The reproduced-results pages: reading result files (good, absent, malformed), the per-task best
kernel, charts, comparisons with reported numbers, and the pages in the built site."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import write_entry
from site_fixture import REPRODUCTION, BuiltSite

from site_gen.kb.load import load_knowledge_base
from site_gen.site.charts import speedup_chart_svg
from site_gen.site.leaderboards import reproduced_section
from site_gen.site.reproduced import comparisons, render_reproduced


def write_sample(root: Path, files: dict[str, dict] = REPRODUCTION) -> Path:
    folder = root / "nvidia-h200" / "level1"
    folder.mkdir(parents=True, exist_ok=True)
    for method, data in files.items():
        (folder / f"{method}.json").write_text(json.dumps(data))
    return root


def test_the_best_kernel_is_the_fastest_correct_one_and_baselines_come_from_their_file(
    tmp_path: Path,
) -> None:
    (gpu,) = render_reproduced(write_sample(tmp_path)).gpus
    assert gpu.gpu == "NVIDIA H200" and gpu.commits == ["a" * 40]
    (suite,) = gpu.suites
    assert [r.method for r in suite.methods] == ["solutions", "refine"]  # hand-written first
    softmax, layer_norm = suite.rows
    assert (softmax.eager_ms, softmax.compile_ms) == (0.2873, 0.2024)
    assert (softmax.best_method, softmax.best_ms, softmax.best_operator) == ("refine", 0.1501, "mutate:TILE")
    assert softmax.speedup_compile == pytest.approx(1.3484)
    assert layer_norm.best_method is None and layer_norm.cells == {
        "solutions": "incorrect",
        "refine": "not run",
    }


def test_no_results_directory_means_no_gpus_and_no_errors(tmp_path: Path) -> None:
    reproduced = render_reproduced(tmp_path / "missing")
    assert reproduced.gpus == [] and reproduced.errors == []


def test_outputs_of_other_commands_are_not_read_as_reproductions(tmp_path: Path) -> None:
    for rel in (
        "bench/x/harness.json",
        "eval-suite/level1-cuda/results.json",
        "bench_loops.json",
        "a/b.json",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}")
    reproduced = render_reproduced(tmp_path)
    assert reproduced.gpus == [] and reproduced.errors == []


def _broken(mutate) -> dict:
    data = copy.deepcopy(REPRODUCTION["solutions"])
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"tasks": [', "not valid JSON (Expecting value at line 1)"),
        (b"\xff\xfe", "codec can't decode"),
        (b"[1, 2]", "the top level must be a JSON object"),
        (json.dumps(_broken(lambda d: d.pop("format"))).encode(), "`format` must be 'kernelatlas-reproduction'"),
        (json.dumps(_broken(lambda d: d.update(method="evolve"))).encode(),
         "`method` is 'evolve' but the file's place says 'solutions'"),
        (json.dumps(_broken(lambda d: d["tasks"][1].pop("status"))).encode(),
         "task record #2 needs text `task` and `status`"),
        (json.dumps(_broken(lambda d: d.update(provenance=None))).encode(), "`provenance` must be an object"),
    ],
)  # fmt: skip
def test_a_malformed_file_is_named_with_its_fault_and_the_others_still_load(
    tmp_path: Path, content: bytes, message: str
) -> None:
    write_sample(tmp_path)
    (tmp_path / "nvidia-h200" / "level1" / "solutions.json").write_bytes(content)
    reproduced = render_reproduced(tmp_path)
    (error,) = reproduced.errors
    assert error.startswith("repro/results/nvidia-h200/level1/solutions.json: ") and message in error
    assert "it was skipped" in error
    (gpu,) = reproduced.gpus
    assert gpu.errors == [error] and [r.method for r in gpu.suites[0].methods] == ["refine"]


def test_a_gpu_whose_only_file_is_malformed_still_gets_a_page_with_the_notice(tmp_path: Path) -> None:
    (tmp_path / "nvidia-h100" / "level2").mkdir(parents=True)
    (tmp_path / "nvidia-h100" / "level2" / "evolve.json").write_text("")
    (gpu,) = render_reproduced(tmp_path).gpus
    assert gpu.slug == "nvidia-h100" and gpu.suites == [] and "evolve.json" in gpu.errors[0]


def test_the_chart_draws_a_bar_per_correct_kernel_and_a_cross_otherwise(tmp_path: Path) -> None:
    (suite,) = render_reproduced(write_sample(tmp_path)).gpus[0].suites
    svg = speedup_chart_svg("level1 <vs> compile", suite, "compile")
    assert svg.startswith("<svg") and "level1 &lt;vs&gt; compile" in svg and "<script" not in svg
    assert "level1/03_softmax, refine (offline): 1.35× vs compile" in svg
    assert (
        "level1/05_layer_norm, hand-written: incorrect" in svg and svg.count("<rect") == 2 + 2
    )  # legend + bars


KERNELBENCH = """\
id: kernelbench
title: "KernelBench: can LLMs write GPU kernels?"
authors: [A B]
date: "2025-02"
kind: benchmark
taxonomy: [benchmarks]
summary: A benchmark of PyTorch workloads to be rewritten as fast, correct GPU kernels.
benchmark:
  subsets: {level1: {name: Level 1}, level2: {name: Level 2}, levels1-3: {name: Levels 1-3}}
"""
REPORTER = """\
id: reporter
title: "Reporter: numbers on KernelBench"
authors: [A B]
date: "2025-06"
kind: method
taxonomy: [iterative-refinement]
benchmarks: [kernelbench]
summary: A method that reports fast_1 and correctness on single KernelBench levels.
results:
  - {benchmark: kernelbench, subset: level1, metric: speedup, aggregate: fast_p, p: 1.0, value: 43, baseline: eager, model: M, hardware: nvidia-l40s, url: "https://example.org/r", source: Table 1}
  - {benchmark: kernelbench, subset: level1, metric: correctness, aggregate: share, value: 90, model: M, hardware: nvidia-l40s, url: "https://example.org/r", source: Table 1}
  - {benchmark: kernelbench, subset: level1, metric: speedup, aggregate: geomean, value: 1.1, baseline: compile-default, model: M, hardware: nvidia-l40s, url: "https://example.org/r", source: Table 2}
  - {benchmark: kernelbench, subset: levels1-3, metric: speedup, aggregate: fast_p, p: 1.0, value: 20, baseline: eager, model: M, hardware: nvidia-l40s, url: "https://example.org/r", source: Table 3}
  - {benchmark: kernelbench, subset: level2, metric: speedup, aggregate: fast_p, p: 1.0, value: 30, baseline: eager, model: M, hardware: nvidia-l40s, url: "https://example.org/r", source: Table 3}
  - {benchmark: kernelbench, subset: level1, metric: speedup, aggregate: mean, value: 2.0, baseline: eager, model: M, hardware: nvidia-l40s, url: "https://example.org/r", source: Table 4}
"""


def test_single_level_numbers_with_our_metric_and_baseline_are_paired_with_ours(
    kb_root: Path, tmp_path: Path
) -> None:
    write_entry(kb_root, "kernelbench", KERNELBENCH)
    write_entry(kb_root, "reporter", REPORTER)
    kb = load_knowledge_base(kb_root)
    (gpu,) = render_reproduced(write_sample(tmp_path / "results")).gpus
    pairs = comparisons(kb, gpu)
    # Levels 1-3 (mixed), Level 2 (not measured here) and mean speedup (not ours) have no analogue.
    assert [(c.reported.result.aggregate, c.reported.value_label) for c in pairs] == [
        ("fast_p", "43%"), ("share", "90%"), ("geomean", "1.1×")
    ]  # fmt: skip
    assert pairs[0].ours == {"hand-written": "50%", "refine (offline)": "—"}
    assert pairs[2].ours["hand-written"] == "1.26×"


def test_the_built_site_has_a_page_per_gpu_with_tables_charts_and_comparisons(built_site: BuiltSite) -> None:
    page = built_site.site / "results" / "reproduced" / "nvidia-h200" / "index.html"
    html = page.read_text(encoding="utf-8")
    for text in ("0.2873", "0.1501", "refine (offline)", "1.91×", "1.35×", "50%", "580.159.04", "a" * 40,
                 "Next to reported numbers"):  # fmt: skip
        assert text in html, text
    for base in ("compile", "eager"):
        svg = built_site.site / "charts" / f"reproduced-nvidia-h200-level1-{base}.svg"
        assert svg.is_file() and f"reproduced-nvidia-h200-level1-{base}.svg" in html
    index = (built_site.site / "results" / "reproduced" / "index.html").read_text(encoding="utf-8")
    assert 'href="nvidia-h200/"' in index and "Headline" in index and "1.79×" in index and "1.26×" in index
    method = (built_site.site / "results" / "methodology" / "index.html").read_text(encoding="utf-8")
    assert "5e771n95" in method and "correctness_trials" in method and "refine_from=best" in method


def test_a_task_no_method_reached_is_not_run_and_left_out_of_the_charts(tmp_path: Path) -> None:
    files = copy.deepcopy(REPRODUCTION)
    files["solutions"]["tasks"][1] = {
        "task": "level1/05_layer_norm",
        "status": "not_run",
        "reason": "not measured yet",
    }
    (suite,) = render_reproduced(write_sample(tmp_path, files)).gpus[0].suites
    assert [r.ran for r in suite.rows] == [True, False]
    svg = speedup_chart_svg("chart", suite, "eager")
    assert "level1/03_softmax" in svg and "level1/05_layer_norm" not in svg


def test_reproduced_runs_become_leaderboards_beside_the_reported_ones(tmp_path: Path) -> None:
    section = reproduced_section(render_reproduced(write_sample(tmp_path / "results")))
    assert section is not None and "not comparable with KernelBench" in section.note
    titles = {b.title: [(r.work, r.value_label, r.kind) for r in b.rows] for b in section.boards}
    assert titles["level1 · fast_p (p = 1) · over PyTorch eager · NVIDIA H200"] == [
        ("hand-written", "50%", "reproduced")
    ]
    assert titles["level1 · Speedup, geometric mean · over torch.compile (default) · NVIDIA H200"] == [
        ("hand-written", "1.26×", "reproduced")
    ]
