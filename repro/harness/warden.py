"""The warden: starts one worker process and, when it ends, kills everything it left behind.

Run as `python -I -S warden.py [--uid N] [--mem BYTES] [--cpu SECONDS] [--fds A,B] -- CMD...`
(standard library only, no site-packages: it starts in milliseconds and runs no candidate code).

It makes itself a child subreaper, so any process the worker starts (a double fork, a `setsid`
daemon) that outlives its parent is re-parented here rather than to init; once the worker exits,
or the warden is told to stop (SIGTERM, or its own parent dies), it kills the worker's process
group, every remaining descendant, and, when the worker ran under its own uid, every process of
that uid. It then ends the way the worker ended (same exit status, or killed by the same signal), so
the evaluating process sees the worker's own outcome.

In the child, before `exec`: a new session; resource limits (address space for data, CPU seconds,
processes when under its own uid, file size, no core files); then, when `--uid` is given (the
warden runs as root), no supplementary groups, the uid and gid, and `no_new_privs`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38


class _Stop(Exception):
    pass


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _children(me: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(name))
    return found


def _kill_uid(uid: int) -> None:
    """Every process of `uid` (kill(-1) from a process of that uid signals all of them)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _sweep(child: int, uid: int | None) -> None:
    """Kill the worker's group, its descendants (all re-parented here) and its uid's processes."""
    me = os.getpid()
    for _ in range(1000):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGKILL)
        if uid is not None:
            _kill_uid(uid)
        left = _children(me)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                break
        if not left:
            time.sleep(0.005)


def _limit(kind: int, value: int) -> None:
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            resource.setrlimit(kind, (min(value, hard), hard))


def main(argv: list[str]) -> None:
    uid = mem = cpu = None
    fds: list[int] = []
    i = 0
    while argv[i] != "--":
        flag, value = argv[i], argv[i + 1]
        if flag == "--uid":
            uid = int(value)
        elif flag == "--mem":
            mem = int(value)
        elif flag == "--cpu":
            cpu = int(value)
        elif flag == "--fds":
            fds = [int(x) for x in value.split(",") if x]
        i += 2
    cmd = argv[i + 1 :]
    parent = os.getppid()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)

    def stop(signum: int, frame: object) -> None:
        raise _Stop

    def check_parent(signum: int, frame: object) -> None:
        # Polled, not PR_SET_PDEATHSIG: that fires when the *thread* that started us exits, and the
        # evaluating process starts standby workers from threads that may end before the worker is used.
        if os.getppid() != parent:
            raise _Stop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, stop)
    signal.signal(signal.SIGALRM, check_parent)
    if os.getppid() != parent:
        sys.exit(1)
    child = os.fork()
    if child == 0:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
                signal.signal(s, signal.SIG_DFL)
            os.setsid()
            for fd in fds:
                os.set_inheritable(fd, True)
            _limit(resource.RLIMIT_CORE, 0)
            _limit(resource.RLIMIT_FSIZE, 8 << 30)
            if mem:
                _limit(resource.RLIMIT_DATA, mem)
            if cpu:
                _limit(resource.RLIMIT_CPU, cpu)
            if uid is not None:
                _limit(resource.RLIMIT_NPROC, 2048)  # counted per uid: this one is the candidate's alone
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
            os.execv(cmd[0], cmd)
        except BaseException as exc:  # noqa: BLE001  (report anything, then leave)
            os.write(2, f"warden: cannot start the worker: {exc!r}\n".encode())
        os._exit(127)
    for fd in fds:
        os.close(fd)  # only the worker holds its channel ends: its exit closes the channel
    status = None
    signal.setitimer(signal.ITIMER_REAL, 0.25, 0.25)
    try:
        while status is None:
            pid, st = os.waitpid(child, 0)
            if pid == child:
                status = st
    except _Stop:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _sweep(child, uid)
    if os.getppid() != parent and os.path.basename(os.getcwd()).startswith("kernelatlas-cand-"):
        shutil.rmtree(os.getcwd(), ignore_errors=True)  # the evaluating process died: nobody else will
    if status is None:
        sys.exit(137)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        time.sleep(1)
    sys.exit(os.waitstatus_to_exitcode(status) if not os.WIFSIGNALED(status) else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
