"""The Ray backend on a real local Ray cluster (CPU path): same verdicts as local, no loss when a worker dies.

The cluster is started by `ray start --head --block` in its own process group and torn down by killing
that group, so it never touches another Ray cluster on the machine. Deselect with `-m "not ray"`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from repro.cli import main
from repro.records.ledger import read_jsonl
from repro.runners.gauntlet import kernel_source

ROOT = Path(__file__).resolve().parents[1]
KERNELS = Path(__file__).parents[1] / "repro" / "gauntlet" / "kernels"
TASKS = ROOT / "repro" / "tasks"
FAST = ["--device", "cpu", "--trials", "1", "--timing-iters", "2", "--warmup", "0", "--baselines", "eager",
        "--timeout", "120"]  # fmt: skip
# problem name -> (candidate file in tests/kernels, verdict)
CASES = {"a_good": ("good_triton", "correct"), "b_wrong": ("wrong_output", "incorrect"),
         "c_torch": ("torch_ops", "rejected"), "d_crash": ("segfault_forward", "crash")}  # fmt: skip


# A throw-away cluster on 127.0.0.1: no token authentication, no usage reporting.
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(autouse=True)
def ray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in RAY_ENV.items():
        monkeypatch.setenv(key, value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ray-cache")


@pytest.fixture(scope="module")
def cluster(cache: Path) -> Iterator[str]:
    """A two-CPU Ray head on 127.0.0.1; yields its address."""
    pytest.importorskip("ray")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
    ray_bin = Path(sys.executable).with_name("ray")
    env = {**os.environ, "KERNELATLAS_CACHE": str(cache), **RAY_ENV}
    head = subprocess.Popen(
        [str(ray_bin), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false", "--temp-dir", temp,
         "--ray-client-server-port", str(_free_port()), "--disable-usage-stats"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        for line in head.stdout:
            if "Ray runtime started" in line or time.monotonic() > deadline:
                break
        assert head.poll() is None, "ray start --head exited"
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def suite(tmp_path: Path) -> tuple[Path, Path]:
    """Four copies of the test problem, each with a candidate of a known verdict."""
    problems, candidates = tmp_path / "problems", tmp_path / "candidates"
    problems.mkdir()
    candidates.mkdir()
    for name, (kernel, _) in CASES.items():
        shutil.copy(KERNELS / "problem_scale_add.py", problems / f"{name}.py")
        (candidates / f"{name}.py").write_text(kernel_source(f"{kernel}.py"))
    return problems, candidates


def _eval_suite_args(problems: Path, candidates: Path, out: Path) -> list[str]:
    return [
        "eval-suite",
        "--problems",
        str(problems),
        "--candidates",
        str(candidates),
        "--out",
        str(out),
        *FAST,
    ]


def _verdicts(out: Path) -> dict[str, tuple[str, str]]:
    rows = json.loads((out / "results.json").read_text())["results"]
    return {r["task"].split("/")[-1]: (r["verdict"], r["key"]) for r in rows}


@pytest.mark.ray
def test_same_verdicts_and_trajectories_on_both_backends(
    cluster: str, cache: Path, suite: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KERNELATLAS_CACHE", str(cache))
    problems, candidates = suite
    ray_flags = ["--backend", "ray", "--ray-address", cluster]
    assert main([*_eval_suite_args(problems, candidates, tmp_path / "local"), "--workers", "2"]) == 0
    assert main([*_eval_suite_args(problems, candidates, tmp_path / "ray"), *ray_flags]) == 0
    local, on_ray = _verdicts(tmp_path / "local"), _verdicts(tmp_path / "ray")
    assert {name: v for name, (v, _) in local.items()} == {name: v for name, (_, v) in CASES.items()}
    assert on_ray == local, "the Ray backend judged a candidate differently, or evaluated another set"
    assert json.loads((tmp_path / "ray" / "results.json").read_text())["backend"] == "ray"

    tasks = tmp_path / "tasks"
    tasks.mkdir()
    for name in ("01_gelu.py", "07_row_sum.py"):
        shutil.copy(TASKS / "level1" / name, tasks / name)
    loop = ["run", "--suite", str(tasks), "--loop", "best-of-n", "--proposer", "mutate", "--budget", "1",
            "--quiet"]  # fmt: skip
    assert main([*loop, *FAST, "--out", str(tmp_path / "run-local")]) == 0
    assert main([*loop, *FAST, "--out", str(tmp_path / "run-ray"), *ray_flags]) == 0

    def trajectory(run: Path) -> set[tuple]:
        recs = read_jsonl(run / "trajectory.jsonl")
        return {(r["task"], r["index"], tuple(r["parents"]), r["verdict"], r["source_sha256"]) for r in recs}

    local_traj = trajectory(tmp_path / "run-local")
    assert len(local_traj) == 2 and {v for *_, v, _ in local_traj} == {"correct"}
    assert trajectory(tmp_path / "run-ray") == local_traj


def _ray_worker_running_an_evaluation() -> tuple[int, int] | None:
    """(Ray worker pid, harness worker pid) of an evaluation in flight, read from /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if "repro.harness.worker" not in cmd:
                continue
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            parent = (Path("/proc") / str(ppid) / "cmdline").read_bytes().decode(errors="replace")
            busy = (entry / "cwd" / "plan.json").exists()  # a standby process has no plan yet
        except (OSError, ValueError, IndexError):
            continue
        if parent.startswith("ray::") and busy:
            return ppid, int(entry.name)
    return None


@pytest.mark.ray
def test_killing_a_worker_mid_run_loses_nothing(cluster: str, suite: tuple[Path, Path], tmp_path: Path):
    problems, candidates = suite
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "KERNELATLAS_CACHE"}
    env["KERNELATLAS_CACHE"] = str(tmp_path / "fresh-cache")  # references too are computed on the cluster
    proc = subprocess.Popen(
        [sys.executable, "-m", "repro", *_eval_suite_args(problems, candidates, out), "--backend", "ray",
         "--ray-address", cluster, "--ray-retries", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        killed = _ray_worker_running_an_evaluation()
        time.sleep(0.05)
    assert killed is not None, "never saw an evaluation running in a Ray worker"
    os.kill(killed[0], signal.SIGKILL)
    output, _ = proc.communicate(timeout=240)
    with __import__("contextlib").suppress(ProcessLookupError):
        os.kill(killed[1], signal.SIGKILL)  # the orphaned candidate process of the killed worker
    assert proc.returncode == 0, output
    rows = json.loads((out / "results.json").read_text())["results"]
    assert {r["task"].split("/")[-1]: r["verdict"] for r in rows} == {n: v for n, (_, v) in CASES.items()}
    logged = [r["key"] for r in read_jsonl(out / "evaluations.jsonl")]
    assert len(logged) == len(CASES) == len(set(logged)), "an evaluation was lost or recorded twice"


@pytest.mark.ray
def test_cluster_without_gpus_is_refused_for_cuda(cluster: str, suite, tmp_path: Path, capsys):
    problems, candidates = suite
    args = _eval_suite_args(problems, candidates, tmp_path / "o")
    args[args.index("cpu")] = "cuda"
    assert main([*args, "--backend", "ray", "--ray-address", cluster]) == 2
    assert "has no GPUs for --device cuda" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--ray-address", "127.0.0.1:6379"], "--ray-address needs --backend ray"),
        (["--backend", "ray", "--gpus", "0"], "--gpus applies to --backend local"),
        (["--backend", "ray", "--ray-retries", "-1"], "--ray-retries must be >= 0"),
        (["--backend", "ray", "--ray-address", f"127.0.0.1:{_free_port()}"], "nothing answers there"),
    ],
)
def test_bad_backend_options_are_named(extra: list[str], message: str, suite, tmp_path: Path, capsys):
    problems, candidates = suite
    assert main([*_eval_suite_args(problems, candidates, tmp_path / "o"), *extra]) == 2
    assert message in capsys.readouterr().err


def test_run_refuses_gpu_and_gpus_together(tmp_path: Path, capsys):
    args = ["run", "--problem", str(KERNELS / "problem_scale_add.py"), "--loop", "best-of-n", "--proposer",
            "mutate", "--out", str(tmp_path / "r"), *FAST]  # fmt: skip
    assert main([*args, "--gpu", "0", "--gpus", "0,1"]) == 2
    assert "either --gpu or --gpus" in capsys.readouterr().err
    assert main([*args, "--gpus", "a,b", "--out", str(tmp_path / "r2")]) == 2
    assert "--gpus a,b: expected comma-separated GPU indices" in capsys.readouterr().err


def test_worker_deaths_become_evaluation_lost_and_harness_errors_stay_harness_errors():
    from concurrent.futures import Future

    ray = pytest.importorskip("ray")
    from repro.backends import EvaluationLost
    from repro.backends.ray_backend import settle
    from repro.harness import HarnessError

    def outcome(exc: BaseException) -> BaseException | None:
        done, out = Future(), Future()
        done.set_exception(exc)
        settle(out, done, Path("/p/task.py"), retries=2)
        return out.exception()

    lost = outcome(ray.exceptions.WorkerCrashedError())
    assert isinstance(lost, EvaluationLost)
    assert "/p/task.py" in str(lost) and "died 3 time(s)" in str(lost) and "WorkerCrashedError" in str(lost)
    cause = HarnessError("/p/task.py: the reference model could not be evaluated")
    unwrapped = outcome(ray.exceptions.RayTaskError("evaluate_on_node", "Traceback ...", cause))
    assert type(unwrapped) is HarnessError and str(unwrapped) == str(cause)


def test_repro_works_without_ray(tmp_path: Path, suite):
    """Ray is optional: without it every command still loads, and --backend ray says what to install."""
    problems, candidates = suite
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from repro.cli import main\n"
        f"sys.exit(main({_eval_suite_args(problems, candidates, tmp_path / 'o') + ['--backend', 'ray']!r}))"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "--backend ray needs Ray: pip install 'kernelatlas[ray]'" in res.stderr
