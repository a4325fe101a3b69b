"""Run `python -m site_gen` as a user would: a real process, optionally with a directory made
read-only or a cap on the size of files it may write (what a full disk looks like)."""

from __future__ import annotations

import functools
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from site_gen.kb.paths import REPO_ROOT

# As root, permissions do not stop writes: a read-only bind mount in a private mount namespace does.
_READ_ONLY_MOUNT = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'


@functools.cache
def _namespaces_work() -> bool:
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


def _limit_file_size(max_bytes: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))


def run_cli(
    *args: str | Path,
    read_only: Path | None = None,
    max_file_bytes: int | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m site_gen ARGS` with this checkout's code; `read_only` cannot be written to."""
    command = [sys.executable, "-B", "-m", "site_gen", *map(str, args)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    restore = None
    if read_only is not None:
        if os.geteuid() != 0:
            restore = read_only.stat().st_mode
            read_only.chmod(0o555)
        elif _namespaces_work():
            command = ["unshare", "--mount", "sh", "-c", _READ_ONLY_MOUNT, str(read_only), *command]
        else:
            pytest.skip("as root, a read-only directory needs mount namespaces (unshare --mount)")
    preexec = functools.partial(_limit_file_size, max_file_bytes) if max_file_bytes else None
    try:
        return subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=cwd, preexec_fn=preexec, timeout=300
        )
    finally:
        if restore is not None and read_only is not None:
            read_only.chmod(restore)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a failed command printed on stderr (no traceback)."""
    assert result.returncode != 0, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def repro_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m repro ARGS` through its entry point in this process: the exit status and output a shell
    would see, without a process's start-up (seconds each), for tests that check many option errors."""
    from repro.cli import main

    capsys.readouterr()
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's own errors
        status = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), status, captured.out, captured.err)
