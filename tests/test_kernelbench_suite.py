"""`python -m repro kernelbench` on the CPU path: fixture problems in KernelBench's layout, written here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro.published.kernelbench import discover, run_suite
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


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))


def test_discover_in_numeric_order_and_errors(tmp_path: Path) -> None:
    root = checkout(tmp_path, {"10_b.py": MATMUL, "2_a.py": MATMUL, "notes.txt": ""})
    assert [k for k, _ in discover(root, [1])] == ["level1/2_a", "level1/10_b"]
    with pytest.raises(SuiteError, match="no KernelBench/level2 folder"):
        discover(root, [2])


def test_suite_counts_flops_and_bytes_times_and_resumes(tmp_path: Path) -> None:
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
    assert mm["baselines"]["cuda-graph"] == {"error": "CUDA graphs need a GPU"}
    assert mm["bound"] in ("compute", "memory") and mm["sol_fraction"]["eager"] > 0
    assert "deliberate" in broken["error"]
    assert data["peaks"]["copy_bytes_per_s"] > 0 and data["provenance"]["torch"]
    again = run_suite(root, [1], out, **kw)
    assert (again["skipped"], again["measured"]) == (2, 0)  # the failed one is tried again
    (root / "KernelBench" / "level1" / "1_matmul.py").write_text(MATMUL.replace("N = 64", "N = 32"))
    third = run_suite(root, [1], out, **kw)
    assert third["measured"] == 1 and load_results(out)["tasks"]["level1/1_matmul"]["flops"] == 2 * 32**3


def test_a_hanging_problem_is_recorded_and_the_next_still_runs(tmp_path: Path) -> None:
    root = checkout(tmp_path, {"1_hangs.py": HANGS, "2_matmul.py": MATMUL})
    out = tmp_path / "out.json"
    counts = run_suite(root, [1], out, device="cpu", baselines=("eager",), timing=TIMING, timeout_s=10,
                       log=lambda s: None)  # fmt: skip
    tasks = load_results(out)["tasks"]
    assert counts["failed"] == 1 and "did not finish within 10 s" in tasks["level1/1_hangs"]["error"]
    assert tasks["level1/2_matmul"]["baselines"]["eager"]["median"] > 0


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


def test_rederive_and_command_errors(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    out.write_text(json.dumps({"format": "kernelatlas-kernelbench-baselines", "format_version": 1,
                               "peaks": {"copy_bytes_per_s": 1e12, "flops_per_s": {"float32": 1e12}},
                               "tasks": {"level1/1_x": {"flops": 1e9, "bytes": 1e6, "dtype": "float32",
                                                        "baselines": {"eager": {"median": 2.0}}}}}))  # fmt: skip
    assert rederive(out) == 1
    assert json.loads(out.read_text())["tasks"]["level1/1_x"]["sol_fraction"]["eager"] == pytest.approx(0.5)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "repro", "kernelbench", *args], capture_output=True,
                              text=True, cwd=ROOT, timeout=120)  # fmt: skip

    r = run("--root", str(tmp_path), "--out", str(tmp_path / "o.json"), "--device", "cpu")
    assert r.returncode == 2 and "no KernelBench/level1 folder" in r.stderr
    r = run("--root", str(tmp_path), "--out", str(out), "--baselines", "eager,fast")
    assert r.returncode == 2 and "unknown ['fast']" in r.stderr
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    root = checkout(tmp_path, {"1_matmul.py": MATMUL})
    r = run("--root", str(root), "--levels", "1", "--out", str(tmp_path / "bad.json"), "--device", "cpu")
    assert r.returncode == 2 and "expected 'kernelatlas-kernelbench-baselines'" in r.stderr
