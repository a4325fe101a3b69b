"""A folder handed to one candidate (its prebuilt extension) is writable by it; nothing else outside its
job folder is (where Landlock or a separate uid enforces file access)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repro.harness import EvalSettings, isolation
from repro.harness.evaluate import evaluate_policies

ROOT = Path(__file__).resolve().parents[1]
PROBLEM = ROOT / "repro" / "tasks" / "level1" / "01_gelu.py"
SOLUTION = (ROOT / "repro" / "solutions" / "level1" / "01_gelu.py").read_text()
PROBE = """
import os as _os
for _folder in ({own!r}, {other!r}):
    _fd = None
    _name = _os.path.join(_folder, "written-by-candidate")
    with __import__("contextlib").suppress(OSError):
        _fd = _os.open(_name, _os.O_WRONLY | _os.O_CREAT, 0o644)
    if _fd is not None:
        _os.close(_fd)
"""


def test_only_the_handed_over_folder_is_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    separate_uid = os.geteuid() == 0 and isolation.uid_blocker() is None
    if isolation.landlock_abi() < 1 and not separate_uid:
        pytest.skip("no Landlock and no separate uid here: the candidate can write what this user can")
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    own, other = tmp_path / "build-own", tmp_path / "build-other"
    own.mkdir()
    other.mkdir()
    (own / "main.cpp").write_text("// prebuilt\n")
    settings = EvalSettings(device="cpu", correctness_trials=1, timing_iters=3, min_timing_iters=2, warmup=0,
                            baselines=("eager",), timeout_s=120)  # fmt: skip
    source = PROBE.format(own=str(own), other=str(other)) + SOLUTION
    result = evaluate_policies(PROBLEM, source, {"": settings}, writable=(own,))[""]
    assert result.verdict == "correct", (result.verdict, result.reason)
    assert (own / "written-by-candidate").exists()
    assert not (other / "written-by-candidate").exists()
    assert os.access(own / "main.cpp", os.R_OK)  # still readable here after the hand-over
