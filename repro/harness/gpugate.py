"""One device, several candidates at once, timing alone: a reader/writer gate per device.

Several candidate processes may share a GPU (`eval-suite --per-gpu N`): while one compiles its Triton
kernels on the CPU or runs its correctness trials, another may do the same. Timing is the one phase
that must have the device to itself, so the evaluating process (trusted code, never the candidate)
holds the gate on each candidate's behalf:

- *shared* from the moment the candidate's process gets its plan until it asks to start timing, and
  again after timing until the process ends;
- *exclusive* for the timed loop and the parent-clocked batch after it (and for a reference bundle:
  the baselines are timed in it).

Writers are preferred: once a timing waits, no new shared holder gets in, so a stream of starting
candidates cannot starve it; it waits only for the current holders to reach their own timing or their
end. The gate is two `flock` files (a turnstile and the lock) in the cache folder, so evaluating
processes that share a cache (two suites, Ray workers on one host) take turns too; threads of one
process open their own descriptors and take turns the same way.

A candidate process cannot take or skip a turn: the gate is held by its evaluating process. What
it could still do is keep using the device after it asked to be timed (a thread, a child process).
So when a timing starts, every other candidate process of this evaluating process on that device
is stopped (SIGSTOP; its whole tree, which it cannot catch) and continued once the timing is over;
a timed candidate sees an idle device. Time spent waiting at the gate or stopped is added to the
candidate's deadline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

POLL_S = 0.002  # flock has no timeout: non-blocking attempts this far apart


def gate_dir() -> Path:
    from repro.harness import cache

    folder = cache.private_dir() / "gates"
    folder.mkdir(exist_ok=True, mode=0o700)
    return folder


def gate_key(device: str, gpu: int | None) -> str:
    """The device as the machine names it: a GPU index behind CUDA_VISIBLE_DEVICES is mapped back."""
    if device != "cuda":
        return "cpu"
    ids = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    index = gpu or 0
    return f"cuda-{ids[index] if index < len(ids) else index}"


def _take(fd: int, op: int) -> None:
    while True:
        try:
            fcntl.flock(fd, op | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            time.sleep(POLL_S)


class Hold:
    """One holder's place at a device's gate (its own file descriptors, so threads take turns too)."""

    def __init__(self, key: str, folder: Path | None = None) -> None:
        folder = folder or gate_dir()
        self.key = key
        self._turn = os.open(folder / f"{key}.turn", os.O_RDWR | os.O_CREAT, 0o600)
        self._lock = os.open(folder / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        self.mode: str | None = None

    def acquire(self, mode: str) -> float:
        """Take the gate `shared` or `exclusive` (releasing what this holder held); seconds waited."""
        if mode not in ("shared", "exclusive"):
            raise ValueError(f"gate mode {mode!r}: 'shared' or 'exclusive'")
        self.release()
        t0 = time.monotonic()
        _take(self._turn, fcntl.LOCK_EX)  # a waiting writer holds the turnstile: later readers queue
        try:
            _take(self._lock, fcntl.LOCK_EX if mode == "exclusive" else fcntl.LOCK_SH)
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)
        self.mode = mode
        return time.monotonic() - t0

    def release(self) -> None:
        if self.mode is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self.mode = None

    def close(self) -> None:
        if self._turn < 0:
            return  # closed already (an fd number closed twice could be another thread's by then)
        self.release()
        for fd in (self._turn, self._lock):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._turn = self._lock = -1


class Member:
    """A candidate process at a device: how to find its processes (to stop them while another candidate
    is timed), and how long it waited at the gate or was stopped (added to its deadline)."""

    def __init__(self, key: str, pids: Callable[[], list[int]]) -> None:
        self.key = key
        self.pids = pids
        self.waited_s = 0.0
        self.stopped_s = 0.0
        self.timing_window: tuple[float, float] | None = None  # time.time() at start and end of timing
        self.shared = False  # another candidate was on the device (in this process) during the run
        self._stopped: list[int] = []
        self._stopped_at = 0.0

    @property
    def extra_s(self) -> float:
        """Seconds waited at the gate or stopped, a stop still under way included."""
        now_stopped = time.monotonic() - self._stopped_at if self._stopped_at else 0.0
        return self.waited_s + self.stopped_s + now_stopped

    def stop(self) -> None:
        """SIGSTOP every process of this candidate, looking again until no new one appears (a process
        could fork while we look; a stopped one cannot)."""
        seen: set[int] = set()
        for _ in range(20):
            new = [p for p in self.pids() if p not in seen]
            if not new:
                break
            for pid in new:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGSTOP)
                seen.add(pid)
        # A signal is delivered asynchronously: wait (briefly) until each process has actually stopped.
        until = time.monotonic() + 2.0
        pending = set(seen)
        while pending and time.monotonic() < until:
            pending = {p for p in pending if _state(p) not in "TtZX"}
            if pending:
                time.sleep(0.001)
        self._stopped = sorted(seen)
        self._stopped_at = time.monotonic()

    def resume(self) -> None:
        for pid in self._stopped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGCONT)
        if self._stopped_at:
            self.stopped_s += time.monotonic() - self._stopped_at
        self._stopped, self._stopped_at = [], 0.0


_members: dict[str, set[Member]] = {}
_members_lock = threading.Lock()
# Devices on which a thread of this process is timing a candidate: the parent clocks the batch after
# the timed loop on its own clock, so sibling threads hold back their Python-heavy work (`quiet`)
# rather than compete with it for the interpreter.
_timing: dict[str, int] = {}
_timing_changed = threading.Condition()


def _timing_on(key: str, delta: int) -> None:
    with _timing_changed:
        _timing[key] = _timing.get(key, 0) + delta
        _timing_changed.notify_all()


def quiet(device: str, gpu: int | None, timeout_s: float = 60.0) -> float:
    """Wait until no candidate of this process is being timed on the device (at most `timeout_s`);
    the seconds waited. Called before work of the evaluating process's own that would compete with the
    timed candidate's parent for the interpreter (judging outputs, loading a reference bundle)."""
    key = gate_key(device, gpu)
    t0 = time.monotonic()
    with _timing_changed:
        _timing_changed.wait_for(lambda: not _timing.get(key), timeout=timeout_s)
    return time.monotonic() - t0


class Turn:
    """A candidate's use of its device, held by the evaluating process: shared while it starts, compiles
    and runs its trials, exclusive while it is timed (the other candidates on the device stopped).
    `alone`: exclusive for the whole run (a run that ran out of device memory beside another candidate
    is judged again this way, so that a neighbour's memory never decides a verdict)."""

    def __init__(self, device: str, gpu: int | None, pids: Callable[[], list[int]],
                 folder: Path | None = None, alone: bool = False) -> None:  # fmt: skip
        key = gate_key(device, gpu)
        self.member = Member(key, pids)
        self.alone = alone
        self._hold = Hold(key, folder)
        self._others: list[Member] = []

    def start(self) -> None:
        """Before the candidate's process gets its plan (it initialises CUDA once it has it)."""
        self.member.waited_s += self._hold.acquire("exclusive" if self.alone else "shared")
        with _members_lock:
            here = _members.setdefault(self.member.key, set())
            for m in here:
                m.shared = True
            self.member.shared = bool(here)
            here.add(self.member)
        if self.alone:
            self._stop_others()

    def _stop_others(self) -> None:
        with _members_lock:
            self._others = [m for m in _members.get(self.member.key, ()) if m is not self.member]
        for other in self._others:
            other.stop()

    def timing_begin(self) -> None:
        if not self.alone:
            self.member.waited_s += self._hold.acquire("exclusive")
            self._stop_others()
        self.member.timing_window = (time.time(), 0.0)
        _timing_on(self.member.key, +1)

    def timing_end(self) -> None:
        if (
            self._hold.mode != "exclusive"
            or self.member.timing_window is None
            or self.member.timing_window[1]
        ):
            return
        self.member.timing_window = (self.member.timing_window[0], time.time())
        _timing_on(self.member.key, -1)
        if self.alone:
            return
        for other in self._others:
            other.resume()
        self._others = []
        self.member.waited_s += self._hold.acquire("shared")

    def close(self) -> None:
        """The candidate's process is gone: leave the gate (and continue anyone stopped for our timing).
        Closing again does nothing."""
        w = self.member.timing_window
        if w is not None and not w[1]:  # gone while timed
            self.member.timing_window = (w[0], time.time())
            _timing_on(self.member.key, -1)
        for other in self._others:
            other.resume()
        self._others = []
        with _members_lock:
            _members.get(self.member.key, set()).discard(self.member)
        self._hold.close()

    def report(self) -> dict[str, object]:
        w = self.member.timing_window
        return {
            "waited_s": round(self.member.waited_s, 3),
            "stopped_s": round(self.member.stopped_s, 3),
            "timing_window": [round(w[0], 4), round(w[1], 4)] if w and w[1] else None,
            "shared_device": self.member.shared,
            "alone": self.alone,
        }


@contextlib.contextmanager
def exclusive(device: str, gpu: int | None, folder: Path | None = None) -> Iterator[None]:
    """The device to ourselves (a reference bundle times baselines), other candidates here stopped."""
    hold = Hold(gate_key(device, gpu), folder)
    others: list[Member] = []
    try:
        hold.acquire("exclusive")
        with _members_lock:
            others = list(_members.get(hold.key, ()))
        for m in others:
            m.stop()
        yield
    finally:
        for m in others:
            m.resume()
        hold.close()


def _state(pid: int) -> str:
    """A process's state letter from /proc ('T': stopped); 'X' when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0].decode()
    except (OSError, IndexError):
        return "X"
