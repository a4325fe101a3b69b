"""A site built once per test session from a copy of the real knowledge base plus hostile and
malformed inputs, shared by the build and browser tests (its fixtures are those of tests/conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from shared_setup import shared_folder

from site_gen.kb.load import KnowledgeBase, load_knowledge_base
from site_gen.kb.paths import REPO_ROOT
from site_gen.site.build import build_site

PROBE_ID = "xss-probe"
PROBE_TITLE = '</title><script>window.__xss=1</script><img src=x onerror="window.__xss=2"> *Probe* | pipe'
PROBE_YAML = f"""id: {PROBE_ID}
title: {json.dumps(PROBE_TITLE)}
aliases: ["<b>XssProbeAlias</b>"]
authors: ["Eve <i>Mallory</i>"]
date: 2025-03
kind: method
taxonomy: [iterative-refinement]
languages: [cuda]
summary: >-
  A hostile entry whose text carries <script>window.__xss=3</script> markup, | pipes |, `code`
  and **emphasis**, used to prove that the site shows contributed text literally.
"""
# One organisation spelt two ways by two works, and the line of taxonomy/organizations.yaml that
# makes them one.
ORG_NAME, ORG_SPELLING = "Example Institute of Kernel Studies", "EIKS"
ORG_ENTRIES = {
    f"org-spelling-{n}": f"""id: org-spelling-{n}
title: "Spelling {n.upper()}: a work from one institute under {n} name"
organizations: [{org}]
date: 2024-0{i + 1}
kind: method
taxonomy: [iterative-refinement]
languages: [cuda]
summary: A work whose paper names its institute one way; another names it the other way.
"""
    for i, (n, org) in enumerate([("a", ORG_NAME), ("b", ORG_SPELLING)])
}
# A reproduction as `python -m repro reproduce` writes it, cut to two tasks of level1 on one GPU.
REPRO_GPU, REPRO_SLUG = "NVIDIA H200", "nvidia-h200"
_PROVENANCE = {"device": "cuda", "name": REPRO_GPU, "capability": "9.0", "memory_bytes": 150109880320,
               "driver": "580.159.04", "cuda": "13.0", "torch": "2.11.0+cu130", "triton": "3.6.0",
               "python": "3.12.3", "git": {"commit": "a" * 40, "dirty": False},
               "date": "2026-11-21T07:30:00+00:00"}  # fmt: skip
_SETTINGS = {
    "device": "cuda",
    "correctness_trials": 5,
    "timing_iters": 200,
    "baselines": ["eager", "compile"],
}


def reproduction(
    method: str, tasks: list[dict], info: dict | None = None, metrics: dict | None = None
) -> dict:
    """One result file's content for method `method` on level1 of the sample GPU."""
    return {"format": "kernelatlas-reproduction", "format_version": 1, "gpu": REPRO_GPU, "gpu_slug": REPRO_SLUG,
            "suite": "level1", "method": method, "method_info": info or {"kind": method}, "settings": _SETTINGS,
            "settings_hash": "5e771n95", "command": "python -m repro reproduce --suite level1",
            "provenance": {**_PROVENANCE, "settings": _SETTINGS}, "commits": ["a" * 40],
            "metrics": metrics or {"tasks_in_suite": len(tasks), "tasks_measured": len(tasks)},
            "tasks": [{"key": "k", "commit": "a" * 40, "date": "2026-11-21T07:29:00+00:00", **t} for t in tasks]}  # fmt: skip


def _kernel(ms: float, eager: float, compile_: float, **extra: object) -> dict:
    return {"status": "measured", "verdict": "correct", "correct": True, "candidate_ms": {"median": ms},
            "speedups": {"eager": eager, "compile": compile_}, "sol_fraction": 0.5, **extra}  # fmt: skip


REPRODUCTION = {
    "baselines": reproduction("baselines", [
        {"task": "level1/03_softmax", "status": "measured",
         "baseline_ms": {"eager": {"median": 0.2873}, "compile": {"median": 0.2024}}},
        {"task": "level1/05_layer_norm", "status": "measured",
         "baseline_ms": {"eager": {"median": 0.31}, "compile": {"median": 0.19}}},
    ]),
    "solutions": reproduction("solutions", [
        _kernel(0.1602, 1.7935, 1.2634, task="level1/03_softmax"),
        {"task": "level1/05_layer_norm", "status": "measured", "verdict": "incorrect", "correct": False,
         "reason": "max abs diff 0.3"},
    ], metrics={"tasks_in_suite": 2, "tasks_measured": 2, "correct_rate": 0.5, "fast_1_eager": 0.5,
                "fast_1_compile": 0.5, "geomean_speedup_eager": 1.7935, "geomean_speedup_compile": 1.2634}),
    "refine": reproduction("refine", [
        _kernel(0.1501, 1.9141, 1.3484, task="level1/03_softmax", operator="mutate:TILE 4096->8192"),
        {"task": "level1/05_layer_norm", "status": "not_run", "reason": "not measured yet"},
    ], info={"loop": "refine", "proposer": "mutate", "budget": 3, "loop_args": {"refine_from": "best"}}),
}  # fmt: skip


def _policy(verdict: str, status: str, speedup: float | None = None, reason: str = "") -> dict:
    return {"verdict": verdict, "status": status, "speedup": speedup, "reason": reason}


# An audit ledger as `python -m repro audit` writes it: four tasks of a CUDA-L1-like release.
LEDGER = {
    "format": "kernelatlas-published-ledger", "format_version": 1,
    "release": {"format": "cudal1", "source": "/somewhere/h100.json", "sha256": "b" * 64, "name": "CUDA-L1",
                "paper": "arXiv:2507.14111", "gpu": "H100", "benchmark_version": "KernelBench v0",
                "kernels_in_release": 5},
    "policies": {"strict": {"name": "strict"}, "kernelbench": {"name": "kernelbench"}},
    "rows": [
        {"task": "level1/1", "level": 1, "name": "square matmul", "claim": {"metric": "speedup", "value": 2.75},
         # the release's own figure over a CUDA graph of the reference: the speedup is launch overhead
         "other_claims": [{"metric": "speedup", "value": 0.99, "baseline": "CUDA graph of the reference"}],
         "policies": {"strict": _policy("rejected", "library call, not a kernel", None, "called aten::mm"),
                      # read twice (`audit --retime`): the lower middle reading is carried
                      "kernelbench": _policy("correct", "reproduced", 2.5) | {"spread": 1.24, "readings": [
                          {"verdict": "correct", "speedup": 3.1, "run": 1},
                          {"verdict": "correct", "speedup": 2.5, "run": 2}]}},
         "provenance": {"name": REPRO_GPU, "torch": "2.11.0+cu130", "git": {"commit": "c" * 40},
                        "date": "2026-12-01T12:00:00+00:00"}},
        {"task": "level2/1", "level": 2, "name": "conv relu", "claim": {"metric": "speedup", "value": 1.6},
         # one reading accepted it under the strict rules, the other refused it: the refusal is kept
         "policies": {"strict": _policy("rejected", "refused: global flag changed") | {
                          "verdict_readings": {"correct": 1, "rejected": 1}, "readings": [
                              {"verdict": "correct", "speedup": 1.3, "run": 1},
                              {"verdict": "rejected", "speedup": None, "reason": "changed x", "run": 2}]},
                      "kernelbench": _policy("rejected", "refused: global flag changed")},
         "provenance": {"name": REPRO_GPU, "git": {"commit": "c" * 40}, "date": "2026-12-01T12:01:00+00:00"}},
        {"task": "level1/2", "level": 1, "claim": {"metric": "speedup", "value": None},
         "policies": {"strict": _policy("not_released", "no kernel released"),
                      "kernelbench": _policy("not_released", "no kernel released")}, "provenance": {}},
        # Its extension failed to build (the module defined twice), so its PyTorch fallback was measured.
        {"task": "level1/3", "level": 1, "name": "<b>softmax</b>", "claim": {"metric": "speedup", "value": 1.5},
         "policies": {"strict": _policy("incorrect", "incorrect", None, "max abs error <script>window.__xss=4</script>"),
                      "kernelbench": _policy("correct", "slower than claimed", 1.0)},
         "timing_s": {"wall_s": 31.0, "build": {"ok": False, "cause": "compile", "extensions": [{"name": "sm", "ok": False}],
                      "errors": ["/b/sm/main.cpp:30:1: error: redefinition of ‘PyObject* PyInit_sm()’"],
                      "log_tail": "ninja: build stopped: subcommand failed.\n"}},
         "provenance": {"name": REPRO_GPU, "torch": "2.11.0+cu130", "git": {"commit": "c" * 40},
                        "date": "2026-12-01T12:02:00+00:00"}},
    ],
}  # fmt: skip
# A KernelBench leaderboard ledger: a kernel per (problem, model), one listed but absent, one problem unsolved.
LEADERBOARD_LEDGER = {
    "format": "kernelatlas-published-ledger", "format_version": 1,
    "release": {"format": "kernelbench-leaderboard", "source": "/x/lb", "sha256": "e" * 64,
                "name": "KernelBench leaderboard", "paper": "arXiv:2502.10517", "gpu": "L40S",
                "benchmark_version": "KernelBench v0", "repository": "anneouyang/KernelBenchLeaderboard",
                "commit": "f" * 40, "kernels_in_release": 4},
    "policies": {"strict": {"name": "strict"}, "kernelbench": {"name": "kernelbench"}},
    "rows": [
        {"task": "level1/19/gpt-o1", "level": 1, "name": "19_ReLU", "model": "gpt-o1",
         "claim": {"metric": "speedup", "value": 2.0, "gpu": "L40S"},
         "policies": {"strict": _policy("correct", "reproduced", 1.9), "kernelbench": _policy("correct", "reproduced", 1.9)},
         "provenance": {"name": REPRO_GPU, "git": {"commit": "c" * 40}, "date": "2026-12-01T13:00:00+00:00"}},
        {"task": "level1/19/llama-3.1-405b", "level": 1, "name": "19_ReLU", "model": "llama-3.1-405b",
         "claim": {"metric": "speedup", "value": 1.2, "gpu": "L40S"},
         "policies": {"strict": _policy("rejected", "library call, not a kernel", None, "called aten::relu"),
                      "kernelbench": _policy("correct", "slower than claimed", 0.8)},
         "provenance": {"name": REPRO_GPU, "git": {"commit": "c" * 40}, "date": "2026-12-01T13:01:00+00:00"}},
        {"task": "level1/19/model-c", "level": 1, "name": "19_ReLU", "model": "model-c",
         "claim": {"metric": "speedup", "value": 3.0},
         "policies": {n: _policy("not_released", "no kernel released", None,
                                 "solution file docs/assets/solutions/ccc.py is missing from the leaderboard")
                      for n in ("strict", "kernelbench")}, "provenance": {}},
        {"task": "level1/20", "level": 1, "name": "20_LeakyReLU", "claim": None,
         "policies": {n: _policy("not_released", "no kernel released", None,
                                 "the leaderboard lists no correct solution for this problem")
                      for n in ("strict", "kernelbench")}, "provenance": {}},
    ],
}  # fmt: skip
# KernelBench baselines as `python -m repro kernelbench` writes them: two problems.
KB_BASELINES = {
    "format": "kernelatlas-kernelbench-baselines", "format_version": 1,
    "kernelbench": {"root": "/kb", "commit": "d" * 40}, "settings": {"baselines": ["eager", "cuda-graph"]},
    "provenance": _PROVENANCE, "peaks": {"copy_bytes_per_s": 4.25e12, "flops_per_s": {"float32": 5.1e13, "bfloat16": 7.9e14}},
    "tasks": {
        "level1/19_ReLU": {"level": 1, "flops": 0, "bytes": 1.28e10, "dtype": "float32", "bound": "memory",
                           "sol_ms": 3.01, "baselines": {"eager": {"median": 3.0228}, "cuda-graph": {"median": 3.0287}},
                           "sol_fraction": {"eager": 0.9958, "cuda-graph": 0.9938}},
        "level1/23_Softmax": {"level": 1, "flops": 0, "bytes": 1.28e10, "dtype": "float32", "bound": "memory",
                              "sol_ms": 3.01, "baselines": {"eager": {"median": 6.1654}, "cuda-graph": {"error": "x"}},
                              "sol_fraction": {"eager": 0.4882}},
    },
}  # fmt: skip


# Gauntlet scorecards: this project's harness on a GPU, KernelBench's evaluator beside it (one view per
# column), and a malformed file the page names and skips.
SCORECARDS: dict[str, dict | str] = {
    "gauntlet-nvidia-h200.json": {
        "format": "kernelatlas-gauntlet", "format_version": 1, "harness": "kernelatlas",
        "date": "2026-12-01T12:00:00+00:00", "provenance": {**_PROVENANCE, "git": {"commit": "b" * 40}},
        "cases": [{"name": "good_triton", "category": "control", "hack": "an honest Triton kernel",
                   "status": "caught", "reason": "all outputs match"},
                  {"name": "patch_timer", "category": "timing", "hack": "patching <the> timer | pipe",
                   "status": "caught", "reason": "the candidate replaced time.perf_counter_ns"}]},
    "kernelbench-nvidia-h200.json": {
        "format": "kernelatlas-harness-scorecard", "format_version": 1, "harness": "kernelbench",
        "label": "KernelBench eval", "repository": "ScalingIntelligence/KernelBench", "commit": "c" * 40,
        "date": "2026-12-01T13:00:00+00:00", "provenance": _PROVENANCE,
        "views": [{"key": "eval", "label": "KernelBench eval"}],
        "cases": [{"name": "good_triton", "category": "control", "hack": "an honest Triton kernel",
                   "statuses": {"eval": "caught"}, "why": {"eval": "accepted"}},
                  {"name": "patch_timer", "category": "timing", "hack": "patching <the> timer | pipe",
                   "statuses": {"eval": "missed"}, "why": {"eval": "accepted at 5.7x <b>"}},
                  {"name": "poisons_cache", "category": "isolation", "hack": "rewriting the cache",
                   "statuses": {"eval": "not_applicable"}, "why": {"eval": "no cache"}}]},
    "broken-scorecard.json": '{"format": "kernelatlas-gauntlet", "cases": [',
}  # fmt: skip


@dataclass
class BuiltSite:
    root: Path  # the checkout copy the site was built from
    site: Path  # the built site
    kb: KnowledgeBase


def make_checkout(dest: Path) -> Path:
    """A copy of what the build reads, plus the probe entry, a reproduction and a malformed result file."""
    for rel in ("mkdocs.yml", "papers", "taxonomy"):
        src = REPO_ROOT / rel
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / rel)
    (dest / "papers" / f"{PROBE_ID}.yaml").write_text(PROBE_YAML, encoding="utf-8")
    for entry_id, text in ORG_ENTRIES.items():
        (dest / "papers" / f"{entry_id}.yaml").write_text(text, encoding="utf-8")
    with (dest / "taxonomy" / "organizations.yaml").open("a", encoding="utf-8") as aliases:
        aliases.write(f"{ORG_NAME}: [{ORG_SPELLING}]\n")
    results = dest / "repro" / "results" / REPRO_SLUG / "level1"
    results.mkdir(parents=True)
    for method, data in REPRODUCTION.items():
        (results / f"{method}.json").write_text(json.dumps(data), encoding="utf-8")
    (results / "evolve.json").write_text('{"tasks": [', encoding="utf-8")
    published = dest / "repro" / "results" / "published"
    published.mkdir(parents=True)
    (published / "cuda-l1-h100.json").write_text(json.dumps(LEDGER), encoding="utf-8")
    (published / "kernelbench-leaderboard-l40s.json").write_text(
        json.dumps(LEADERBOARD_LEDGER), encoding="utf-8"
    )
    broken = {**LEDGER, "rows": [{"task": 3, "policies": {}}]}
    (published / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    baselines = dest / "repro" / "results" / "kernelbench"
    baselines.mkdir(parents=True)
    (baselines / "nvidia-h200.json").write_text(json.dumps(KB_BASELINES), encoding="utf-8")
    gauntlet = dest / "repro" / "results" / "gauntlet"
    gauntlet.mkdir(parents=True)
    for name, data in SCORECARDS.items():
        (gauntlet / name).write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return dest


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    """The site, built once per test run and shared by the test processes (read only)."""

    def make(folder: Path) -> None:
        (folder / "checkout").mkdir()
        build_site(make_checkout(folder / "checkout"), folder / "checkout" / "site", strict=True)

    root = shared_folder(tmp_path_factory, "built-site", make) / "checkout"
    return BuiltSite(root, root / "site", load_knowledge_base(root))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site_url(built_site: BuiltSite):
    """The built site over HTTP on 127.0.0.1 and a free port, as `python -m http.server` would serve it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(built_site.site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright, one per test module (Playwright's sync API
    allows one running instance per process, and each module that uses it owns one)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (install Debian's `chromium`: make system-deps)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def search_site(page, site_url: str, query: str) -> list[str]:
    """Type `query` into the site's search box on the home page; the result links, best first."""
    page.goto(f"{site_url}/")
    page.locator(".md-search__input").first.click()
    # The search worker says "Type to start searching" once its index is loaded.
    page.wait_for_function(
        "document.querySelector('.md-search-result__meta')?.textContent.includes('Type to start')"
    )
    # The whole query at once, then one key release (the search reads the box on keyup): typing key by
    # key sends a query per key, and on a busy machine the results first shown can be a prefix's.
    box = page.locator(".md-search__input").first
    box.fill(query)
    box.press("End")
    page.wait_for_selector(".md-search-result__item", timeout=15_000)
    # Read the list once it has stayed the same for 0.5 s.
    read = "els => els.map(e => e.href)"
    last, stable_since = None, 0.0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        hrefs = page.eval_on_selector_all(".md-search-result__link", read)
        if hrefs != last:
            last, stable_since = hrefs, time.monotonic()
        elif hrefs and time.monotonic() - stable_since >= 0.5:
            break
        page.wait_for_timeout(100)
    return last or []


WIDE, PHONE = {"width": 1440, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture
def open_page(browser, site_url: str):
    """Open a site page at a viewport; record every request and script error on the way."""
    contexts = []

    def _open(path: str, viewport: dict = WIDE, scheme: str = "light"):
        context = browser.new_context(viewport=viewport, color_scheme=scheme)
        contexts.append(context)
        page = context.new_page()
        page.requests, page.errors = [], []
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(f"{site_url}/{path}", wait_until="load")
        # Let the page's own scripts finish laying out (two frames).
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return page

    yield _open
    for context in contexts:
        context.close()
