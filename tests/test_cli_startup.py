"""`--help` and a mistyped argument answer without importing torch: importing it takes seconds, so the
commands import the harness (which imports torch) only once the arguments are checked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from repro.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "triton", "ray")

# Runs each case as `python -m MODULE ARGV...` would, one after another in one fresh interpreter, and
# reports its exit status, its stderr and each heavy import it attempted (with the chain of importers).
# A heavy import is refused, so that it stays out of sys.modules and every case is judged on its own.
RUNNER = """
import contextlib, io, json, runpy, sys, traceback
heavy, tried = tuple(sys.argv[2].split(",")), {}
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in heavy:
            stack = [f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()[:-1]]
            tried.setdefault(name, [s for s in stack if not s.startswith("<")][-8:])
            raise ModuleNotFoundError(f"{name} is refused here", name=name)
sys.meta_path.insert(0, Refuse())
results = []
for module, *argv in json.loads(sys.argv[1]):
    sys.argv, err = [f"python -m {module}", *argv], io.StringIO()
    tried.clear()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code
        except Exception:
            code = traceback.format_exc()
    results.append({"code": code, "stderr": err.getvalue(), "heavy": dict(tried)})
assert not any(m.partition(".")[0] in heavy for m in sys.modules), "a heavy module was imported"
print(json.dumps(results))
"""

MISSING = "/nonexistent/kernelatlas.py"
# (argv, exit status, a piece of the message on stderr)
CASES: list[tuple[list[str], int, str]] = [
    (["repro", "--help"], 0, ""),
    (["repro"], 2, "the following arguments are required: COMMAND"),
    (["repro", "evall"], 2, "unknown command 'evall': did you mean 'eval'?"),
    *((["repro", name, "--help"], 0, "") for name in COMMANDS.names()),
    *((["repro", name, "--no-such-flag"], 2, "error:") for name in COMMANDS.names()),
    (["repro", "run", "--problem", MISSING, "--loop", "evolv", "--proposer", "mutate"], 2,
     "argument --loop: unknown loop 'evolv': did you mean 'evolve'?"),
    (["repro", "eval-suite", "--problems", "smoke", "--candidates", "solutions", "--backend", "rey"], 2,
     "argument --backend: unknown backend 'rey': did you mean 'ray'?"),
    (["repro", "eval", "--problem", MISSING, "--candidate", MISSING, "--timeout", "nan"], 2,
     "argument --timeout: 'nan': give a positive, finite number of seconds"),
    (["repro", "eval", "--problem", MISSING, "--candidate", MISSING], 2, f"error: --problem {MISSING}: no such file"),
    (["repro", "bench-harness", "--problem", MISSING, "--candidate", MISSING], 2,
     f"error: --problem {MISSING}: no such file"),
    (["repro", "eval-suite", "--problems", "smoke", "--candidates", MISSING], 2,
     f"error: --candidates {MISSING}: not a folder (or 'solutions')"),
    (["repro", "audit", "--format", "jsonl", "--release", MISSING, "--policies", "lax"], 2,
     "error: --policies: unknown ['lax']; choose from strict, kernelbench"),
    (["repro", "kernelbench", "--root", MISSING, "--out", MISSING, "--gpus", "0;1"], 2,
     "error: --gpus '0;1': give comma-separated GPU indices, e.g. 0,1"),
    (["repro", "gauntlet", "--workers", "0"], 2, "argument --workers: '0': give at least 1"),
    (["repro", "eval", "--problem", MISSING, "--candidate", MISSING, "--baselines", "eager,graph"], 2,
     "argument --baselines: unknown baseline 'graph': did you mean 'cuda-graph'? (choose from eager, compile, cuda-graph)"),
    (["site_gen", "--help"], 0, ""),
    (["site_gen", "chek"], 2, "invalid choice: 'chek'"),
]  # fmt: skip


@pytest.fixture(scope="module")
def outcomes() -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps([argv for argv, _, _ in CASES]), ",".join(HEAVY)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("case", range(len(CASES)), ids=[" ".join(argv) for argv, _, _ in CASES])
def test_arguments_are_checked_without_torch(outcomes: list[dict], case: int) -> None:
    argv, code, message = CASES[case]
    got = outcomes[case]
    assert not got["heavy"], "imported before the arguments were checked:\n" + "\n".join(
        f"{name} via " + " <- ".join(reversed(chain)) for name, chain in got["heavy"].items()
    )
    assert got["code"] == code, got["stderr"]
    assert message in got["stderr"]
