"""Run one worker in its own process group, with secrets scrubbed from its environment and a hard timeout.

Candidate processes are started one ahead ("standby"): while a candidate runs, the next process
already imports torch and initialises CUDA, then waits for its plan on stdin. Each process still
runs exactly one candidate and is killed (with its whole process group) afterwards.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from repro.harness import channel as channel_mod
from repro.harness import gpugate, isolation, procfs

REPO_ROOT = Path(__file__).resolve().parents[2]
SHM_MIN_FREE = 16 << 30  # use /dev/shm for job folders (outputs pass through memory) when this much is free
WARDEN = Path(__file__).with_name("warden.py")
# Host memory a candidate process may map for data (RLIMIT_DATA): the GPU does its work in device memory,
# and an allocation beyond this (touched or not) fails as out of memory. KERNELATLAS_MEMORY_LIMIT_GB
# changes it (0: no limit) for tasks whose CPU path needs more.
MEMORY_LIMIT_BYTES = 16 << 30
# The reference worker keeps every correctness trial's outputs in full (candidates' outputs are compared
# with them at positions drawn after each call): at KernelBench v0 sizes one output can be 4.3 GB, five
# trials 21 GB. It runs the task's own code, never a candidate's, so it may map this many times more.
REFERENCE_MEMORY_FACTOR = 4


def memory_limit_bytes() -> int:
    raw = os.environ.get("KERNELATLAS_MEMORY_LIMIT_GB", "").strip()
    if not raw:
        return MEMORY_LIMIT_BYTES
    try:
        gb = float(raw)
    except ValueError:
        raise ValueError(f"KERNELATLAS_MEMORY_LIMIT_GB={raw!r}: give a number of GiB (0: no limit)") from None
    if gb < 0 or gb != gb:
        raise ValueError(f"KERNELATLAS_MEMORY_LIMIT_GB={raw!r}: give a number of GiB >= 0 (0: no limit)")
    return int(gb * (1 << 30))


def scrubbed_env(device: str, gpu: int | None, home: Path) -> dict[str, str]:
    """An allow-list of the parent's environment (see `isolation.ENV_ALLOW`), pinned to one GPU (or the
    Triton interpreter on CPU), with HOME, the temporary folder and the Triton cache inside the job folder."""
    env = isolation.allowed_env()
    env["HOME"] = str(home)
    env["TMPDIR"] = str(home / "tmp")
    env["TRITON_CACHE_DIR"] = str(home / "triton")
    # The driver's JIT cache would otherwise be created as HOME/.nv, a name the job folder does not expect.
    env["CUDA_CACHE_PATH"] = str(home / "tmp" / "nv")
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONNOUSERSITE"] = "1"
    # The candidate's uid may have no passwd entry: libraries asking getpass.getuser() read these.
    env["USER"] = env["LOGNAME"] = "kernelatlas-candidate"
    if os.environ.get("KERNELATLAS_ISOLATION"):
        env["KERNELATLAS_ISOLATION"] = os.environ["KERNELATLAS_ISOLATION"]
    if device == "cpu":
        env["TRITON_INTERPRET"] = "1"
        env["CUDA_VISIBLE_DEVICES"] = ""
    elif gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(gpu)
    elif "CUDA_VISIBLE_DEVICES" in os.environ:
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    return env


def triton_seed_dir() -> Path:
    """Triton's cache as the reference worker (trusted code only) leaves it: each candidate's job gets a
    copy, never the shared folder itself (a candidate could plant compiled code for a later one's key)."""
    from repro.harness import cache

    return cache.cache_dir() / "triton-seed"


# What of the seed a candidate's job gets: the host modules Triton builds with the system's C compiler
# (its driver, and a launcher per kernel signature, about 1 s each), never the reference's compiled
# kernels. The reference's `torch.compile` baselines fill the seed with those (hundreds of files each);
# copying and handing them over with every candidate cost 1.4-1.9 s a candidate on an H200 host.
SEED_MODULES = ("cuda_utils", "__triton_launcher", "hip_utils")


def copy_triton_seed(seed: Path, dest: Path) -> int:
    """Copy the seed's host-module entries (one folder per cache key) into `dest`; returns how many."""
    copied = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(seed):
            if not entry.is_dir(follow_symlinks=False):
                continue
            names = os.listdir(entry.path)
            if any(n.startswith(SEED_MODULES) and n.endswith(".so") for n in names):
                shutil.copytree(entry.path, dest / entry.name, dirs_exist_ok=True)
                copied += 1
    return copied


def temp_root() -> str | None:
    """KERNELATLAS_TMP, else /dev/shm when roomy (outputs then never touch a disk), else the default."""
    if os.environ.get("KERNELATLAS_TMP"):
        return os.environ["KERNELATLAS_TMP"]
    shm = "/dev/shm"
    with contextlib.suppress(OSError):
        if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= SHM_MIN_FREE:
            return shm
    return None


def _chown_tree(folder: Path, uid: int) -> None:
    for root, dirs, files in os.walk(folder):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def hand_over(folder: Path, uid: int | None) -> None:
    """Give `folder` (and all in it) to a candidate's uid; its parents stay ours but must be traversable."""
    if uid is None:
        return
    _chown_tree(folder, uid)
    for parent in folder.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            raise OSError(
                f"{parent} is not traversable by other users (mode {oct(mode & 0o777)}): the "
                f"candidate's uid cannot reach {folder}; put the work folder under a world-traversable path"
            )


# A job folder nothing has touched for this long, and in which no process works, was left by an
# evaluation that was killed (SIGKILL skips every clean-up).
STALE_JOB_S = 6 * 3600
_swept: set[str] = set()


def sweep_stale_job_dirs(root: str | None = None, max_age_s: float = STALE_JOB_S) -> list[Path]:
    """Remove job folders killed evaluations left in `root` (default: where job folders go): on
    /dev/shm their outputs, up to gigabytes at KernelBench sizes, hold the machine's memory. A folder
    goes only if neither it nor anything in it changed for `max_age_s` and no process works in it."""
    folder = Path(root or temp_root() or tempfile.gettempdir())
    cutoff = time.time() - max_age_s
    removed: list[Path] = []
    busy: set[str] | None = None
    for path in sorted(folder.glob("kernelatlas-*-*")):
        try:
            if not path.is_dir() or path.is_symlink() or _newest_mtime(path) > cutoff:
                continue
        except OSError:
            continue
        if busy is None:
            busy = procfs.working_folders()
        if any(w == str(path) or w.startswith(f"{path}/") for w in busy):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            with contextlib.suppress(OSError):
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def new_job_dir(kind: str) -> Path:
    """A fresh job folder (the first in a process also clears what killed evaluations left there)."""
    root = temp_root()
    key = root or ""
    if key not in _swept:
        _swept.add(key)
        sweep_stale_job_dirs(root)
    return Path(tempfile.mkdtemp(prefix=f"kernelatlas-{kind}-", dir=root))


@dataclass
class ProcessOutcome:
    returncode: int | None  # None: killed on timeout
    timed_out: bool
    wall_s: float
    log_tail: str

    @property
    def signal_name(self) -> str | None:
        if self.returncode is not None and self.returncode < 0:
            try:
                return signal.Signals(-self.returncode).name
            except ValueError:
                return f"signal {-self.returncode}"
        return None


@dataclass
class Worker:
    """A started worker process and its job folder (its working directory and HOME)."""

    proc: subprocess.Popen
    job_dir: Path
    log: IO[bytes]
    standby: bool
    env_key: tuple = ()
    uid: int | None = None  # the candidate's own uid (when the harness runs as root)
    channel: channel_mod.Channel | None = None  # the parent's end (candidates only)


def start_worker(
    device: str,
    gpu: int | None,
    job_dir: Path,
    plan_path: Path | None,
    *,
    candidate: bool = True,
    cpu_s: float | None = None,
    serve: bool = False,
) -> Worker:
    """`python -m repro.harness.worker PLAN` (or `--standby` when no plan yet) under the warden.

    A candidate's worker runs under its own uid when we are root (the job folder is handed to that
    uid); the reference worker runs trusted code only and keeps ours (it writes the cache). With
    `serve` (reference workers only) it runs plan after plan, read from its stdin (`ReferenceServers`)."""
    if serve and (candidate or plan_path is not None):
        raise ValueError("start_worker: only a reference worker without a plan can serve")
    (job_dir / "tmp").mkdir(exist_ok=True)
    seed = triton_seed_dir()
    (job_dir / "triton").mkdir(exist_ok=True)
    if candidate:  # Triton's host modules, built by a trusted process: not rebuilt per job
        copy_triton_seed(seed, job_dir / "triton")
    uid = isolation.new_uid() if candidate else None
    if uid is not None:
        _chown_tree(job_dir, uid)
    log = open(job_dir / "worker.log", "wb")  # noqa: SIM115  (closed in wait())
    if uid is not None:
        os.fchown(log.fileno(), uid, uid)
    env = scrubbed_env(device, gpu, home=job_dir)
    if not candidate:
        env["TRITON_CACHE_DIR"] = str(seed)
    mem = memory_limit_bytes() * (1 if candidate else REFERENCE_MEMORY_FACTOR)
    warden = [sys.executable, "-I", "-S", str(WARDEN), "--mem", str(mem)]
    if uid is not None:
        warden += ["--uid", str(uid)]
    if cpu_s:
        warden += ["--cpu", str(int(cpu_s * max(1, os.cpu_count() or 1)) + 10)]
    mode = "--serve" if serve else "--standby"
    cmd = [sys.executable, "-m", "repro.harness.worker", str(plan_path) if plan_path else mode]
    ends: tuple[int, int] | None = None
    parent_end = None
    if candidate:
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        ends = (to_worker_r, from_worker_w)
        os.set_blocking(to_worker_w, False)  # the parent's writes wait at most until the deadline
        parent_end = channel_mod.Channel(from_worker_r, to_worker_w)
        warden += ["--fds", f"{to_worker_r},{from_worker_w}"]
        cmd += ["--channel", f"{to_worker_r},{from_worker_w}"]
    try:
        proc = subprocess.Popen(
            [*warden, "--", *cmd],
            cwd=job_dir,
            env=env,
            stdin=subprocess.PIPE if plan_path is None else subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=ends or (),
        )
    finally:
        for fd in ends or ():
            os.close(fd)  # the worker's ends live in the worker alone: its exit closes the channel
    return Worker(proc, job_dir, log, standby=plan_path is None, env_key=_env_key(env), uid=uid,
                  channel=parent_end)  # fmt: skip


JOB_DIR_VARIABLES = ("HOME", "TMPDIR", "TRITON_CACHE_DIR", "CUDA_CACHE_PATH")


def _env_key(env: dict[str, str]) -> tuple:
    """The environment a worker was started with, less what names its own job folder (a standby worker
    whose key differs from the current one is stale and replaced)."""
    return tuple(sorted((k, v) for k, v in env.items() if k not in JOB_DIR_VARIABLES))


def wait(
    worker: Worker,
    plan_path: Path | None,
    timeout_s: float,
    serve: Callable[[channel_mod.Channel, float], None] | None = None,
    turn: gpugate.Turn | None = None,
) -> ProcessOutcome:
    """Hand a standby worker its plan, serve its channel and wait, up to `timeout_s` in all; then stop
    it and everything it started. `serve(channel, deadline)` answers the worker until it reports or
    the channel closes, raising TimeoutError at the deadline. With a `turn` (its device's gate, see
    `gpugate`; taken already), time spent waiting at the gate or stopped for another candidate's timing
    does not count towards `timeout_s`, and the turn is left when the worker is gone."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    timed_out = False

    def left() -> float:
        return deadline + (turn.member.extra_s if turn is not None else 0.0) - time.monotonic()

    try:
        if worker.standby:
            assert worker.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                worker.proc.stdin.write(f"{plan_path}\n".encode())
                worker.proc.stdin.close()
        if serve is not None and worker.channel is not None:
            serve(worker.channel, deadline)
        # A channel violation decides the verdict (rejected): the worker is stopped now, not at the deadline.
        while not getattr(serve, "violation", None):
            try:
                worker.proc.wait(timeout=max(0.0, left()))
                break
            except subprocess.TimeoutExpired:
                if left() <= 0:
                    raise
    except (subprocess.TimeoutExpired, TimeoutError):
        timed_out = True
    finally:
        kill(worker)
        if turn is not None:
            turn.close()
    tail = (worker.job_dir / "worker.log").read_bytes()[-3000:].decode("utf-8", "replace")
    returncode = None if timed_out else worker.proc.returncode
    return ProcessOutcome(returncode, timed_out, time.monotonic() - t0, tail)


def kill(worker: Worker) -> None:
    """Stop the worker: its warden kills the worker's group, every descendant and the uid's processes,
    then exits; a warden that does not (it never should) is killed with its group."""
    if worker.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            worker.proc.send_signal(signal.SIGTERM)
        try:
            worker.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait()
    worker.log.close()
    if worker.channel is not None:
        for fd in (worker.channel.rfd, worker.channel.wfd):
            with contextlib.suppress(OSError):
                os.close(fd)
        worker.channel = None


# Candidate processes kept ready per (device, gpu) by default. On CUDA two: a process's start-up (torch's
# import, CUDA's set-up) outlasts a short evaluation, and with one in reserve, started as the previous
# candidate was taken, every other candidate of a back-to-back run waited about 1 s for it (start-up
# 1.24 and 1.29 s against 0.22-0.32 s, alternating, over 5 candidates on an H200 at e403627). On the CPU
# path one: a second process starting beside the candidate's timed loop would take a core from it.
STANDBY_DEPTH = {"cuda": 2, "cpu": 1}


class StandbyPool:
    """Ready-to-go candidate processes per (device, gpu), each replaced as soon as it is taken:
    `STANDBY_DEPTH` by default, as many as `reserve` asks for if more (candidates evaluated at once on that
    device, so that each finds a process whose imports are done)."""

    def __init__(self) -> None:
        self._ready: dict[tuple[str, int | None], list[Worker]] = {}
        self._depth: dict[tuple[str, int | None], int] = {}
        self._lock = threading.Lock()
        self.started = 0  # candidate processes started (for benchmarks and tests)
        atexit.register(self.close)

    def _start(self, device: str, gpu: int | None) -> Worker:
        self.started += 1
        return start_worker(device, gpu, new_job_dir("cand"), None)

    def reserve(self, device: str, gpu: int | None, n: int) -> None:
        """Keep `n` processes ready for (device, gpu), starting them now (their imports then overlap
        whatever comes before the first candidate, such as its reference bundle)."""
        key = (device, gpu)
        with self._lock:
            self._depth[key] = max(STANDBY_DEPTH.get(device, 1), n)
            ready = self._ready.setdefault(key, [])
            while len(ready) < self._depth[key]:
                ready.append(self._start(device, gpu))

    def reserve_lanes(self, device: str, lanes: Sequence[int | None]) -> None:
        """A ready process for each lane: `lanes` holds one GPU index (None on CPU) per candidate evaluated
        at once, a GPU once for each lane sharing it. Starting a candidate process (its torch import and
        CUDA set-up) takes seconds; with a warm standby per lane, every lane's next candidate finds one
        whose start-up is done instead of waiting for it."""
        for gpu in dict.fromkeys(lanes):
            self.reserve(device, gpu if device == "cuda" else None, lanes.count(gpu))

    def take(self, device: str, gpu: int | None, *, replace: bool = True) -> Worker:
        """A ready process for (device, gpu), started now if none is. With `replace` (the default) the
        ready processes are topped up again for the next candidate; without it (no candidate follows in
        this process, e.g. `python -m repro eval`) none is started, as it would only be killed at exit."""
        key = (device, gpu)
        with self._lock:
            ready = self._ready.setdefault(key, [])
            current = _env_key(scrubbed_env(device, gpu, home=Path("/")))
            worker = None
            while ready and worker is None:
                worker = ready.pop(0)
                stale = worker.env_key != current  # environment changed since
                if stale or worker.proc.poll() is not None:  # or died while waiting
                    kill(worker)
                    shutil.rmtree(worker.job_dir, ignore_errors=True)
                    worker = None
            if worker is None:
                worker = self._start(device, gpu)
            while replace and len(ready) < self._depth.get(key, STANDBY_DEPTH.get(device, 1)):
                ready.append(self._start(device, gpu))
        return worker

    def close(self) -> None:
        with self._lock:
            for ready in self._ready.values():
                for worker in ready:
                    kill(worker)
                    shutil.rmtree(worker.job_dir, ignore_errors=True)
            self._ready.clear()


POOL = StandbyPool()


class ReferenceServers:
    """One warm reference worker per (device, gpu), kept across tasks when enabled (`enabled`), so a
    task's reference bundle costs its own work and not a process start-up and CUDA initialisation.

    The reference role runs the task's own code and the harness's; candidates never run in it. A
    server that times out or dies is killed and replaced; one whose state changed (see
    `worker.serve_references`) retires by itself after its report. Disabled, `run` starts one
    process per job, as before."""

    def __init__(self) -> None:
        self.enabled = False
        self._servers: dict[tuple[str, int | None], Worker] = {}
        self._locks: dict[tuple[str, int | None], threading.Lock] = {}
        self._lock = threading.Lock()
        self.started = 0  # server processes started (for benchmarks and tests)
        atexit.register(self.close)

    def run(
        self, device: str, gpu: int | None, job_dir: Path, plan_path: Path, timeout_s: float
    ) -> ProcessOutcome:
        """Run one reference plan (its report lands in `job_dir`); the outcome of that job alone."""
        if not self.enabled:
            worker = start_worker(device, gpu, job_dir, plan_path, candidate=False)
            return wait(worker, plan_path, timeout_s)
        key = (device, gpu)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            return self._run(key, job_dir, plan_path, timeout_s)

    def _run(
        self, key: tuple[str, int | None], job_dir: Path, plan_path: Path, timeout_s: float
    ) -> ProcessOutcome:
        device, gpu = key
        env = scrubbed_env(device, gpu, home=Path("/"))
        env["TRITON_CACHE_DIR"] = str(triton_seed_dir())
        current = _server_key(env)
        server = self._servers.pop(key, None)
        if server is not None and (server.env_key != current or server.proc.poll() is not None):
            self._drop(server)
            server = None
        if server is None:
            server = start_worker(device, gpu, new_job_dir("refsrv"), None, candidate=False, serve=True)
            server.env_key = current
            self.started += 1
        log = server.job_dir / "worker.log"
        offset = log.stat().st_size if log.exists() else 0
        t0 = time.monotonic()
        report = job_dir / "report.json"
        timed_out = False
        try:
            assert server.proc.stdin is not None
            server.proc.stdin.write(f"{plan_path}\n".encode())
            server.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died meanwhile: reported below as the process's exit
        while not report.exists() and server.proc.poll() is None:
            if time.monotonic() - t0 > timeout_s:
                timed_out = True
                break
            time.sleep(0.01)
        wall = time.monotonic() - t0
        done = report.exists()
        tail = _log_tail(log, offset)
        if done and not _retiring(report):
            self._servers[key] = server
            return ProcessOutcome(0, False, wall, tail)
        if done:  # it exits by itself after this report
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(timeout=30)
        self._drop(server)
        return ProcessOutcome(0 if done else server.proc.returncode, timed_out and not done, wall, tail)

    def _drop(self, server: Worker) -> None:
        if server.proc.stdin is not None:
            with contextlib.suppress(OSError):
                server.proc.stdin.close()
        kill(server)
        shutil.rmtree(server.job_dir, ignore_errors=True)

    def close(self) -> None:
        """Stop every server (at exit, or when a run is over)."""
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            self._drop(server)


def _server_key(env: dict[str, str]) -> tuple:
    return tuple(sorted((k, v) for k, v in env.items() if k not in ("HOME", "TMPDIR")))


def _log_tail(log: Path, offset: int) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            return f.read()[-3000:].decode("utf-8", "replace")
    except OSError:
        return ""


def _retiring(report: Path) -> bool:
    import json

    try:
        return bool(((json.loads(report.read_text()).get("server")) or {}).get("retire"))
    except (OSError, ValueError, AttributeError):
        return True


REFERENCES = ReferenceServers()
