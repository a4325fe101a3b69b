"""End-to-end harness tests on the CPU path (Triton interpreter): one candidate kernel per trick."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from repro.harness import EvalSettings, evaluate

KERNELS = Path(__file__).parent / "kernels"
PROBLEM = KERNELS / "problem_scale_add.py"
FAST = dict(
    correctness_trials=2, timing_iters=8, min_timing_iters=5, warmup=1, baselines=("eager",), timeout_s=60
)


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kernelatlas-cache")


@pytest.fixture
def settings(cache_root: Path, monkeypatch: pytest.MonkeyPatch) -> EvalSettings:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(cache_root))
    return EvalSettings(device="cpu", **FAST)


def run(name: str, settings: EvalSettings):
    return evaluate(PROBLEM, (KERNELS / f"{name}.py").read_text(), settings)


CASES = [
    # candidate file, verdict, words the reason must contain
    ("good_triton", "correct", "match the reference"),
    ("torch_ops", "rejected", "aten::"),
    ("uses_compile", "rejected", "ModelNew"),
    ("wrong_output", "incorrect", "max abs error"),
    ("nan_output", "incorrect", "NaN/Inf"),
    ("returns_input", "incorrect", "exceeds atol"),
    ("uninitialised", "incorrect", "trial 0"),
    ("mutates_input", "rejected", "modified input 0 in place"),
    ("cache_data_ptr", "incorrect", "timed iteration"),
    ("cache_first_output", "incorrect", "trial 1"),
    ("subclass_output", "rejected", "not a plain torch.Tensor"),
    ("import_error", "compile_error", "deliberate failure at import"),
    ("no_model", "compile_error", "no class ModelNew"),
    ("raise_forward", "runtime_error", "deliberate failure in forward"),
    ("sys_exit_import", "runtime_error", "sys.exit(0) during import"),
    ("sys_exit_forward", "runtime_error", "sys.exit(0) during forward"),
    ("os_exit_import", "crash", "exited with status 0 during import"),
    ("os_exit_forward", "crash", "exited with status 0 during forward"),
    ("segfault_forward", "crash", "SIGSEGV"),
    ("abort_forward", "crash", "SIGABRT"),
    ("patch_timer", "rejected", "replaced time.perf_counter_ns"),
    ("patch_harness", "rejected", "replaced repro.harness.timing.summarize"),
    ("flip_flags", "rejected", "allow_tf32 from False to True"),
    ("default_dtype", "rejected", "get_default_dtype()"),
    ("starts_thread", "rejected", "thread(s) running"),
]


@pytest.mark.parametrize(("name", "verdict", "words"), CASES, ids=[c[0] for c in CASES])
def test_verdict(name: str, verdict: str, words: str, settings: EvalSettings) -> None:
    res = run(name, settings)
    assert (res.verdict, words in res.reason) == (verdict, True), res.reason
    d = res.to_dict()
    assert d["correct"] is (verdict == "correct")
    assert d["provenance"]["settings"]["device"] == "cpu"


def test_correct_result_has_timings_ops_and_provenance(settings: EvalSettings) -> None:
    d = run("good_triton", settings).to_dict()
    assert d["timing"] == "cpu-interpreter (mechanism test only)"
    assert d["candidate_ms"]["median"] > 0 and d["candidate_ms"]["n"] >= FAST["min_timing_iters"]
    assert d["baseline"] == "eager" and d["speedup"] == pytest.approx(
        d["baseline_ms"]["eager"]["median"] / d["candidate_ms"]["median"]
    )
    assert "aten::relu" in d["reference_ops"] and "aten::relu" not in d["ops"]
    assert d["checks"]["timed_outputs_checked"] == 2
    assert [s["shape"] for s in d["shapes"]] == [{"n": 4099}, {"n": 1000}]
    assert d["provenance"]["torch"] == torch.__version__ and d["provenance"]["git"]["commit"]
    assert d["sol_fraction"] is not None and d["sol_fraction"] > 0


def test_provenance_names_the_commit_of_this_evaluation_not_of_the_cached_reference(
    settings: EvalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repro.records import provenance

    for commit in ("a" * 40, "b" * 40):  # the second evaluation reuses the reference bundle of the first
        monkeypatch.setenv("KERNELATLAS_GIT_COMMIT", commit)
        monkeypatch.setenv("KERNELATLAS_GIT_DIRTY", "0")
        provenance.git_commit.cache_clear()
        try:
            d = run("good_triton", settings).to_dict()
        finally:
            provenance.git_commit.cache_clear()
        assert d["provenance"]["git"] == {"commit": commit, "dirty": False, "source": "environment"}
        assert d["provenance"]["date"] >= d["provenance"]["reference_date"]


def test_syntax_error_is_caught_without_a_process(settings: EvalSettings) -> None:
    t0 = time.monotonic()
    res = evaluate(PROBLEM, "class ModelNew(:\n    pass\n", settings)
    assert res.verdict == "compile_error" and "SyntaxError" in res.reason and "line 1" in res.reason
    assert time.monotonic() - t0 < 1.0


@pytest.mark.parametrize("name", ["hang_import", "hang_forward"])
def test_hang_is_killed_at_the_timeout(name: str, settings: EvalSettings) -> None:
    import dataclasses

    quick = dataclasses.replace(settings, timeout_s=4)
    t0 = time.monotonic()
    res = run(name, quick)
    assert res.verdict == "timeout" and "4 s" in res.reason
    assert time.monotonic() - t0 < 15


def test_candidate_sees_no_secrets_and_no_reference_files(
    settings: EvalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("HF_TOKEN", "hf-test-not-real")
    res = run("peeks_environment", settings)
    assert res.verdict == "correct", res.reason + res.detail


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for a reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_candidate_dies_with_the_evaluating_process(cache_root: Path, tmp_path: Path) -> None:
    """A parent killed mid-evaluation (a Ray worker, a crashed driver) takes its candidate with it."""
    import os
    import signal
    import subprocess
    import sys

    pidfile = tmp_path / "candidate.pid"
    candidate_file = tmp_path / "candidate.py"
    source = (KERNELS / "hang_import_pidfile.py").read_text()
    candidate_file.write_text(source.replace('"/nonexistent/pid"', repr(str(pidfile))))
    script = (
        "from pathlib import Path; from repro.harness import EvalSettings, evaluate; "
        f"evaluate(Path({str(PROBLEM)!r}), Path({str(candidate_file)!r}).read_text(), "
        "EvalSettings(device='cpu', timeout_s=120, correctness_trials=1, baselines=('eager',)))"
    )
    env = {**os.environ, "KERNELATLAS_CACHE": str(cache_root)}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 90
        while not (pidfile.is_file() and pidfile.read_text()):
            assert parent.poll() is None, "the evaluating process ended before the candidate started"
            assert time.monotonic() < deadline, "the candidate never started"
            time.sleep(0.1)
        candidate = int(pidfile.read_text())
        assert _alive(candidate)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(candidate) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(candidate), "the candidate outlived the process evaluating it"
    finally:
        parent.kill()
