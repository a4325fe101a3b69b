"""`python -m repro kernelbench` on the CPU path: fixture problems in KernelBench's layout, written here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_run import repro_in_process

from repro.harness import procfs
from repro.published.kernelbench import (
    CompileTurns,
    _missing,
    autotuned_shapes,
    compile_cache_at,
    compile_threads,
    discover,
    gpu_lock,
    install_compile_turns,
    problem_compile_cache,
    run_suite,
)
from repro.records.kernelbench_results import SuiteError, load_results, rederive, sol

MATMUL = """import torch
import torch.nn as nn

class Model(nn.Module):
    def forward(self, A, B):
        return torch.matmul(A, B)

N = 64

def get_inputs():
    return [torch.randn(N, N), torch.randn(N, N)]

def get_init_inputs():
    return []
"""
LINEAR = """import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.fc = nn.Linear(i, o)

    def forward(self, x):
        return torch.relu(self.fc(x))

def get_inputs():
    return [torch.randn(8, 32)]

def get_init_inputs():
    return [32, 16]
"""
BROKEN = MATMUL.replace("return torch.matmul(A, B)", "raise ValueError('deliberate')")
HANGS = MATMUL.replace("return torch.matmul(A, B)", "import time; time.sleep(600)")
TIMING = {"warmup": 1, "min_iters": 3, "max_iters": 5, "target_rel_ci": 0.5, "max_time_s": 1.0}
ROOT = Path(__file__).resolve().parents[1]


def checkout(tmp_path: Path, problems: dict[str, str], level: int = 1) -> Path:
    folder = tmp_path / "kb" / "KernelBench" / f"level{level}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in problems.items():
        (folder / name).write_text(text)
    return tmp_path / "kb"


@pytest.fixture(scope="module")
def _peaks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file of device peaks for the module: the first run measures them, the others read them."""
    return tmp_path_factory.mktemp("kb-peaks") / "peaks.json"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, _peaks: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERNELATLAS_PEAKS", str(_peaks))


def test_discover_in_numeric_order_and_errors(tmp_path: Path) -> None:
    root = checkout(tmp_path, {"10_b.py": MATMUL, "2_a.py": MATMUL, "notes.txt": ""})
    assert [k for k, _ in discover(root, [1])] == ["level1/2_a", "level1/10_b"]
    with pytest.raises(SuiteError, match="no KernelBench/level2 folder"):
        discover(root, [2])


def test_suite_counts_flops_and_bytes_times_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    root = checkout(tmp_path, {"1_matmul.py": MATMUL, "2_linear.py": LINEAR, "3_broken.py": BROKEN})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", baselines=("eager", "cuda-graph"), timing=TIMING, timeout_s=120,
              kernelbench_commit="a" * 40, log=lambda s: None)  # fmt: skip
    counts = run_suite(root, [1], out, **kw)
    assert (counts["measured"], counts["failed"]) == (2, 1)
    data = load_results(out)
    assert data is not None and data["kernelbench"]["commit"] == "a" * 40
    mm, lin, broken = (data["tasks"][k] for k in ("level1/1_matmul", "level1/2_linear", "level1/3_broken"))
    assert mm["flops"] == 2 * 64**3 and mm["flops_by_op"] == {"aten.mm": 2 * 64**3}
    assert (mm["bytes_read"], mm["bytes_written"]) == (2 * 64 * 64 * 4, 64 * 64 * 4)
    # Parameters are read too: weight 16x32 and bias 16, besides the 8x32 input.
    assert lin["bytes_read"] == (8 * 32 + 16 * 32 + 16) * 4 and lin["flops"] == 2 * 8 * 32 * 16
    assert mm["baselines"]["eager"]["median"] > 0 and mm["baselines"]["eager"]["n"] >= 3
    assert mm["baselines"]["cuda-graph"]["error"] == "CUDA graphs need a GPU"
    assert mm["bound"] in ("compute", "memory") and mm["sol_fraction"]["eager"] > 0
    assert "deliberate" in broken["error"]
    assert data["peaks"]["copy_bytes_per_s"] > 0 and data["provenance"]["torch"]
    assert list(scratch.iterdir()) == []  # the run's plans and worker logs do not outlive it
    again = run_suite(root, [1], out, **kw)
    assert (again["skipped"], again["measured"]) == (2, 0)  # the failed one is tried again
    (root / "KernelBench" / "level1" / "1_matmul.py").write_text(MATMUL.replace("N = 64", "N = 32"))
    third = run_suite(root, [1], out, **kw)
    assert third["measured"] == 1 and load_results(out)["tasks"]["level1/1_matmul"]["flops"] == 2 * 32**3


def test_a_hanging_problem_is_recorded_and_the_next_still_runs(tmp_path: Path) -> None:
    root = checkout(tmp_path, {"1_hangs.py": HANGS, "2_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", baselines=("eager",), timing=TIMING, log=lambda s: None)
    counts = run_suite(root, [1], out, timeout_s=6, **kw)
    tasks = load_results(out)["tasks"]
    assert counts["failed"] == 1 and "did not finish within 6 s" in tasks["level1/1_hangs"]["error"]
    assert (tasks["level1/1_hangs"]["attempts"], tasks["level1/1_hangs"]["seconds_tried"]) == (1, 6)
    assert tasks["level1/2_matmul"]["baselines"]["eager"]["median"] > 0
    # Tried again (the matmul is not): the record says how often and how long in all.
    assert run_suite(root, [1], out, timeout_s=3, **kw)["failed"] == 1
    hangs = load_results(out)["tasks"]["level1/1_hangs"]
    assert (hangs["attempts"], hangs["seconds_tried"]) == (2, 9) and "within 3 s" in hangs["error"]


def test_a_lost_attempt_to_measure_again_keeps_the_reading_it_was_to_replace(tmp_path: Path) -> None:
    """`--force` (or a host-clock reading measured again by one worker) whose attempt is lost to a
    timeout, a crash or a stopped run leaves the reading it would have replaced: that attempt is not a
    result. A baseline without a reading still records the failure."""
    marker = tmp_path / "hang-now"
    slow = f"import pathlib, time\nif pathlib.Path({str(marker)!r}).exists():\n    time.sleep(600)\n" + MATMUL
    root = checkout(tmp_path, {"1_matmul.py": slow})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", timing=TIMING, log=lambda s: None)
    run_suite(root, [1], out, baselines=("eager",), timeout_s=120, **kw)
    first = _tasks(out)["level1/1_matmul"]["baselines"]["eager"]
    assert first["median"] > 0
    marker.touch()
    counts = run_suite(root, [1], out, baselines=("eager", "cuda-graph"), timeout_s=3, force=True, **kw)
    assert counts["failed"] == 1
    kept = _tasks(out)["level1/1_matmul"]["baselines"]
    assert kept["eager"] == first  # untouched, its run index too
    assert "did not finish within 3 s" in kept["cuda-graph"]["error"] and kept["cuda-graph"]["retry"]


def test_a_baseline_that_runs_out_of_time_again_counts_its_attempts() -> None:
    from repro.published.kernelbench import _count_timeouts

    first = {"error": "the measurement did not finish within 380 s", "retry": True}
    _count_timeouts(first, {"median": 1.0})  # measured before, with other settings: a first timeout
    assert (first["attempts"], first["seconds_tried"]) == (1, 380)
    legacy = {"error": "the measurement did not finish within 420 s", "retry": True}  # before the counts
    second = {"error": "the measurement did not finish within 150 s", "retry": True}
    _count_timeouts(second, legacy)
    assert (second["attempts"], second["seconds_tried"]) == (2, 570)
    third = {"error": "the measurement did not finish within 400 s", "retry": True}
    _count_timeouts(third, second)
    assert (third["attempts"], third["seconds_tried"]) == (3, 970)
    other = {"error": "OutOfMemoryError: …", "retry": True}
    _count_timeouts(other, third)
    assert "attempts" not in other  # only running out of time is counted


def test_sol_counts_convolutions_at_the_tf32_rate() -> None:
    peaks = {"copy_bytes_per_s": 1e12, "flops_per_s": {"float32": 50e12, "bfloat16": 800e12}}
    rec = {"flops": 400e9, "flops_by_op": {"aten.convolution": 400e9}, "bytes": 1e6, "dtype": "float32",
           "baselines": {"eager": {"median": 2.0}}}  # fmt: skip
    s = sol(rec, peaks)
    assert s["bound"] == "compute" and s["sol_ms"] == pytest.approx(1.0)  # 400 GFLOP at 400 TFLOP/s
    assert s["sol_fraction"]["eager"] == pytest.approx(0.5)
    s = sol({**rec, "flops_by_op": {"aten.mm": 400e9}}, peaks)
    assert s["sol_ms"] == pytest.approx(8.0)  # float32 matmul: no TF32 by default
    s = sol({**rec, "tf32": {"cudnn": False, "matmul": False}}, peaks)
    assert s["sol_ms"] == pytest.approx(8.0)
    assert sol(rec, None) == {}


def test_rederive_and_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"format": "kernelatlas-kernelbench-baselines", "format_version": 1,
                               "peaks": {"copy_bytes_per_s": 1e12, "flops_per_s": {"float32": 1e12}},
                               "tasks": {"level1/1_x": {"flops": 1e9, "bytes": 1e6, "dtype": "float32",
                                                        "baselines": {"eager": {"median": 2.0}}}}}))  # fmt: skip
    assert rederive(out) == 1
    assert json.loads(out.read_text())["tasks"]["level1/1_x"]["sol_fraction"]["eager"] == pytest.approx(0.5)

    # The first error through `python -m repro kernelbench` in a process of its own (the exit status a
    # shell sees); the others through the same entry point in this process (a process each costs seconds).
    r = subprocess.run([sys.executable, "-m", "repro", "kernelbench", "--root", str(tmp_path), "--out",
                        str(tmp_path / "o.json"), "--device", "cpu"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "no KernelBench/level1 folder" in r.stderr

    def run(*args: str) -> subprocess.CompletedProcess:
        return repro_in_process(capsys, "kernelbench", *args)

    r = run("--root", str(tmp_path), "--out", str(out), "--baselines", "eager,fast")
    assert r.returncode == 2 and "unknown ['fast']" in r.stderr
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    r = run("--root", str(root), "--levels", "1", "--out", str(tmp_path / "bad.json"), "--device", "cpu")
    assert r.returncode == 2 and "expected 'kernelatlas-kernelbench-baselines'" in r.stderr
    r = run("--root", str(root), "--out", str(tmp_path / "w.json"), "--device", "cpu", "--workers", "0")
    assert r.returncode == 2 and "--workers 0: give at least 1" in r.stderr
    r = run("--root", str(root), "--out", str(tmp_path / "w.json"), "--device", "cpu", "--gpus", "0,x")
    assert r.returncode == 2 and "--gpus '0,x'" in r.stderr
    r = run(
        "--root", str(root), "--out", str(tmp_path / "w.json"), "--device", "cpu", "--compile-cache", str(out)
    )
    assert r.returncode == 2 and f"--compile-cache {out}: a file, not a folder" in r.stderr
    r = run("--root", str(root), "--out", str(tmp_path / "w.json"), "--device", "cpu",
            "--compile-cache", str(out / "under-a-file"))  # fmt: skip
    assert r.returncode == 2 and "the folder cannot be made (Not a directory)" in r.stderr, r.stderr


def _tasks(out: Path) -> dict:
    data = load_results(out)
    assert data is not None
    return data["tasks"]


def test_parallel_workers_never_time_two_problems_at_once(tmp_path: Path) -> None:
    """Four problems on two workers: all measured, and the timed regions (under the device lock) are disjoint."""
    problems = {f"{i}_mm.py": MATMUL.replace("N = 64", f"N = {32 + 8 * i}") for i in range(1, 5)}
    root = checkout(tmp_path, problems)
    out = tmp_path / "out.json"
    counts = run_suite(root, [1], out, device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120,
                       workers=2, log=lambda s: None)  # fmt: skip
    assert (counts["measured"], counts["failed"]) == (4, 0)
    spans = sorted(t["baselines"]["eager"]["timed_at"] for t in _tasks(out).values())
    assert len(spans) == 4
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"two timed regions overlap: {spans}"
    data = load_results(out)
    assert data is not None and data["runs"][-1]["workers"] == 2


def test_a_timing_never_overlaps_other_device_work_and_is_not_starved(tmp_path: Path) -> None:
    """The device lock: shared holders (building, counting, compiling) coexist; a timer waits for them and
    runs alone; a shared holder arriving while a timer waits queues behind the timer."""
    import os
    import threading
    import time

    from repro.published.kernelbench import gpu_lock

    path = str(tmp_path / "gpu.lock")
    events: list[str] = []
    first_in, second_in, release_first, timer_waiting = (threading.Event() for _ in range(4))

    def first() -> None:
        with gpu_lock(path, shared=True):
            events.append("first in")
            first_in.set()
            release_first.wait(10)
            events.append("first out")

    def second() -> None:  # shares with the first
        first_in.wait(10)
        with gpu_lock(path, shared=True):
            events.append("second in")
            second_in.set()
        events.append("second out")

    def timer() -> None:
        second_in.wait(10)
        timer_waiting.set()
        with gpu_lock(path):
            events.append("timer in")
            time.sleep(0.2)
            events.append("timer out")

    def blocked_writer() -> bool:  # the kernel's own record: an exclusive flock waiting on the lock file
        inode = f":{os.stat(path).st_ino} "
        lines = Path("/proc/locks").read_text().splitlines()
        return any("->" in ln and "FLOCK" in ln and "WRITE" in ln and inode in ln for ln in lines)

    def late() -> None:  # arrives once the timer is waiting for the first to let go
        timer_waiting.wait(10)
        deadline = time.monotonic() + 10
        while not blocked_writer() and time.monotonic() < deadline:
            time.sleep(0.01)
        with gpu_lock(path, shared=True):
            events.append("late in")

    threads = [threading.Thread(target=f) for f in (first, second, timer, late)]
    for t in threads:
        t.start()
    timer_waiting.wait(10)
    time.sleep(0.5)  # the timer and the late holder are both waiting now
    assert "timer in" not in events and "late in" not in events, events
    release_first.set()
    for t in threads:
        t.join(10)
    assert events.index("second in") < events.index("first out"), events  # shared holders coexist
    assert events.index("first out") < events.index("timer in"), events  # the timer waits for them
    assert events.index("timer out") < events.index("late in"), events  # and is not starved by new ones


def test_a_later_baseline_is_added_beside_the_stored_ones(tmp_path: Path) -> None:
    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", timing=TIMING, timeout_s=120, log=lambda s: None)
    run_suite(root, [1], out, baselines=("eager",), **kw)
    eager = _tasks(out)["level1/1_matmul"]["baselines"]["eager"]
    assert eager["run"] == 0 and eager["settings_hash"]
    counts = run_suite(root, [1], out, baselines=("eager", "cuda-graph"), **kw)
    assert counts["measured"] == 1
    rec = _tasks(out)["level1/1_matmul"]
    assert rec["baselines"]["eager"] == eager  # kept as measured, not redone
    assert rec["baselines"]["cuda-graph"]["error"] == "CUDA graphs need a GPU"
    assert rec["baselines"]["cuda-graph"]["run"] == 1
    # Asking again only for what is stored measures nothing, whatever else the earlier runs asked for.
    assert run_suite(root, [1], out, baselines=("eager",), **kw)["skipped"] == 1


def test_a_file_from_before_per_baseline_settings_is_resumed_not_redone(tmp_path: Path) -> None:
    import hashlib

    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120, log=lambda s: None)
    run_suite(root, [1], out, **kw)
    data = json.loads(out.read_text())
    old_settings = {"device": "cpu", "baselines": ["eager"], "timing": TIMING, "seed": 42}
    old_hash = hashlib.sha256(json.dumps(old_settings, sort_keys=True).encode()).hexdigest()[:16]
    data.pop("runs")
    data.update(settings=old_settings, settings_hash=old_hash)
    for rec in data["tasks"].values():
        rec["settings_hash"] = old_hash
        for b in rec["baselines"].values():
            b.pop("settings_hash"), b.pop("run")
    out.write_text(json.dumps(data))
    assert run_suite(root, [1], out, **kw)["skipped"] == 1


def test_a_failure_while_adding_a_baseline_keeps_the_stored_ones(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    crashy = MATMUL.replace("return torch.matmul(A, B)",
                            "import os\n        if os.environ.get('KB_TEST_CRASH'):\n            os._exit(3)\n"
                            "        return torch.matmul(A, B)")  # fmt: skip
    root = checkout(tmp_path, {"1_matmul.py": crashy})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", timing=TIMING, timeout_s=120, log=lambda s: None)
    run_suite(root, [1], out, baselines=("eager",), **kw)
    eager = _tasks(out)["level1/1_matmul"]["baselines"]["eager"]
    monkeypatch.setenv("KB_TEST_CRASH", "1")
    counts = run_suite(root, [1], out, baselines=("eager", "cuda-graph"), **kw)
    assert counts["failed"] == 1
    rec = _tasks(out)["level1/1_matmul"]
    assert rec["baselines"]["eager"] == eager and "error" not in rec
    assert "exited with status 3" in rec["baselines"]["cuda-graph"]["error"]
    assert rec["baselines"]["cuda-graph"]["retry"] is True


def test_a_worker_killed_from_outside_is_not_called_a_timeout(tmp_path: Path) -> None:
    """SIGKILL that the suite did not send (e.g. the out-of-memory killer) is named as such."""
    killed = MATMUL.replace("return torch.matmul(A, B)",
                            "import os, signal\n        os.kill(os.getpid(), signal.SIGKILL)")  # fmt: skip
    root = checkout(tmp_path, {"1_killed.py": killed, "2_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    counts = run_suite(root, [1], out, device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120,
                       log=lambda s: None)  # fmt: skip
    tasks = _tasks(out)
    assert counts["failed"] == 1 and "killed (SIGKILL from outside" in tasks["level1/1_killed"]["error"]
    assert "did not finish" not in tasks["level1/1_killed"]["error"]
    assert tasks["level1/2_matmul"]["baselines"]["eager"]["median"] > 0


@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                    reason="torch.compile on the CPU needs a C++ compiler")  # fmt: skip
def test_compiled_baselines_record_their_compile_time_beside_eager(tmp_path: Path) -> None:
    """`--baselines compile`: torch.compile timed after a first call that compiles, whose cost is the
    baseline's recorded set-up time (max-autotune takes the same path with another mode)."""
    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    counts = run_suite(root, [1], out, baselines=("eager", "compile"), device="cpu", timing=TIMING,
                       timeout_s=300, log=lambda s: None)  # fmt: skip
    assert counts["measured"] == 1, counts
    base = _tasks(out)["level1/1_matmul"]["baselines"]
    assert "error" not in base["compile"], base["compile"]
    assert base["compile"]["median"] > 0, base["compile"]
    assert base["compile"]["setup_ms"] > base["eager"]["setup_ms"] + 50, base  # it compiled


def test_inductors_autotune_timings_land_in_the_problems_folder_and_are_counted(tmp_path: Path) -> None:
    """What inductor's own autotune cache writes while one problem compiles under `--compile-cache` lands
    in that problem's folder (not the worker's temporary one) and is what the next run starts from."""
    from torch._inductor.codecache import LocalCache

    cache = problem_compile_cache(tmp_path / "cc", "level3/7_GoogleNet")
    assert cache == tmp_path / "cc" / "level3-7_GoogleNet"
    assert autotuned_shapes(cache) == 0  # nothing yet: the folder need not exist
    with compile_cache_at(cache):
        assert os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(cache)
        LocalCache().set_value("convolution", "inputs-a", "highest", "choice-1", value=0.5)
        LocalCache().set_value("convolution", "inputs-a", "highest", "choice-2", value=0.4)
        LocalCache().set_value("mm", "inputs-b", "highest", "choice-1", value=0.1)
    assert os.environ.get("TORCHINDUCTOR_CACHE_DIR") != str(cache)  # the worker's own again
    assert autotuned_shapes(cache) == 2  # two (op, input shapes) pairs, whatever the number of choices
    (cache / "cache" / "half-written").write_text("{")
    assert autotuned_shapes(cache) == 2  # a file being rewritten is passed over


@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                    reason="torch.compile on the CPU needs a C++ compiler")  # fmt: skip
def test_a_compile_cache_keeps_each_problems_inductor_files_for_the_next_run(tmp_path: Path) -> None:
    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    out, cc = tmp_path / "out.json", tmp_path / "cc"
    counts = run_suite(root, [1], out, baselines=("max-autotune",), device="cpu", timing=TIMING,
                       timeout_s=300, compile_cache=cc, log=lambda s: None)  # fmt: skip
    assert counts["measured"] == 1, counts
    data = load_results(out)
    assert data["runs"][-1]["compile_cache"] == str(cc)
    tuned = data["tasks"]["level1/1_matmul"]["baselines"]["max-autotune"]
    assert tuned["median"] > 0 and tuned["autotune_cache"]["shapes_before"] == 0, tuned
    assert (cc / "level1-1_matmul" / "fxgraph").is_dir()  # the compiled graph, kept for the next run
    assert autotuned_shapes(cc / "level1-1_matmul") == tuned["autotune_cache"]["shapes_after"]


def test_a_lost_max_autotune_attempt_records_the_shapes_kept_for_the_next_run(tmp_path: Path) -> None:
    """Networks stopped mid-autotune under `--compile-cache`: each failure says how much the next run
    starts from (inductor's autotune file in the problem's folder, here written as inductor writes it),
    beside readings measured before (the usual case) and on a problem with none."""
    from torch._inductor.codecache import LocalCache

    marker = tmp_path / "hang-now"
    later = (
        f"import pathlib, time\nif pathlib.Path({str(marker)!r}).exists():\n    time.sleep(600)\n" + MATMUL
    )
    root = checkout(tmp_path, {"1_hangs.py": HANGS, "2_later.py": later})
    out, cc = tmp_path / "out.json", tmp_path / "cc"
    kw = dict(device="cpu", timing=TIMING, compile_cache=cc, log=lambda s: None)
    run_suite(root, [1], out, baselines=("eager",), timeout_s=120, tasks=["level1/2_later"], **kw)
    for key, shapes in (("level1/1_hangs", 3), ("level1/2_later", 2)):
        with compile_cache_at(problem_compile_cache(cc, key)):
            for i in range(shapes):
                LocalCache().set_value("convolution", f"inputs-{i}", "highest", "choice", value=0.1)
    marker.touch()
    counts = run_suite(root, [1], out, baselines=("max-autotune",), timeout_s=3, workers=2, **kw)
    assert counts["failed"] == 2, counts
    tasks = load_results(out)["tasks"]
    kept = tasks["level1/2_later"]["baselines"]
    assert kept["eager"]["median"] > 0 and "did not finish within 3 s" in kept["max-autotune"]["error"], kept
    assert kept["max-autotune"]["autotune_cache"] == {"shapes_after": 2}, kept
    none_before = tasks["level1/1_hangs"]
    assert "did not finish" in none_before["error"] and none_before["autotune_cache"] == {"shapes_after": 3}


OOM_AFTER_FIRST = MATMUL.replace("return torch.matmul(A, B)",
                                 "global CALLS\n        CALLS += 1\n        if CALLS > 1:\n"
                                 "            raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 8.00 GiB')\n"
                                 "        return torch.matmul(A, B)").replace("N = 64", "N = 64\nCALLS = 0")  # fmt: skip


@pytest.mark.parametrize("workers", [1, 2])
def test_a_baseline_out_of_memory_beside_other_workers_is_tried_again(tmp_path: Path, workers: int) -> None:
    """Out of device memory while other workers hold theirs says nothing of the problem: the next run
    measures that baseline again. Alone (one worker) it is the problem's own result and stays."""
    root = checkout(tmp_path, {"1_oom.py": OOM_AFTER_FIRST, "2_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    kw = dict(
        device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120, workers=workers, log=lambda s: None
    )
    run_suite(root, [1], out, **kw)
    eager = _tasks(out)["level1/1_oom"]["baselines"]["eager"]
    assert eager["error"].startswith("OutOfMemoryError: CUDA out of memory")
    assert eager.get("retry", False) is (workers > 1)
    again = run_suite(root, [1], out, **kw)
    assert again["skipped"] == (1 if workers > 1 else 2)


def test_a_merge_records_the_others_failures_only_where_nothing_is_known(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """A failure flagged for retry in the other file fills a gap (the site then says why the baseline is
    missing, and the next run measures it again) but never replaces a reading, nor a failure of our own
    unless it is a later attempt at it (more attempts counted: a run that started from our file)."""
    root = checkout(tmp_path, {"1_matmul.py": MATMUL, "2_linear.py": LINEAR})
    kw = dict(device="cpu", timing=TIMING, timeout_s=120, log=lambda s: None)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run_suite(root, [1], a, baselines=("eager",), tasks=["level1/1_matmul"], **kw)
    run_suite(root, [1], b, baselines=("eager",), **kw)
    other = json.loads(b.read_text())
    lost = {"error": "the measurement did not finish within 280 s", "retry": True}
    other["tasks"]["level1/2_linear"]["baselines"]["eager"] = dict(lost)
    # A problem lost whole in their run (a fresh file keeps no baselines for it): the failure of each
    # baseline their run asked for.
    other["settings"]["baselines"] = ["eager", "max-autotune"]
    matmul = other["tasks"]["level1/1_matmul"]
    other["tasks"]["level1/1_matmul"] = {k: matmul[k] for k in ("level", "file", "problem_sha256", "date")}
    other["tasks"]["level1/1_matmul"]["error"] = "the worker crashed"
    b.write_text(json.dumps(other))
    first = _tasks(a)["level1/1_matmul"]["baselines"]["eager"]
    r = repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b))
    assert r.returncode == 0 and "'added': 0, 'kept': 0, 'replaced': 0, 'to_retry': 2" in r.stdout
    tasks = _tasks(a)
    assert tasks["level1/1_matmul"]["baselines"]["eager"] == first
    assert tasks["level1/1_matmul"]["baselines"]["max-autotune"] == {
        "error": "the worker crashed",
        "retry": True,
    }
    assert tasks["level1/2_linear"]["baselines"]["eager"] == lost
    # Their later attempt at that same failure (a second timeout, counted over both) replaces ours; one
    # tried no more often than ours does not.
    for theirs, taken in (({"error": "the measurement did not finish within 90 s", "retry": True}, False),
                          ({"error": "the measurement did not finish within 900 s", "retry": True, "attempts": 2,
                            "seconds_tried": 1180.0, "run": 0}, True)):  # fmt: skip
        other["tasks"]["level1/2_linear"]["baselines"]["eager"] = theirs
        b.write_text(json.dumps(other))
        assert repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b)).returncode == 0
        got = _tasks(a)["level1/2_linear"]["baselines"]["eager"]
        assert (got["error"] == theirs["error"]) is taken, got
    assert _tasks(a)["level1/2_linear"]["baselines"]["eager"]["attempts"] == 2
    # The next run measures the failure again (it resumes over what is flagged for retry).
    run_suite(root, [1], a, baselines=("eager",), **kw)
    assert _tasks(a)["level1/2_linear"]["baselines"]["eager"].get("median", 0) > 0


def test_runs_made_apart_merge_keeping_the_first_reading(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Two files from separate runs combine: what the first lacks is taken with its run's provenance,
    what it has stays; a changed problem source, another GPU model or another checkout is refused."""
    root = checkout(tmp_path, {"1_matmul.py": MATMUL, "2_linear.py": LINEAR})
    kw = dict(device="cpu", timing=TIMING, timeout_s=120, log=lambda s: None)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    run_suite(root, [1], a, baselines=("eager",), tasks=["level1/1_matmul"], **kw)
    run_suite(root, [1], b, baselines=("eager", "cuda-graph"), **kw)
    first = _tasks(a)["level1/1_matmul"]["baselines"]["eager"]
    r = repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b))
    assert r.returncode == 0 and "'added': 3, 'kept': 1, 'replaced': 0, 'to_retry': 0" in r.stdout
    data = json.loads(a.read_text())
    matmul, linear = data["tasks"]["level1/1_matmul"], data["tasks"]["level1/2_linear"]
    assert matmul["baselines"]["eager"] == first  # the first reading, not the other file's
    assert matmul["baselines"]["cuda-graph"]["error"] == "CUDA graphs need a GPU"
    assert len(data["runs"]) == 2 and matmul["baselines"]["cuda-graph"]["run"] == 1
    assert linear["baselines"]["eager"]["run"] == 1 and linear["sol_fraction"]["eager"] > 0
    # Merging again adds nothing; a problem whose source changed is left out and counted.
    assert "'added': 0" in repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b)).stdout
    changed = json.loads(b.read_text())
    changed["tasks"]["level1/2_linear"]["problem_sha256"] = "0" * 64
    data["tasks"].pop("level1/2_linear")
    a.write_text(json.dumps(data))
    b.write_text(json.dumps(changed))
    r = repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b))
    assert "'different_source': 0" in r.stdout  # absent from a: taken whole
    data["tasks"]["level1/2_linear"] = {**linear, "baselines": {}}
    a.write_text(json.dumps(data))
    r = repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b))
    assert "'different_source': 1" in r.stdout
    # Other GPU models or checkouts, and a missing file, are refused with the file named.
    changed["runs"][0]["provenance"]["name"] = "NVIDIA A100"
    b.write_text(json.dumps(changed))
    r = repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b))
    assert r.returncode == 2 and "merge only files of one GPU model" in r.stderr and str(b) in r.stderr
    changed["runs"][0]["provenance"]["name"] = data["runs"][0]["provenance"]["name"]
    changed["kernelbench"]["commit"] = "f" * 40
    b.write_text(json.dumps(changed))
    data["kernelbench"]["commit"] = "e" * 40
    a.write_text(json.dumps(data))
    r = repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(b))
    assert r.returncode == 2 and "KernelBench commits differ" in r.stderr
    r = repro_in_process(capsys, "kernelbench", "--out", str(a), "--merge", str(tmp_path / "none.json"))
    assert r.returncode == 2 and "none.json: no such results file" in r.stderr
    r = repro_in_process(capsys, "kernelbench", "--out", str(a))
    assert r.returncode == 2 and "--root: give the KernelBench checkout" in r.stderr


def test_a_copy_that_measured_again_replaces_the_reading_both_copies_held(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Two runs started from copies of one file (say, one re-measuring with `--force` beside one filling
    gaps): a reading the copy measured again replaces the one both held, a gap it filled is added, and
    the shared run is not appended twice. Readings of two unrelated runs still keep the first."""
    root = checkout(tmp_path, {"1_matmul.py": MATMUL, "2_linear.py": LINEAR})
    kw = dict(device="cpu", timing=TIMING, timeout_s=120, log=lambda s: None)
    base, copy = tmp_path / "base.json", tmp_path / "copy.json"
    run_suite(root, [1], base, baselines=("eager",), tasks=["level1/1_matmul"], **kw)
    shutil.copy(base, copy)
    run_suite(root, [1], copy, baselines=("eager",), force=True, **kw)  # matmul again, linear new
    old = _tasks(base)["level1/1_matmul"]["baselines"]["eager"]
    again = _tasks(copy)["level1/1_matmul"]["baselines"]["eager"]
    assert old["run"] == 0 and again["run"] == 1 and again != old
    # Files written before runs had ids: the shared run is known by its provenance and settings.
    for path in (base, copy):
        legacy = json.loads(path.read_text())
        for run in legacy["runs"]:
            run.pop("id")
        path.with_suffix(".legacy.json").write_text(json.dumps(legacy))
    r = repro_in_process(capsys, "kernelbench", "--out", str(tmp_path / "base.legacy.json"),
                         "--merge", str(tmp_path / "copy.legacy.json"))  # fmt: skip
    assert "'added': 1, 'kept': 0, 'replaced': 1, 'to_retry': 0" in r.stdout, r.stdout
    r = repro_in_process(capsys, "kernelbench", "--out", str(base), "--merge", str(copy))
    assert r.returncode == 0 and "'added': 1, 'kept': 0, 'replaced': 1, 'to_retry': 0" in r.stdout, r.stdout
    data = json.loads(base.read_text())
    assert len(data["runs"]) == 2
    assert data["tasks"]["level1/1_matmul"]["baselines"]["eager"] == again
    assert data["tasks"]["level1/2_linear"]["baselines"]["eager"]["run"] == 1
    # Merged back the other way, nothing is shared any more that the copy re-measured: all kept.
    r = repro_in_process(capsys, "kernelbench", "--out", str(copy), "--merge", str(base))
    assert "'replaced': 0" in r.stdout and _tasks(copy)["level1/1_matmul"]["baselines"]["eager"] == again
    # A run that did not start from base (its run 0 is another run) keeps base's first reading.
    fresh = tmp_path / "fresh.json"
    run_suite(root, [1], fresh, baselines=("eager",), tasks=["level1/1_matmul"], **kw)
    r = repro_in_process(capsys, "kernelbench", "--out", str(base), "--merge", str(fresh))
    assert "'kept': 1, 'replaced': 0" in r.stdout
    assert _tasks(base)["level1/1_matmul"]["baselines"]["eager"] == again


# Another worker's shared stretch of device work (building a model, say), 0.8 s long.
SHARING = (
    "import sys, time; from repro.published.kernelbench import gpu_lock\n"
    "with gpu_lock(sys.argv[1], shared=True):\n"
    "    print('in', flush=True); time.sleep(0.8)"
)


def _sharing_elsewhere(lock: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", SHARING, lock], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "in"
    return proc


def _exclusive_possible(lock: str) -> bool:
    """Whether another process could take the lock alone now (a timer's turn)."""
    probe = (
        "import fcntl, sys\nf = open(sys.argv[1], 'a')\n"
        "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(1)"
    )
    return subprocess.run([sys.executable, "-c", probe, lock]).returncode == 0


def test_a_benchmark_inside_a_shared_turn_takes_the_device_alone_and_then_shares_again(
    tmp_path: Path,
) -> None:
    """max-autotune's compile: a benchmark inside the compiled graph's shared turn lets go of it, waits
    for the other workers' shared work to finish, runs with the device alone, then shares again."""
    lock = str(tmp_path / "gpu.lock")
    synced: list[str] = []
    turns = CompileTurns(lock, sync=lambda: synced.append("sync"))
    turns.active = True
    with turns.shared():
        assert not _exclusive_possible(lock)
        other = _sharing_elsewhere(lock)  # shares beside our turn at once
        with turns.benchmark(), turns.benchmark():  # a helper calling another holds the turn once
            assert other.poll() is not None or other.wait(5) == 0  # it had to finish first
        assert not _exclusive_possible(lock)  # shared again
    assert _exclusive_possible(lock)
    stats = turns.stats()
    assert stats["benchmarks"] == 1 and stats["shared_turns"] == 1 and stats["wait_ms"] >= 300, stats
    assert len(synced) >= 3, synced  # before letting go each time: no kernel of ours outlives its turn


def test_a_failing_benchmark_still_gives_the_shared_turn_back(tmp_path: Path) -> None:
    lock = str(tmp_path / "gpu.lock")
    turns = CompileTurns(lock)
    turns.active = True
    with turns.shared():
        with pytest.raises(RuntimeError), turns.benchmark():
            raise RuntimeError("a candidate that does not run: inductor catches it and goes on")
        assert not _exclusive_possible(lock)


def _a_build_inside_the_turn() -> None:
    time.sleep(0.6)  # a kernel built inside a benchmark's turn: every other worker waits for it


def test_a_slow_turn_is_recorded_with_the_stack_of_the_work_inside_it(tmp_path: Path) -> None:
    """A benchmark's turn that lasts long holds every other worker up: the compile's record names its
    longest turn and, for a turn past the threshold, the frames it was in while it held the device."""
    turns = CompileTurns(str(tmp_path / "gpu.lock"))
    turns.slow_turn_s = 0.2
    turns.active = True
    with turns.benchmark():
        pass
    before = turns.stats()
    with turns.benchmark():
        _a_build_inside_the_turn()
    with turns.benchmark():
        pass
    got = turns.since(before)
    assert got["benchmarks"] == 2 and got["held_max_ms"] >= 600, got
    assert len(got["slow_turns"]) == 1, got
    slow = got["slow_turns"][0]
    assert slow["held_ms"] >= 600 and any("_a_build_inside_the_turn" in f for f in slow["stack"]), slow
    assert len(slow["stack"]) <= 14
    assert turns.since(turns.stats())["slow_turns"] == []  # a later compile starts with none


def test_a_kernel_built_inside_a_turn_lets_the_device_go_until_it_is_built(tmp_path: Path) -> None:
    """Inductor loads a template's kernels at their first run, inside the benchmark that times them; a
    load that misses the cache runs `ptxas` there. While it builds, other workers may use the device;
    the turn is taken back before the benchmark goes on, and the build is not counted as held."""
    lock = str(tmp_path / "gpu.lock")
    turns = CompileTurns(lock)
    turns.active = True
    t0 = time.perf_counter()
    with turns.benchmark():
        assert not _exclusive_possible(lock)
        with turns.host_work():
            assert _exclusive_possible(lock)  # another worker's timer could run now
            time.sleep(0.4)
        assert not _exclusive_possible(lock)  # ours again
    whole_ms = (time.perf_counter() - t0) * 1e3
    stats = turns.stats()
    assert stats["host_breaks"] == 1 and stats["host_ms"] >= 400, stats
    assert stats["held_ms"] <= whole_ms - 400, (stats, whole_ms)  # the build was not time holding the device

    with turns.shared():  # the compiled graph's first run builds a kernel: the shared hold is let go too
        with turns.host_work():
            assert _exclusive_possible(lock)
        assert not _exclusive_possible(lock)

    built: list[bool] = []
    with turns.benchmark():  # a build in another thread (inductor's precompile pool) leaves the turn alone
        t = threading.Thread(target=lambda: built.append(_built_elsewhere(turns, lock)))
        t.start()
        t.join()
    assert built == [False]


def _built_elsewhere(turns: CompileTurns, lock: str) -> bool:
    with turns.host_work():
        return _exclusive_possible(lock)


def test_a_host_clock_timing_beside_other_workers_is_measured_again_by_one_worker(tmp_path: Path) -> None:
    """A baseline the harness timed by the host clock, in a run of several workers, counted their CPU
    load: a run of one worker measures it again (a run of several would only repeat it); the other
    baselines, and a host-clock timing made alone, stay."""
    from repro.harness.timing import SIDE_WORK_NOTE

    problems = {"1_mm.py": MATMUL}
    root = checkout(tmp_path, problems)
    out = tmp_path / "out.json"
    kw = dict(device="cpu", baselines=("eager", "compile"), timing=TIMING, timeout_s=120, log=lambda s: None)
    assert run_suite(root, [1], out, workers=2, **kw)["measured"] == 1
    data = json.loads(out.read_text())
    rec = data["tasks"]["level1/1_mm"]["baselines"]
    rec["compile"]["method"] += SIDE_WORK_NOTE  # what a contended timing records
    first = rec["compile"]["median"]
    out.write_text(json.dumps(data))
    assert run_suite(root, [1], out, workers=2, **kw)["measured"] == 0  # beside others again: left as it is
    assert run_suite(root, [1], out, workers=1, **kw)["measured"] == 1
    again = load_results(out)["tasks"]["level1/1_mm"]["baselines"]
    assert SIDE_WORK_NOTE not in again["compile"]["method"]
    assert again["compile"]["run"] == 1  # the second file run: a run that measured nothing is not recorded
    assert again["eager"]["run"] == 0  # only the host-clock baseline was measured again
    assert again["compile"]["median"] != first or again["compile"]["timed_at"] != rec["compile"]["timed_at"]
    data = json.loads(out.read_text())
    data["tasks"]["level1/1_mm"]["baselines"]["compile"]["method"] += SIDE_WORK_NOTE  # alone this time
    out.write_text(json.dumps(data))
    assert run_suite(root, [1], out, workers=1, **kw)["measured"] == 0


def test_a_resumed_run_measures_its_cheap_problems_first_and_the_timed_out_last(tmp_path: Path) -> None:
    """Under a deadline a run finishes as many problems as it can: those measured quickly before go
    first, by their last time, then the never measured, and those that ran out of time last."""
    names = ("1_timed_out", "2_slow", "3_new", "4_quick")
    root = checkout(tmp_path, {f"{n}.py": MATMUL for n in names})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120)
    assert run_suite(root, [1], out, log=lambda s: None, **kw)["measured"] == 4
    data = json.loads(out.read_text())
    tasks = data["tasks"]
    tasks["level1/1_timed_out"]["baselines"]["eager"] = {"error": "the measurement did not finish within 420 s",
                                                         "retry": True}  # fmt: skip
    for key, seconds in (("level1/2_slow", 50.0), ("level1/4_quick", 1.0)):
        tasks[key]["seconds"] = seconds
        tasks[key]["baselines"]["eager"]["retry"] = True
    del tasks["level1/3_new"]
    out.write_text(json.dumps(data))
    lines: list[str] = []
    assert run_suite(root, [1], out, log=lines.append, **kw)["measured"] == 4
    order = [line.split(":")[0] for line in lines if line.startswith("level1/")]
    assert order == ["level1/4_quick", "level1/2_slow", "level1/3_new", "level1/1_timed_out"], lines


def test_workers_share_out_the_hosts_cores_for_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each worker's inductor compiles with its share of the cores (one pool per core in every worker
    starved the benchmarks); one worker, or the user's own setting, is left alone. The run records it."""
    monkeypatch.delenv("TORCHINDUCTOR_COMPILE_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert compile_threads(1) is None
    assert compile_threads(2) == max(1, cores // 2) and compile_threads(10 * cores) == 1
    seen = MATMUL.replace(
        "N = 64",
        "N = 64\nimport os, pathlib\n"
        "pathlib.Path(__file__).with_suffix('.threads').write_text(os.environ.get('TORCHINDUCTOR_COMPILE_THREADS', '-'))",
    )
    root = checkout(tmp_path, {"1_a.py": seen, "2_b.py": seen})
    out = tmp_path / "out.json"
    counts = run_suite(root, [1], out, device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120,
                       workers=2, log=lambda s: None)  # fmt: skip
    assert counts["measured"] == 2
    folder = root / "KernelBench" / "level1"
    assert {(folder / f).read_text() for f in ("1_a.threads", "2_b.threads")} == {str(max(1, cores // 2))}
    data = load_results(out)
    assert data is not None and data["runs"][-1]["compile_threads"] == max(1, cores // 2)
    monkeypatch.setenv("TORCHINDUCTOR_COMPILE_THREADS", "3")
    assert compile_threads(4) is None  # the user's setting reaches the workers unchanged


def test_inactive_turns_take_nothing(tmp_path: Path) -> None:
    """Outside a max-autotune compile (the default-mode compile holds the lock shared by itself) the
    hooks do nothing, so they can never wait on this process's own hold."""
    lock = str(tmp_path / "gpu.lock")
    turns = CompileTurns(lock)
    with gpu_lock(lock, shared=True), turns.shared(), turns.benchmark(), turns.host_work():
        assert not _exclusive_possible(lock)  # inactive: the default compile's shared hold stays
    assert turns.stats() == {"benchmarks": 0, "held_ms": 0.0, "wait_ms": 0.0, "shared_turns": 0,
                             "host_breaks": 0, "host_ms": 0.0}  # fmt: skip


def test_a_compiled_graph_runs_in_a_shared_turn_and_benchmarks_are_wrapped_without_torchs_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pieces hooked in torch itself, on the wrapped path (torch without a benchmark lock hook):
    a real compiled graph's run takes a shared turn; a benchmarker's GPU method takes the device alone;
    installing again replaces the wrappers instead of stacking them."""
    import torch
    from torch._inductor import output_code, select_algorithm
    from torch._inductor import utils as inductor_utils
    from torch._inductor.runtime import benchmarking as bm

    for cls in [c for c in vars(bm).values() if isinstance(c, type) and issubclass(c, bm.Benchmarker)]:
        for name in ("benchmark_gpu", "benchmark_gpu_with_cuda_graph"):
            if name in vars(cls):
                monkeypatch.setattr(cls, name, vars(cls)[name])  # restored after the test
    monkeypatch.setattr(inductor_utils, "do_bench_using_profiling", inductor_utils.do_bench_using_profiling)
    monkeypatch.setattr(output_code.CompiledFxGraph, "__call__", output_code.CompiledFxGraph.__call__)
    selector = select_algorithm.AlgorithmSelectorCache
    monkeypatch.setattr(selector, "benchmark_example_value", vars(selector)["benchmark_example_value"])
    lock = str(tmp_path / "gpu.lock")
    turns = CompileTurns(lock)
    from torch._inductor.runtime import triton_heuristics

    autotuner = triton_heuristics.CachingAutotuner
    monkeypatch.setattr(autotuner, "precompile", vars(autotuner)["precompile"])
    assert install_compile_turns(turns, use_hook=False) == "wrapped"
    assert install_compile_turns(turns, use_hook=False) == "wrapped"
    assert hasattr(autotuner.precompile, "__wrapped_by_kernelatlas__")  # a kernel's build lets the turn go
    turns.active = True
    with pytest.raises(NotImplementedError):
        bm.Benchmarker.benchmark_gpu(bm.benchmarker)  # the base class's: inside the turn, then raises
    assert turns.stats()["benchmarks"] == 1

    fn = torch.compile(lambda x: torch.relu(x) * 2)
    torch._dynamo.reset()
    try:
        assert torch.equal(fn(torch.ones(4)), torch.full((4,), 2.0))
    finally:
        torch._dynamo.reset()
    assert turns.stats()["shared_turns"] >= 1, turns.stats()


def test_torchs_own_benchmark_hook_is_used_where_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torch._inductor import output_code, select_algorithm
    from torch._inductor.runtime import benchmarking as bm

    if not hasattr(bm, "set_gpu_benchmark_lock_context"):
        pytest.skip("this torch has no GPU benchmark lock hook (the wrapped path is tested above)")
    monkeypatch.setattr(output_code.CompiledFxGraph, "__call__", output_code.CompiledFxGraph.__call__)
    selector = select_algorithm.AlgorithmSelectorCache
    monkeypatch.setattr(selector, "benchmark_example_value", vars(selector)["benchmark_example_value"])
    from torch._inductor.runtime import triton_heuristics

    autotuner = triton_heuristics.CachingAutotuner
    monkeypatch.setattr(autotuner, "precompile", vars(autotuner)["precompile"])
    turns = CompileTurns(str(tmp_path / "gpu.lock"))
    previous = bm.set_gpu_benchmark_lock_context(None)
    try:
        assert install_compile_turns(turns) == "hook"
        turns.active = True
        with bm.maybe_gpu_benchmark_lock():
            assert turns._benchmarking  # inside our turn
        assert turns.stats()["benchmarks"] == 1
    finally:
        bm.set_gpu_benchmark_lock_context(previous)


# A worker that waits for the device's lock (told to the parent as the real worker does, or not), then
# measures for real.
WAITING_WORKER = """
import json, sys, time
from pathlib import Path
from repro.published import kernelbench as kb
plan = json.loads(Path(sys.argv[1]).read_text())
out = Path(plan["results"])
def line(msg):
    with open(out, "a") as f:
        f.write(json.dumps(msg) + "\\n")
kb.warm_up(plan["device"], plan.get("lock"))
for key, path, baselines in kb.planned_problems(plan):
    for _ in range(3):
        time.sleep(1.0)
        if TELL:
            line({"waited_ms": 1000.0})
    rec = kb.measure_problem(Path(path), plan["device"], tuple(baselines), plan["timing"], plan["seed"])
    rec["seconds"] = 3.0
    line({"done": key, "record": rec})
"""


@pytest.mark.parametrize("tell", [True, False])
def test_waits_for_the_device_lock_do_not_count_against_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   tell: bool) -> None:  # fmt: skip
    """Three seconds waiting for other workers' turns, against a 2 s timeout: told, the wait extends the
    problem's allowance and it is measured; untold (a hang), it is stopped at the timeout."""
    from repro.published import kernelbench as kb

    monkeypatch.setattr(kb, "_WORKER", f"TELL = {tell}\n" + WAITING_WORKER)
    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    counts = run_suite(root, [1], out, baselines=("eager",), device="cpu", timing=TIMING, timeout_s=2,
                       log=lambda s: None)  # fmt: skip
    matmul = _tasks(out)["level1/1_matmul"]
    if tell:
        assert counts["measured"] == 1 and matmul["baselines"]["eager"]["median"] > 0, (
            counts,
            matmul.get("error"),
        )
    else:
        assert counts["failed"] == 1 and matmul["error"] == "the measurement did not finish within 2 s"


def test_a_wait_for_the_lock_is_told_once_it_is_long_enough(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repro.published import kernelbench as kb

    told: list[float] = []
    monkeypatch.setattr(kb, "_on_wait", told.append)
    lock = str(tmp_path / "gpu.lock")
    with gpu_lock(lock):
        pass  # no wait: nothing told
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from repro.published.kernelbench import gpu_lock\n"
        "with gpu_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(0.6)"), lock],
        stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    with gpu_lock(lock, shared=True) as waited_ms:
        pass
    holder.wait()
    assert len(told) == 1 and told[0] == waited_ms and waited_ms >= kb.WAIT_REPORTED_MS


def _workers_of(run: int) -> list[int]:
    """The kernelbench worker processes under the run's process."""
    found = []
    for pid in procfs.descendants(run):
        try:
            if b"_worker_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:  # gone while reading
            continue
    return found


def _alive(pids: list[int]) -> list[int]:
    """Those of `pids` still running (not zombies waiting for a reaper)."""
    table = procfs.stat_table()
    return [p for p in pids if p in table and table[p][0] != b"Z"]


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_a_run_stopped_from_outside_takes_its_workers_with_it(tmp_path: Path, sig: str) -> None:
    """`timeout` (SIGTERM) or SIGKILL of the run: its workers do not go on compiling and timing on the GPU
    beside the next run; after SIGTERM the run is recorded as interrupted, what it measured is kept, and
    the problems it was measuring are recorded as attempts that ran out of time (how long they ran)."""
    import signal

    # Worker 0 measures 1_matmul, then hangs on 3_hangs; worker 1 hangs on 2_hangs. They hang while the
    # problem file loads, before any device lock is taken (a hang under the shared lock would hold up
    # worker 0's timing until its own timeout).
    hangs = "import time\ntime.sleep(600)\n" + MATMUL
    root = checkout(tmp_path, {"1_matmul.py": MATMUL, "2_hangs.py": hangs, "3_hangs.py": hangs})
    out = tmp_path / "out.json"
    scratch = tmp_path / "scratch"  # the run's work folder lands here: its workers' results lines
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", "kernelbench", "--root", str(root), "--levels", "1", "--out", str(out),
         "--device", "cpu", "--baselines", "eager", "--workers", "2", "--timeout", "300"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )  # fmt: skip

    def hanging() -> set[str]:  # the hanging problems the workers have started
        lines = [
            ln for f in scratch.glob("kernelatlas-kb-*/results-*.jsonl") for ln in f.read_text().splitlines()
        ]
        return {json.loads(ln)["start"] for ln in lines if "hangs" in ln and '"start"' in ln}

    deadline = time.monotonic() + 120
    workers: list[int] = []
    while (
        time.monotonic() < deadline
        and proc.poll() is None
        and (len(workers) < 2 or len(hanging()) < 2 or not out.exists())
    ):
        workers = _workers_of(proc.pid)
        time.sleep(0.1)
    assert out.exists() and len(hanging()) == 2, proc.communicate(timeout=60)[0] if proc.poll() else ""
    assert len(workers) == 2, proc.communicate(timeout=60)[0]
    os.kill(proc.pid, getattr(signal, sig))
    output, _ = proc.communicate(timeout=60)
    gone_by = time.monotonic() + 20
    while time.monotonic() < gone_by and _alive(workers):
        time.sleep(0.1)
    assert not _alive(workers), f"workers {workers} outlived the run stopped by {sig}"
    if sig == "SIGTERM":
        assert proc.returncode == 130, output
        assert "interrupted" in output
        data = load_results(out)
        assert data["runs"][-1]["ended"] == "interrupted"
        assert data["tasks"]["level1/1_matmul"]["baselines"]["eager"]["median"] > 0  # kept
        for key in ("level1/2_hangs", "level1/3_hangs"):
            rec = data["tasks"][key]
            m = re.fullmatch(r"the measurement did not finish within ([0-9.]+) s \(the run was stopped while it ran\)",
                             rec["error"])  # fmt: skip
            assert m and 0 <= float(m.group(1)) < 300, rec
            assert (rec["attempts"], rec["seconds_tried"]) == (1, float(m.group(1)))
        assert _missing(data["tasks"]["level1/2_hangs"], "x", ("eager",), "h") == ("eager",)  # tried again


def test_a_stopped_run_reads_the_problem_in_progress_from_the_workers_own_lines(tmp_path: Path) -> None:
    """The parent reads a worker's lines every 0.2 s; a stop in between must still find the problem the
    worker has just announced (a CI run once lost it so), and skip a line still being written."""
    from repro.published.kernelbench import _unfinished

    lines = tmp_path / "results-0-1.jsonl"
    assert _unfinished(lines) is None  # no file yet
    lines.write_text('{"start": "level1/1_a", "t": 100.5}\n{"done": "level1/1_a", "record": {}}\n')
    assert _unfinished(lines) is None
    lines.write_text(lines.read_text() + '{"start": "level1/2_b", "t": 200.0}\n{"waited_ms": 5000.0}\n{"do')
    assert _unfinished(lines, now=230.0) == ("level1/2_b", 25.0)  # its 5 s of waiting not counted


def test_a_repeated_stop_signal_does_not_cut_the_clean_up_short() -> None:
    """`timeout` and a `pkill` of the same run each send SIGTERM: the first stops the run, and repeats are
    ignored while it records what it was measuring (a second KeyboardInterrupt raised inside that
    clean-up would leave the run and its unfinished problems unrecorded)."""
    import signal

    from repro.commands.kernelbench import _interrupt

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            _interrupt(signal.SIGTERM, None)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGTERM)  # a repeat: nothing happens
    finally:
        for s, h in before.items():
            signal.signal(s, h)


def test_a_worker_starts_no_problem_after_the_runs_deadline_but_its_first(tmp_path: Path) -> None:
    """The deadline is kept inside a worker too: it takes no next problem from the queue (before, a worker
    went on with its whole plan until the deadline plus the timeout). Its first problem is always
    measured: the parent started it before the deadline, and a deadline shorter than the worker's own
    start-up (seconds on a busy host) once left a whole run with nothing measured."""
    from repro.published.kernelbench import _WORKER, queued, write_queue

    plan_path, results, queue = tmp_path / "plan.json", tmp_path / "results.jsonl", tmp_path / "queue"
    root = checkout(tmp_path, {"1_matmul.py": MATMUL, "2_matmul.py": MATMUL})
    stop_at = time.time()  # passed before the worker has imported torch
    write_queue(queue, [(f"level1/{n}", root / "KernelBench" / "level1" / f"{n}.py", ("eager",))
                        for n in ("1_matmul", "2_matmul")])  # fmt: skip
    plan_path.write_text(json.dumps({"device": "cpu", "timing": TIMING, "seed": 42, "results": str(results),
                                     "lock": None, "stop_at": stop_at, "queue": str(queue),
                                     "claimed": str(tmp_path / "mine")}))  # fmt: skip
    r = subprocess.run([sys.executable, "-c", _WORKER, str(plan_path)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [json.loads(x) for x in results.read_text().splitlines()]
    assert [m["start"] for m in lines if "start" in m] == ["level1/1_matmul"]
    assert [m["done"] for m in lines if "done" in m] == ["level1/1_matmul"]
    assert lines[-1] == {"deadline": True}
    assert queued(queue) == 1  # left for the next run


def test_workers_take_the_next_problem_when_free_so_a_slow_one_holds_up_nothing(tmp_path: Path) -> None:
    """Problems are taken from one queue, not dealt out at the start: while one worker spends its time
    on a slow problem, the other takes every other problem, including those that fixed shards
    (`todo[i::2]`) would have queued behind the slow one."""
    out = tmp_path / "out.json"
    # The slow problem waits (60 s at most) until the four others are in the file.
    slow = (f"import json, pathlib, time\nfor _ in range(600):\n    f = pathlib.Path({str(out)!r})\n"
            "    if f.exists() and sum('matmul' in k for k in json.loads(f.read_text())['tasks']) == 4:\n"
            "        break\n    time.sleep(0.1)\n") + MATMUL  # fmt: skip
    root = checkout(tmp_path, {"1_slow.py": slow, **{f"{i}_matmul.py": MATMUL for i in range(2, 6)}})
    lines: list[str] = []
    counts = run_suite(root, [1], out, baselines=("eager",), device="cpu", timing=TIMING, timeout_s=120,
                       workers=2, log=lines.append)  # fmt: skip
    assert counts["measured"] == 5, lines
    finished = [ln.split(":")[0] for ln in lines]
    assert finished[-1] == "level1/1_slow", finished  # the four quick ones all done by the other worker first
    runs = {rec["baselines"]["eager"]["run"] for rec in _tasks(out).values()}
    assert runs == {0}


def test_two_runs_on_one_machine_take_turns_on_the_device(tmp_path: Path) -> None:
    """The device lock belongs to the machine, not to a run: two runs at once (or a run and a stopped
    run's stragglers) never time at the same moment."""
    from repro.published.kernelbench import device_lock_path

    assert device_lock_path("cuda", 0, 1) == device_lock_path("cuda", 0, 6) != device_lock_path("cuda", 1, 6)
    assert device_lock_path("cpu", None, 1) is None
    outs, errors = [], []

    def one(i: int) -> None:
        problems = {f"{j}_mm.py": MATMUL.replace("N = 64", f"N = {32 + 8 * j + i}") for j in (1, 2)}
        root = checkout(tmp_path / f"run{i}", problems)
        out = tmp_path / f"out{i}.json"
        try:
            run_suite(root, [1], out, device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120,
                      workers=2, log=lambda s: None)  # fmt: skip
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        outs.append(out)

    threads = [threading.Thread(target=one, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    spans = sorted(t["baselines"]["eager"]["timed_at"] for out in outs for t in _tasks(out).values())
    assert len(spans) == 4
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"two runs timed at once: {spans}"


def test_busy_gpu_processes_are_named_and_an_unreadable_listing_is_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repro.published.kernelbench import gpu_processes

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\nprintf '4242, python3, 90000\\n{os.getpid()}, python3, 500\\n'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    assert gpu_processes({os.getpid()}) == [{"pid": 4242, "name": "python3", "mib": "90000"}]
    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    with pytest.raises(SuiteError, match=r"in use by pid 4242 \(python3, 90000 MiB\).*--allow-busy-gpu"):
        run_suite(root, [1], tmp_path / "out.json", device="cuda", baselines=("eager",), timing=TIMING,
                  timeout_s=60, log=lambda s: None)  # fmt: skip
    assert not (tmp_path / "out.json").exists()  # refused before anything is written
    smi.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    assert gpu_processes(set()) is None


def test_a_set_aside_reading_outlives_a_failed_attempt_to_measure_it_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky = "import os\nif os.environ.get('KA_TEST_FAIL'):\n    raise RuntimeError('deliberate')\n" + MATMUL
    root = checkout(tmp_path, {"1_flaky.py": flaky})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120, log=lambda s: None)
    run_suite(root, [1], out, **kw)
    before = _tasks(out)["level1/1_flaky"]["baselines"]["eager"]
    r = repro_in_process(capsys, "kernelbench", "--out", str(out), "--set-aside-runs", "0", "--why", "doubt")
    assert r.returncode == 0, r.stderr
    monkeypatch.setenv("KA_TEST_FAIL", "1")
    assert run_suite(root, [1], out, **kw)["failed"] == 1
    failed = _tasks(out)["level1/1_flaky"]["baselines"]["eager"]
    assert "deliberate" in failed["error"] and failed["retry"] and failed["set_aside"] == before


def test_set_aside_runs_are_measured_again_and_their_readings_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = checkout(tmp_path, {"1_matmul.py": MATMUL, "2_linear.py": LINEAR})
    out = tmp_path / "out.json"
    kw = dict(device="cpu", baselines=("eager",), timing=TIMING, timeout_s=120, log=lambda s: None)
    run_suite(root, [1], out, **kw)
    before = _tasks(out)["level1/1_matmul"]["baselines"]["eager"]
    r = repro_in_process(capsys, "kernelbench", "--out", str(out), "--set-aside-runs", "0",
                         "--why", "shared the GPU with a killed run's workers")  # fmt: skip
    assert r.returncode == 0 and "2 baseline(s)" in r.stdout, r.stderr
    data = load_results(out)
    aside = data["tasks"]["level1/1_matmul"]["baselines"]["eager"]
    assert aside["retry"] and aside["set_aside"] == before and "killed run" in aside["error"]
    assert "eager" not in data["tasks"]["level1/1_matmul"]["sol_fraction"]
    assert data["set_aside"][0]["runs"] == [0] and data["set_aside"][0]["baselines"] == 2
    assert run_suite(root, [1], out, **kw)["measured"] == 2  # measured again
    again = _tasks(out)["level1/1_matmul"]["baselines"]["eager"]
    assert again["run"] == 1 and again["median"] > 0 and again["set_aside"] == before  # the old one stays
    for bad, msg in ((["--set-aside-runs", "7", "--why", "x"], "has runs 0 to 1"),
                     (["--set-aside-runs", "0"], "--why"), (["--set-aside-runs", "a"], "give run indices")):  # fmt: skip
        r = repro_in_process(capsys, "kernelbench", "--out", str(out), *bad)
        assert r.returncode == 2 and msg in r.stderr, (bad, r.stderr)
