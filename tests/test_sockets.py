"""A candidate reaches no network, and, running as the evaluating user, cannot connect to that user's
Unix sockets (ssh-agent, gpg-agent, D-Bus, a Docker daemon) by their paths: Landlock covers TCP only
and not connecting by path, so the worker refuses network sockets with a seccomp filter, and new Unix
sockets too unless it runs under a uid of its own."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from repro.harness import EvalSettings
from repro.harness.evaluate import evaluate_policies

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "repro" / "tasks" / "level1" / "01_gelu.py"
SOLUTION = (ROOT / "repro" / "solutions" / "level1" / "01_gelu.py").read_text()
CONNECT = """
import socket as _socket
with __import__("contextlib").suppress(OSError):
    _s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    _s.settimeout(5)
    _s.connect({path!r})
    _s.sendall(b"reached")
    _s.close()
"""


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[Path, list[bytes]]]:
    """A listening socket standing in for the user's agent; yields its path and what reached it."""
    folder = Path(tempfile.mkdtemp(prefix="agent-", dir=tmp_path if len(str(tmp_path)) < 80 else None))
    path = folder / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen()
    server.settimeout(0.2)
    received: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                try:
                    received.append(conn.recv(64) or b"connected")
                except OSError:
                    received.append(b"connected")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path, received
    finally:
        done.set()
        thread.join(5)
        server.close()
        path.unlink(missing_ok=True)
        folder.rmdir()


def _confined(job: Path, code: str) -> dict:
    """Run `code` (which sets `out`) in a fresh interpreter after sandbox_candidate(job)."""
    script = (
        "import json, sys\nfrom pathlib import Path\nfrom repro.harness import isolation\n"
        f"info = isolation.sandbox_candidate(Path({str(job)!r}))\nout = {{}}\n{code}\n"
        "print(json.dumps({'info': info, 'out': out}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_confined_process_cannot_reach_a_socket_of_its_user(
    tmp_path: Path, agent: tuple[Path, list[bytes]]
) -> None:
    path, received = agent
    job = tmp_path / "job"
    job.mkdir()
    got = _confined(
        job,
        "import socket\n"
        "try:\n"
        "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        f"    s.connect({str(path)!r}); s.sendall(b'reached'); s.close(); out['unix'] = 'connected'\n"
        "except OSError as exc:\n"
        "    out['unix'] = type(exc).__name__\n"
        "a, b = socket.socketpair(); a.sendall(b'x'); out['pair'] = b.recv(1).decode()\n",
    )
    assert got["info"]["unix_sockets"] == "refused", got
    assert got["out"] == {"unix": "PermissionError", "pair": "x"}, got
    assert received == []


def test_a_candidate_cannot_reach_a_socket_of_the_evaluating_user(
    tmp_path: Path, agent: tuple[Path, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, received = agent
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    settings = EvalSettings(device="cpu", correctness_trials=1, timing_iters=3, min_timing_iters=2, warmup=0,
                            baselines=("eager",), timeout_s=120)  # fmt: skip
    result = evaluate_policies(PROBLEM, CONNECT.format(path=str(path)) + SOLUTION, {"": settings})[""]
    assert result.verdict == "correct", (result.verdict, result.reason)
    assert received == [], "the candidate reached a Unix socket of the evaluating user"
    iso = result.provenance["isolation"]
    if iso.get("uid") != "own":  # under its own uid, the socket's folder permissions keep it out
        assert iso.get("worker_unix_sockets") == "refused", iso


def test_isolation_off_leaves_unix_sockets_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_ISOLATION", "off")
    got = _confined(tmp_path, "import socket\nsocket.socket(socket.AF_UNIX).close(); out['unix'] = 'made'\n")
    assert got["out"] == {"unix": "made"}
    assert "unix_sockets" not in got["info"] and "network_sockets" not in got["info"]


PROBE = """
import json, socket, sys
from repro.harness import isolation
refused = isolation.refuse_sockets(unix=sys.argv[1] == "unix")
out = {"refused": refused}
for name, fam, kind in [("unix", socket.AF_UNIX, socket.SOCK_STREAM), ("udp", socket.AF_INET, socket.SOCK_DGRAM),
                        ("tcp", socket.AF_INET, socket.SOCK_STREAM), ("udp6", socket.AF_INET6, socket.SOCK_DGRAM),
                        ("netlink", socket.AF_NETLINK, socket.SOCK_RAW)]:
    try:
        socket.socket(fam, kind).close()
        out[name] = "made"
    except OSError as exc:
        out[name] = type(exc).__name__
a, b = socket.socketpair()
a.sendall(b"x")
out["pair"] = b.recv(1).decode()
print(json.dumps(out))
"""


@pytest.mark.parametrize("unix", [True, False])
def test_the_filter_refuses_every_family_but_netlink_and_unix_where_allowed(unix: bool) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, "unix" if unix else "-"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    refused = "PermissionError"
    assert got == {"refused": "refused", "unix": refused if unix else "made", "udp": refused, "tcp": refused,
                   "udp6": refused, "netlink": "made", "pair": "x"}, got  # fmt: skip


def test_a_candidate_sends_nothing_over_udp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Landlock refuses TCP only: a datagram to a loopback listener (a stand-in for any host) would arrive."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    send = (
        "import socket as _socket\n"
        "with __import__('contextlib').suppress(OSError):\n"
        f"    _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM).sendto(b'leaked', ('127.0.0.1', {port}))\n"
    )
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    settings = EvalSettings(device="cpu", correctness_trials=1, timing_iters=3, min_timing_iters=2, warmup=0,
                            baselines=("eager",), timeout_s=120)  # fmt: skip
    try:
        result = evaluate_policies(PROBLEM, send + SOLUTION, {"": settings})[""]
        assert result.verdict == "correct", (result.verdict, result.reason)
        with pytest.raises(TimeoutError):
            listener.recvfrom(64)
    finally:
        listener.close()
    assert result.provenance["isolation"].get("worker_network_sockets") == "refused"


def test_the_filter_leaves_speculation_mitigations_as_they_were() -> None:
    """Kernels before 5.16 force speculative-store-bypass mitigation on a process that installs a seccomp
    filter without SPEC_ALLOW, slowing the candidate's host code against the reference worker's."""
    script = (
        "import json, re\nfrom repro.harness import isolation\n"
        "def status():\n"
        "    text = open('/proc/self/status').read()\n"
        "    return dict(re.findall(r'^(Seccomp|Speculation_Store_Bypass):\\s*(.*)$', text, re.M))\n"
        "before = status()\nrefused = isolation.refuse_sockets()\n"
        "print(json.dumps({'before': before, 'after': status(), 'refused': refused}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["refused"] == "refused" and got["after"]["Seccomp"] == "2", got  # 2: filter mode
    ssb = "Speculation_Store_Bypass"
    assert got["after"].get(ssb) == got["before"].get(ssb), got
