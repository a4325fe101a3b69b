"""The gauntlet on the CPU path (Triton interpreter): every adversarial case must be caught.

One test per case, so a regression names the trick that got through. Isolation guarantees each have
their case here (reads_reference, poisons_cache, reads_parent_environ, env_passthrough, writes_checkout,
reads_home, signals_parent, leaves_daemon, memory_hog)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shared_setup import shared_folder

from repro.harness import EvalSettings, clockcheck
from repro.runners.gauntlet import (
    CANARY,
    CASES,
    HONEST,
    KERNELS,
    builds_on_honest,
    by_name,
    kernel_source,
    run,
    run_case,
    source_of,
)

FAST = dict(
    correctness_trials=2, timing_iters=8, min_timing_iters=5, warmup=1, baselines=("eager",), timeout_s=90
)
CPU_CASES = [c for c in CASES if c.device == "any"]


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One harness cache for this run's test processes: each problem's reference is computed once (the
    cache locks a bundle while it is made, as it does for evaluations running side by side)."""
    return shared_folder(tmp_path_factory, "gauntlet-cache", lambda folder: None)


@pytest.fixture
def settings(cache_root: Path, monkeypatch: pytest.MonkeyPatch) -> EvalSettings:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(cache_root))
    monkeypatch.setenv(*CANARY)
    return EvalSettings(device="cpu", **FAST)


# Isolation cases that need a filesystem/ptrace layer (Landlock ABI >= the number, or the candidate's own
# uid); the others (environment allow-list, warden, limits) hold everywhere.
NEEDS_LAYER = {"reads_reference": 1, "poisons_cache": 1, "reads_parent_environ": 1, "writes_checkout": 1,
               "reads_home": 1, "signals_parent": 6}  # fmt: skip


def _layer_missing(name: str) -> str | None:
    import os

    from repro.harness import isolation

    abi = NEEDS_LAYER.get(name)
    if abi is None or isolation.landlock_abi() >= abi:
        return None
    if os.geteuid() == 0 and isolation.uid_blocker() is None:
        return None
    return f"this machine has Landlock ABI {isolation.landlock_abi()} and no separate uid (needs ABI {abi})"


# On the CPU path the half-time forgers are refused by the parent's clock, and on a shared machine of two
# cores the CPU's speed varies between moments by about the forgery's factor: with a busy process on the
# other core, 1 of 6 evaluations of `forges_channel_plausible` was accepted (its timed loop's best call
# took 19.3 ms of CPU time, its batch's calls 13.7 ms); on another 2-core machine two full gauntlet runs
# accepted it (3.93 ms a call against 3.99 allowed; 3.79 against 3.96), and under the test suite's second
# worker an evaluation and its confirmation both did. A
# miss there is confirmed by two more evaluations: a forger the rule lets through fails all three.
CLOCK_FORGERS = {"forges_channel_plausible", "forges_channel_short"}


@pytest.mark.parametrize("case", CPU_CASES, ids=[c.name for c in CPU_CASES])
def test_case_is_caught(case, settings: EvalSettings) -> None:
    if missing := _layer_missing(case.name):
        pytest.skip(missing)  # the result's provenance.isolation says the same to users
    row = run_case(case, settings)
    for _ in range(2):
        if row["status"] == "missed" and case.name in CLOCK_FORGERS and settings.device == "cpu":
            row = run_case(case, settings)
    assert row["status"] in ("caught", "known_miss"), row
    if row["verdict"] == "correct":  # accepted: its reported time agreed with the parent's clock
        assert row["parent_clock"]["per_call_ms"] <= row["parent_clock"]["allowed_ms"], row
    if case.name == "forges_channel_plausible":  # refused only once every confirming round contradicted it
        clock = row["parent_clock"]
        assert len(clock["rounds_per_call_ms"]) == clockcheck.ROUNDS, clock
        assert min(clock["rounds_per_call_ms"]) == clock["per_call_ms"] > clock["allowed_ms"], clock
    if case.category == "isolation" and row["verdict"] == "correct":
        assert row["isolation"]["worker_landlock"] or row["isolation"]["uid"] == "own", row["isolation"]


def test_every_case_names_an_existing_file_and_a_known_verdict() -> None:
    from repro.harness.result import VERDICTS

    for case in CASES:
        assert case.path.is_file(), case.name
        assert case.verdict in (*VERDICTS, "harness_error"), case.name
        assert source_of(case)  # variants' edits apply
    with pytest.raises(ValueError, match="unknown gauntlet case"):
        by_name(["no_such_case"])


def test_each_kernel_file_holds_its_trick_and_the_honest_kernel_is_put_in_front() -> None:
    """A trick file holds no copy of the honest kernel; a case builds on it exactly when its file uses
    the honest kernel's names, and the source handed to a harness is the whole candidate."""
    honest = HONEST.read_text()
    kernel = honest[honest.index("@triton.jit") : honest.index("def honest")].strip()
    copies = [p.name for p in KERNELS.glob("*.py") if p != HONEST and kernel in p.read_text()]
    assert copies == ["good_triton.py"]  # the control stands alone, as a user's file would
    for case in CASES:
        assert case.honest == builds_on_honest(case.path.read_text()), case.name
        if case.honest and case.raw is None and case.replace is None:
            assert source_of(case).decode() == kernel_source(case.path.name), case.name
    whole = kernel_source("torch_ops.py")
    assert whole.startswith(honest) and "class ModelNew(Honest)" in whole
    assert kernel_source("good_triton.py") == (KERNELS / "good_triton.py").read_text()


def test_command_writes_a_scorecard_with_provenance(cache_root: Path, tmp_path: Path, monkeypatch) -> None:
    from repro.cli import main

    monkeypatch.setenv("KERNELATLAS_CACHE", str(cache_root))
    out = tmp_path / "card.json"
    argv = ["gauntlet", "--device", "cpu", "--only", "good_triton,returns_input,side_stream", "--out", str(out),
            "--trials", "2", "--timing-iters", "6", "--warmup", "1"]  # fmt: skip
    assert main(argv) == 0
    card = json.loads(out.read_text())
    assert card["format"] == "kernelatlas-gauntlet" and card["format_version"] == 1
    assert card["summary"] == {"cases": 3, "caught": 2, "missed": 0, "known_miss": 0, "not_run": 1}
    assert card["provenance"]["torch"] and "commit" in card["provenance"]["git"]
    assert {r["name"]: r["status"] for r in card["cases"]}["side_stream"] == "not_run"
    assert card["isolation"] and card["not_covered"]


def test_a_missed_case_fails_the_command(cache_root: Path, tmp_path: Path, monkeypatch) -> None:
    """The scorecard's exit status is what CI keys on: a candidate that gets through is a failure."""
    import dataclasses

    import repro.runners.gauntlet as g

    monkeypatch.setenv("KERNELATLAS_CACHE", str(cache_root))
    wrong = dataclasses.replace(
        by_name(["good_triton"])[0], verdict="incorrect"
    )  # expectation it cannot meet
    card = run([wrong], EvalSettings(device="cpu", **FAST))
    assert card["summary"]["missed"] == 1 and card["cases"][0]["status"] == "missed"
    assert g.CASES  # the registry itself is untouched


def test_cases_run_side_by_side_keep_their_verdicts_and_order(cache_root: Path, tmp_path: Path,
                                                              monkeypatch) -> None:  # fmt: skip
    """`--workers 2`: cases evaluated at once share the device; the scorecard lists them in the order
    asked, the honest kernel first, and a case that disturbs others (SOLO) after everything else."""
    import repro.runners.gauntlet as g

    monkeypatch.setenv("KERNELATLAS_CACHE", str(cache_root))
    names = ["wrong_output", "good_triton", "signals_parent", "returns_input", "import_error"]
    started: list[str] = []
    real = g.run_case

    def noting(case, settings):  # the order cases start in; the evaluation itself is the real one
        started.append(case.name)
        return real(case, settings)

    monkeypatch.setattr(g, "run_case", noting)
    out = tmp_path / "card.json"
    card = run(by_name(names), EvalSettings(device="cpu", **FAST), out, workers=2)
    assert [r["name"] for r in card["cases"]] == names
    assert all(r["status"] == "caught" for r in card["cases"]), card["cases"]
    assert started[0] == "good_triton" and started[-1] == "signals_parent"
    assert json.loads(out.read_text())["summary"]["caught"] == len(names)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        run(by_name(names), EvalSettings(device="cpu", **FAST), workers=0)


def test_a_trick_faster_than_the_honest_kernel_is_missed_on_a_gpu() -> None:
    """`no_gain` cases judged correct must not beat the honest kernel timed in the same run."""
    import repro.runners.gauntlet as g

    case = by_name(["l2_persist"])[0]
    honest = {"name": "good_triton", "status": "caught", "speedup": 2.0}
    gpu, cpu = EvalSettings(device="cuda"), EvalSettings(device="cpu")
    rows = [honest, {"name": case.name, "status": "caught", "speedup": 2.1, "reason": "ok"}]
    g._check_gain(case, rows[-1], rows, gpu)
    assert rows[-1]["status"] == "caught" and rows[-1]["gain_over_honest"] == 1.05
    rows = [honest, {"name": case.name, "status": "caught", "speedup": 3.0, "reason": "ok"}]
    g._check_gain(case, rows[-1], rows, gpu)
    assert rows[-1]["status"] == "missed" and "1.50x the honest kernel" in rows[-1]["reason"]
    rows = [honest, {"name": case.name, "status": "caught", "speedup": 3.0, "reason": "ok"}]
    g._check_gain(case, rows[-1], rows, cpu)  # interpreter timings say nothing about gains
    assert rows[-1]["status"] == "caught"
    rows = [{"name": case.name, "status": "caught", "speedup": 3.0, "reason": "ok"}]
    g._check_gain(case, rows[-1], rows, gpu)  # no honest kernel in this run: not checked, and said so
    assert rows[-1]["status"] == "caught" and rows[-1]["gain_over_honest"] is None


def test_a_trick_expected_refused_counts_as_caught_only_if_it_gains_nothing() -> None:
    """`cuda_graph` is expected refused by the parent's clock; judged correct instead, it is caught only
    when its speedup is within `no_gain` of the honest kernel's from the same GPU run."""
    import repro.runners.gauntlet as g

    case = by_name(["cuda_graph"])[0]
    honest = {"name": "good_triton", "status": "caught", "speedup": 2.10}
    gpu, cpu = EvalSettings(device="cuda"), EvalSettings(device="cpu")

    def judged(speedup: float, rows_before: list[dict], settings: EvalSettings) -> dict:
        row = {
            "name": case.name,
            "status": "caught",
            "caught_by": "no gain",
            "speedup": speedup,
            "reason": "ok",
        }
        g._check_gain(case, row, [*rows_before, row], settings)
        return row

    row = judged(2.07, [honest], gpu)  # as on the H200: 0.99x the honest kernel
    assert (
        row["status"] == "caught" and row["gain_over_honest"] == 0.986 and "gained nothing" in row["reason"]
    )
    row = judged(4.2, [honest], gpu)
    assert row["status"] == "missed" and "2.00x the honest kernel" in row["reason"]
    row = judged(2.07, [], gpu)  # nothing to compare with: not caught
    assert row["status"] == "missed" and "could not be checked" in row["reason"]
    row = judged(2.07, [honest], cpu)
    assert row["status"] == "missed"
    refused = {"name": case.name, "status": "caught", "speedup": None, "reason": "clock contradicts"}
    g._check_gain(case, refused, [honest, refused], gpu)  # refused as expected: nothing to compare
    assert refused["status"] == "caught"


def test_a_gap_documented_for_one_device_counts_as_known_there_only(settings: EvalSettings) -> None:
    """`known_miss_on` marks a documented gap on one device (the parent's clock on CUDA): on that device
    a case that gets through counts as a known miss, elsewhere as missed; one caught there counts as caught."""
    import dataclasses

    case = next(c for c in CASES if c.name == "import_error")
    through = dataclasses.replace(case, verdict="correct")  # as if the harness let it through
    assert (
        run_case(dataclasses.replace(through, known_miss_on=settings.device), settings)["status"]
        == "known_miss"
    )
    assert run_case(dataclasses.replace(through, known_miss_on="elsewhere"), settings)["status"] == "missed"
    assert run_case(dataclasses.replace(case, known_miss_on=settings.device), settings)["status"] == "caught"
