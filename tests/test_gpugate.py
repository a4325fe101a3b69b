"""The device gate (`repro.harness.gpugate`): timing never overlaps another holder's turn, across real
processes; a waiting timing is not starved by a stream of shared holders; other candidates' processes
are stopped while one is timed and continued after; and two candidates evaluated at once on one device
(CPU path) are timed one after the other."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro.harness import gpugate, procfs

REPO = Path(__file__).resolve().parents[1]

# One process taking turns at the gate: exclusive and shared by turns, logging each holding's
# interval (time.time() at start and end) to a JSON-lines file.
HOLDER = """
import json, sys, time
from pathlib import Path
from repro.harness.gpugate import Hold
folder, log, rounds, hold_s = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
h = Hold("cuda-0", folder)
with open(log, "a") as f:
    for k in range(rounds):
        mode = "exclusive" if k % 2 == 0 else "shared"
        h.acquire(mode)
        t0 = time.time()
        time.sleep(hold_s)
        t1 = time.time()
        h.release()
        f.write(json.dumps({"mode": mode, "t0": t0, "t1": t1}) + "\\n")
        f.flush()
"""


SHARED_ONCE = """
import sys
from pathlib import Path
from repro.harness.gpugate import Hold
h = Hold("cuda-0", Path(sys.argv[1]))
h.acquire("shared")
h.release()
h.close()
"""


def _holder(folder: Path, log: Path, rounds: int, hold_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), str(log), str(rounds), str(hold_s)],
                            cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})  # fmt: skip


def test_exclusive_turns_never_overlap_another_process_turn(tmp_path: Path) -> None:
    logs = [tmp_path / f"p{i}.jsonl" for i in range(3)]
    procs = [_holder(tmp_path, log, 8, 0.03) for log in logs]
    for p in procs:
        assert p.wait(timeout=120) == 0
    spans = [(i, json.loads(line)) for i, log in enumerate(logs) for line in log.read_text().splitlines()]
    assert len(spans) == 24
    for i, a in spans:
        for j, b in spans:
            overlap = a["t0"] < b["t1"] and b["t0"] < a["t1"]
            if i != j and a["mode"] == "exclusive":
                assert not overlap, f"process {i}'s exclusive turn overlapped process {j}'s {b['mode']} turn"


def test_shared_turns_run_together(tmp_path: Path) -> None:
    """The gate is not a plain mutex: while this process holds a shared turn, another process gets a
    shared turn of its own (it would wait for ever behind a mutex)."""
    shared = gpugate.Hold("cuda-0", tmp_path)
    shared.acquire("shared")
    try:
        reader = subprocess.Popen([sys.executable, "-c", SHARED_ONCE, str(tmp_path)], cwd=REPO,
                                  env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})  # fmt: skip
        try:
            code = reader.wait(timeout=60)
        except subprocess.TimeoutExpired:
            reader.kill()
            pytest.fail("a second shared holder waited for the first to let go: the gate acts as a mutex")
        assert code == 0
    finally:
        shared.close()


def test_a_waiting_timing_is_not_starved_by_shared_holders(tmp_path: Path) -> None:
    """Two processes hand a shared turn to each other without a gap (there is always a reader); a
    writer still gets in as soon as the holders of the moment let go."""
    reader = """
import sys, time
from pathlib import Path
from repro.harness.gpugate import Hold
folder, until = Path(sys.argv[1]), float(sys.argv[2])
h = Hold("cuda-0", folder)
while time.time() < until:
    h.acquire("shared")
    time.sleep(0.2)
h.release()
"""
    until = time.time() + 6
    readers = [subprocess.Popen([sys.executable, "-c", reader, str(tmp_path), str(until)], cwd=REPO,
                                env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}) for _ in range(2)]  # fmt: skip
    try:
        time.sleep(1.0)  # both reading, overlapping
        hold = gpugate.Hold("cuda-0", tmp_path)
        waited = hold.acquire("exclusive")
        hold.close()
        assert time.time() < until - 1, "the writer got in only once the readers stopped"
        assert waited < 2.0
    finally:
        for r in readers:
            r.wait(timeout=30)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


def test_other_candidates_processes_are_stopped_while_one_is_timed(tmp_path: Path) -> None:
    # A stand-in candidate: a shell (the warden's place) with a child and a grandchild.
    tree = subprocess.Popen(["/bin/sh", "-c", "sleep 60 & sh -c 'sleep 60' & wait"])
    try:
        deadline = time.time() + 10
        while len(procfs.descendants(tree.pid)) < 3 and time.time() < deadline:
            time.sleep(0.02)
        pids = procfs.descendants(tree.pid)
        assert len(pids) >= 3
        other = gpugate.Turn("cuda", 0, lambda: procfs.descendants(tree.pid), folder=tmp_path)
        timed = gpugate.Turn("cuda", 0, lambda: [], folder=tmp_path)
        other.start()
        timed.start()
        other._hold.release()  # the other candidate asked to be timed too: it waits, its turn let go
        timed.timing_begin()
        assert all(_state(p) == "T" for p in pids), [_state(p) for p in pids]
        assert _state(tree.pid) != "T"  # the warden itself keeps running
        time.sleep(0.1)
        timed.timing_end()
        assert all(_state(p) != "T" for p in pids)
        assert other.member.stopped_s >= 0.1  # added to that candidate's deadline
        assert timed.report()["timing_window"] is not None
        timed.close()
        other.close()
        with pytest.raises(ValueError, match="'shared' or 'exclusive'"):
            gpugate.Hold("cpu", tmp_path).acquire("both")
    finally:
        for pid in procfs.descendants(tree.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        tree.kill()
        tree.wait()


def test_two_candidates_on_one_device_are_timed_one_after_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CPU path's two workers share one device key, as two candidates per GPU do: both correct,
    their timed loops in disjoint intervals, each with its time at the gate reported."""
    from repro.backends.local import LocalBackend
    from repro.harness import EvalSettings

    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    kernels = REPO / "repro" / "gauntlet" / "kernels"
    settings = EvalSettings(device="cpu", correctness_trials=1, timing_iters=8, min_timing_iters=5, warmup=1,
                            baselines=("eager",), timeout_s=120)  # fmt: skip
    source = (kernels / "good_triton.py").read_text()
    with LocalBackend([None, None]) as backend:
        futures = [backend.submit(kernels / "problem_scale_add.py", source, settings) for _ in range(2)]
        results = [f.result(timeout=300) for f in futures]
    assert [r["verdict"] for r in results] == ["correct", "correct"], [r["reason"] for r in results]
    (a0, a1), (b0, b1) = (r["overhead"]["gate"]["timing_window"] for r in results)
    assert a0 < a1 and b0 < b1
    assert a1 <= b0 or b1 <= a0, "the two candidates' timed loops overlapped"


def test_a_run_out_of_memory_beside_another_candidate_is_judged_again_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A neighbour's memory must not decide a verdict: the run that ran out of memory while another
    candidate shared its device is run again with the device to itself (here it fails alone too)."""
    from repro.harness import EvalSettings, evaluate

    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    kernels = REPO / "repro" / "gauntlet" / "kernels"
    settings = EvalSettings(device="cpu", correctness_trials=1, timing_iters=8, min_timing_iters=5, warmup=1,
                            baselines=("eager",), timeout_s=120)  # fmt: skip
    neighbour = gpugate.Turn("cpu", None, lambda: [])
    neighbour.start()
    neighbour._hold.release()  # on the device (registered), waiting for its own timing
    try:
        hog = (kernels / "_honest.py").read_text() + "\n\n" + (kernels / "memory_hog.py").read_text()
        res = evaluate(kernels / "problem_scale_add.py", hog, settings)
    finally:
        neighbour.close()
    assert res.verdict == "runtime_error" and "out of memory" in res.reason
    assert res.overhead["rerun_alone"] and res.overhead["gate"]["alone"] is True


def test_sibling_threads_hold_back_while_a_candidate_is_timed(tmp_path: Path) -> None:
    """The parent clocks the batch after the timed loop: other threads of the evaluating process wait
    (`quiet`) before judging or loading a bundle until the timing on their device is over."""
    import threading

    turn = gpugate.Turn("cuda", 3, lambda: [], folder=tmp_path)
    turn.start()
    turn.timing_begin()
    waited: list[float] = []
    sibling = threading.Thread(target=lambda: waited.append(gpugate.quiet("cuda", 3)))
    sibling.start()
    time.sleep(0.3)
    assert sibling.is_alive()  # still holding back
    assert gpugate.quiet("cuda", 2, timeout_s=1) < 0.1  # another device is not held back
    turn.timing_end()
    sibling.join(timeout=10)
    assert not sibling.is_alive() and waited[0] >= 0.3
    turn.close()
