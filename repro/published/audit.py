"""Audit a release: judge every released kernel under each policy and write the ledger row by row.

Throughput at KernelBench scale. Kernels built with `torch.utils.cpp_extension` (`load_inline`) spend
most of their evaluation compiling, so those builds run first, in parallel on the host's CPU cores
(`build_workers` processes with no GPU visible), each into a build folder of its own; the GPU meanwhile
judges the kernels that need no build. The candidate then runs with `TORCH_EXTENSIONS_DIR` pointed at
its built folder (a two-line prologue ahead of its source), so the harness's process loads the built
module instead of compiling it again.

A build the prebuild saw fail at the compiler is not compiled again either (most released kernels fail to
build on a newer torch, catch the error and fall back to PyTorch). The prebuild records, per `load_inline`/
`load` call, a key of everything that decides the build's outcome (`repro.harness.buildreplay`: arguments,
sources' text, what they include, include folders, the environment, the compilers, torch) beside its outcome
and output. The candidate's worker installs, before importing the kernel, a hook under which a call with
the same key runs torch's code up to its ninja step, which raises torch's own build error instead
(`RuntimeError("Error building extension '<name>': <the compiler's output>")`, when that output is a
compiler diagnostic and nothing about the machine); any other call builds as before. The record is written by the kernel's own code, so it is trusted for nothing: the hook only
raises, in the kernel's own call, what that call would raise, and never returns a module, so a forged record
can only make that kernel's own build fail (which its code could do by raising); the hook's module is under
the tamper snapshot, and what it reports (`timing_s.build.replayed_in_candidate`, `missed_in_candidate`:
which part of the key differed) is a note, never read to judge. A successful `load` whose sources the
prebuild wrote elsewhere (a fresh temporary folder) is pointed at the prebuild's files when their content is
the same, so torch finds its build up to date (`redirected_in_candidate`).

Each kernel runs in one candidate process judged under both policies (`evaluate_policies`: the run
allows PyTorch ops, the worker marks where the strict rules would have stopped, and each tolerance is
applied to the same outputs), so no kernel needs a second candidate process. (`derived_from` marks the
kernelbench records of earlier ledgers that repeated a strict run.) The reference bundle of each
task comes from one warm reference process per GPU (`sandbox.REFERENCES`), not a fresh process per
task. With several GPUs, one lane per GPU judges different kernels at once into the same ledger.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import hashlib
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeGuard

from repro import pysource
from repro.harness import buildreplay
from repro.harness.opcheck import ALWAYS_ALLOWED
from repro.harness.settings import EvalSettings
from repro.published import policies as pol
from repro.published.releases import PublishedKernel, Release
from repro.records import published_ledger as ledger_mod
from repro.records.provenance import git_commit

BUILD_MARKERS = ("load_inline", "cpp_extension")
REASON_CHARS = 400


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def needs_build(source: str) -> bool:
    """Whether the source calls `load_inline` or `load` (a mention in a comment or a string builds nothing);
    a source that does not parse is judged by its words."""
    if not any(m in source for m in BUILD_MARKERS):
        return False
    try:
        return any(is_build_call(node) for node in ast.walk(pysource.parse(source)))
    except (SyntaxError, ValueError):
        return True


def task_slug(task: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", task).strip("_")


PREBUILD_RECORD = "prebuild.json"  # what the prebuild's process wrote about each build call, in its folder
RECORD_MAX_BYTES = 16 << 20  # a larger record (the release's code can write it) is not read
ERROR_LINES = 8


def is_build_call(node: ast.AST) -> TypeGuard[ast.Call]:
    """A call of `load_inline`, or of `load` with its keywords (`sources=`, `name=`: not `json.load`)."""
    if not isinstance(node, ast.Call):
        return False
    name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
    return name == "load_inline" or (
        name == "load" and any(k.arg in ("sources", "name") for k in node.keywords)
    )


def without_build_directory(source: str) -> str:
    """The source with every `build_directory=` of a `load_inline`/`load` call made `None`, so the module is
    built under `TORCH_EXTENSIONS_DIR/<name>` in the prebuild and in the candidate alike (a folder named
    relative to the working folder or to `__file__` differs between the two processes, and may not exist
    in the prebuild's). Line numbers are kept."""
    try:
        tree = pysource.parse(source)
    except SyntaxError:
        return source
    spans = [
        kw.value
        for node in ast.walk(tree)
        if is_build_call(node)
        for kw in node.keywords
        if kw.arg == "build_directory" and not (isinstance(kw.value, ast.Constant) and kw.value.value is None)
    ]
    lines = [line.encode() for line in source.splitlines(keepends=True)]
    for v in sorted(spans, key=lambda v: (v.lineno, v.col_offset), reverse=True):
        first, last = v.lineno - 1, (v.end_lineno or v.lineno) - 1
        end_col = v.end_col_offset if v.end_col_offset is not None else len(lines[last])
        # the offsets are in bytes of UTF-8; the newlines of a multi-line value are kept
        lines[first : last + 1] = [
            lines[first][: v.col_offset] + b"None" + b"\n" * (last - first) + lines[last][end_col:]
        ]
    return b"".join(lines).decode()


def with_build_dir(source: str, build_dir: Path, arch: str) -> str:
    """The source with a prologue naming its build folder (after any `from __future__` imports)."""
    prologue = (
        "import os as _kernelatlas_os\n"
        f"_kernelatlas_os.environ['TORCH_EXTENSIONS_DIR'] = {str(build_dir)!r}\n"
        + (f"_kernelatlas_os.environ['TORCH_CUDA_ARCH_LIST'] = {arch!r}\n" if arch else "")
    )
    try:
        body = pysource.parse(source).body
    except SyntaxError:
        return source  # the harness reports the syntax error with the original line numbers
    after = 0
    for i, node in enumerate(body):
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            after = node.end_lineno or node.lineno
        elif not (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    lines = source.splitlines(keepends=True)
    return "".join(lines[:after]) + prologue + "".join(lines[after:])


# A compiler's, linker's or ninja's line that says what went wrong (the echoed commands do not).
_ERROR_LINE = re.compile(
    r"\berror\b|fatal|FAILED:|cannot find|undefined reference|undefined symbol|No such file|"
    r"Permission denied|not found|Killed|cannot execute|out of memory|Segmentation fault",
    re.IGNORECASE,
)
_COMMAND_LINE = re.compile(r"^\s*\[\d+/\d+\]\s| -o \S| -isystem |^ninja: build stopped")


def compiler_errors(text: str, limit: int = ERROR_LINES) -> list[str]:
    """The first lines of a build's output that state an error (nvcc, g++, ld, ninja), without the echoed
    compiler commands, each cut to 300 characters: what a log tail of the same output loses first."""
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or _COMMAND_LINE.search(line) or not _ERROR_LINE.search(line):
            continue
        line = line[:300]
        if line not in found:
            found.append(line)
        if len(found) >= limit:
            break
    return found


def build_cause(info: dict[str, Any]) -> str:
    """One word for where a prebuild stopped, to count them: built, timeout, not_reached (no build call was
    reached: the replay of the source failed first), compile, link, tool (compiler, ninja or CUDA missing
    or unusable), load (built, but the module would not import), other."""
    if info.get("ok"):
        return "built"
    if info.get("timed_out"):
        return "timeout"
    failed = [e for e in info.get("extensions") or [] if not e.get("ok")]
    if not failed:
        return "not_reached"
    text = "\n".join(info.get("errors") or []) + "\n" + "\n".join(str(e.get("error", "")) for e in failed)
    if re.search(r"cannot find -l|undefined reference|ld returned|collect2", text):
        return "link"
    if re.search(r"not found|Ninja is required|CUDA_HOME|cannot execute|No CUDA|nvcc fatal|mismatch", text):
        return "tool"
    if re.search(r"\berror\b", text, re.IGNORECASE):
        return "compile"
    if re.search(r"ImportError|undefined symbol", text):
        return "load"
    return "other"


def clear_stale_locks(build_dir: Path) -> list[Path]:
    """Remove torch's build locks (`<extension folder>/lock`) from a kernel's build folder. A build process
    that was killed leaves its lock, and every later build of that extension waits on it for good: three
    prebuilds stopped at one audit's deadline then spent whole later runs waiting. Only the kernel's own
    prebuild and then its candidate use the folder, one after the other, so between them a lock is stale."""
    gone = [p for p in build_dir.rglob("lock") if p.is_file()]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def prebuild(source_file: Path, build_dir: Path, arch: str, timeout_s: float, *,
             confined: bool = True, whole_env: bool = False) -> dict[str, Any]:  # fmt: skip
    """Build the kernel's `load_inline`/`load` modules into `build_dir` in a process with no GPU: import it
    (module-level calls), then evaluate each call made inside a function (at construction or first
    forward) with the module's globals and the function's imports, assignments and call statements
    (e.g. `os.makedirs`). What cannot be built here the harness builds.

    The kernel's code runs confined as a candidate is (`repro/harness/README.md`): under the warden (memory
    cap, nothing left behind), its own uid when we are root, the allow-listed environment, and Landlock
    with only `build_dir` writable. `confined=False` (same user, no Landlock) and `whole_env` (this
    process's whole environment): diagnostics for our own probe source, never for a release's code.

    Returns ok (every build call reached succeeded, and there was one), seconds, `extensions` (each
    call's name, ok, seconds), `errors` (the compiler's first error lines), `cause` (`build_cause`)
    and the output's last lines (`log_tail`). Kernels often catch a failed build and fall back to
    PyTorch, so success is read from each call's outcome, not from the exit status."""
    from repro.harness import isolation, sandbox

    (build_dir / "tmp").mkdir(parents=True, exist_ok=True)
    clear_stale_locks(build_dir)
    record = build_dir / PREBUILD_RECORD
    record.unlink(missing_ok=True)
    env = dict(os.environ) if whole_env else isolation.allowed_env()
    env.update(TORCH_EXTENSIONS_DIR=str(build_dir), CUDA_VISIBLE_DEVICES="", MAX_JOBS="2",
               PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1", PYTHONPATH=str(sandbox.REPO_ROOT),
               HOME=str(build_dir), TMPDIR=str(build_dir / "tmp"), USER="kernelatlas-candidate",
               LOGNAME="kernelatlas-candidate")  # fmt: skip
    if arch:
        env["TORCH_CUDA_ARCH_LIST"] = arch
    if not confined:
        env["KERNELATLAS_ISOLATION"] = "off"
    warden = [sys.executable, "-I", "-S", str(sandbox.WARDEN), "--mem", str(sandbox.memory_limit_bytes())]
    uid = isolation.new_uid() if confined and isolation.mode() != "off" else None
    t0 = time.monotonic()
    if uid is not None:
        try:
            sandbox.hand_over(build_dir, uid)  # its parents must be traversable by that uid
        except OSError as exc:
            return {"ok": False, "seconds": 0.0, "extensions": [], "errors": [str(exc)], "log_tail": "",
                    "cause": "not_reached"}  # fmt: skip
        warden += ["--uid", str(uid)]
    proc = subprocess.Popen(
        [*warden, "--", sys.executable, "-c", _PREBUILD, str(source_file)], cwd=build_dir, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    with _BUILDS_LOCK:
        _BUILDS.add(proc)
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        out = out or ""
    except subprocess.TimeoutExpired:
        _kill(proc)
        timed_out, out = True, ""
    finally:
        with _BUILDS_LOCK:
            _BUILDS.discard(proc)
        clear_stale_locks(build_dir)  # a build killed at a timeout or deadline leaves torch's lock behind
    extensions: list[dict[str, Any]] = []
    with contextlib.suppress(OSError, ValueError, RecursionError):  # written by the release's code
        if record.stat().st_size <= RECORD_MAX_BYTES:
            extensions = [e for e in json.loads(record.read_text()) if isinstance(e, dict)]
    errors: list[str] = [f"build did not finish within {timeout_s:g} s"] if timed_out else []
    for e in extensions:
        if not e.get("ok"):
            # a verbose build's compiler output was streamed (kept as `output`), not put in its error
            text = str(e.get("error") or "") + "\n" + str(e.get("output") or "")
            errors += compiler_errors(text) or [str(e.get("error") or "")[:300]]
    # where the replay stopped short of a build (the import, or a call it could not evaluate)
    errors += [
        line[:300]
        for line in out.splitlines()
        if line.startswith(("import: ", "call at line ")) and "Error building extension" not in line
    ]  # a failed build's own error lines are kept above
    if not extensions and not timed_out:
        errors = errors or compiler_errors(out) or ["no load_inline/load call was reached by the prebuild"]
    ok = not timed_out and proc.returncode == 0 and bool(extensions) and all(e.get("ok") for e in extensions)
    replay = buildreplay.sanitize(extensions)
    info: dict[str, Any] = {
        "ok": ok,
        "seconds": round(time.monotonic() - t0, 1),
        "extensions": [{k: e.get(k) for k in ("name", "ok", "seconds")} for e in extensions],
        "errors": list(dict.fromkeys(errors))[:ERROR_LINES],
        "log_tail": out[-600:],
        **({"timed_out": True} if timed_out else {}),
        # failures at the compiler the candidate replays; successful `load`s it may find under other paths
        "replay": replay,
        "replayable": [r["name"] for r in replay if not r["ok"]],
    }
    info["cause"] = build_cause(info)
    return info


_BUILDS: set[subprocess.Popen] = set()
_BUILDS_LOCK = threading.Lock()


def _kill(proc: subprocess.Popen) -> None:
    """Ask the warden to stop the build (it kills the compiler and everything else the build started),
    then kill the warden's own group should it not exit."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def stop_builds() -> None:
    """Kill the builds still running (their process groups), e.g. when the deadline is reached."""
    with _BUILDS_LOCK:
        running = list(_BUILDS)
    for proc in running:
        _kill(proc)


_PREBUILD = r"""
import ast, importlib.util, json, os, sys, time, types
from pathlib import Path
import torch.utils.cpp_extension  # many kernels call it by its dotted name without importing it
from repro.harness import buildreplay, isolation
from repro.published.audit import is_build_call as is_build
path = sys.argv[1]
# No GPU is visible here, but the candidate will have one: kernels guard their build with
# `if torch.cuda.is_available():` (often at module level) and read the capability to pick flags.
torch.cuda.is_available = lambda: True
_arch = os.environ.get("TORCH_CUDA_ARCH_LIST", "").split(";")[-1].replace("+PTX", "")
if _arch.replace(".", "").isdigit() and "." in _arch:
    _capability = tuple(int(x) for x in _arch.split(".")[:2])
    torch.cuda.get_device_capability = lambda device=None: _capability
RECORD = os.path.join(os.getcwd(), "prebuild.json")  # the kernel may change the working folder
confined = isolation.sandbox_candidate(Path(os.getcwd()))  # only the build folder is writable from here on
if confined.get("note"):
    print("prebuild: " + confined["note"])
# Each build call's outcome, written after each call: kernels often catch a failed build (and fall back
# to PyTorch), so neither the exit status nor the output says whether the module was built.
BUILDS = []
def _record(entry):
    BUILDS.append(entry)
    with open(RECORD + ".tmp", "w") as f:
        json.dump(BUILDS, f)
    os.replace(RECORD + ".tmp", RECORD)
# With each outcome, what decided it (`buildreplay.recording`, taken before the build): the candidate's
# process replays a failure at the compiler for a call with the same key instead of compiling again.
for _name in buildreplay.KINDS:
    setattr(torch.utils.cpp_extension, _name,
            buildreplay.recording(_name, getattr(torch.utils.cpp_extension, _name), _record))
spec = importlib.util.spec_from_file_location("kernelatlas_prebuild", path)
module = importlib.util.module_from_spec(spec)
sys.modules["kernelatlas_prebuild"] = module
failed = False
try:
    spec.loader.exec_module(module)  # module-level load_inline calls build here
except Exception as exc:
    failed = True
    print(f"import: {type(exc).__name__}: {str(exc)[:300]}")
# load_inline calls inside functions run at construction or first call, often on the GPU: build them
# here by evaluating each call with the module's globals after replaying, in source order, the
# function's imports, assignments, `with` blocks and call statements (sources are often built in local
# variables or on `self`, written to files, their folders made with `os.makedirs`).
tree = ast.parse(open(path).read())
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
STEPS = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.With)
owner = {m: c for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for m in c.body if isinstance(m, FUNCS)}
def is_step(n):
    if isinstance(n, ast.Expr):
        return isinstance(n.value, ast.Call)
    return isinstance(n, STEPS)
def steps_of(fn):
    found = [n for n in ast.walk(fn) if is_step(n) and not any(is_build(c) for c in ast.walk(n))]
    inside = {id(c) for w in found if isinstance(w, ast.With) for s in w.body for c in ast.walk(s)}
    return sorted((n for n in found if id(n) not in inside), key=lambda n: (n.lineno, n.col_offset))
for fn in [n for n in ast.walk(tree) if isinstance(n, FUNCS)]:
    calls = [n for n in ast.walk(fn) if is_build(n)]
    if not calls:
        continue
    scope = dict(vars(module))
    # `self` is an instance of the method's class made without running its __init__ (so the class's other
    # methods can be called, e.g. one that returns the CUDA source), or a bare namespace.
    cls = vars(module).get(owner[fn].name) if fn in owner else None
    try:
        scope["self"] = cls.__new__(cls)
        if isinstance(scope["self"], torch.nn.Module):
            torch.nn.Module.__init__(scope["self"])
    except Exception:
        scope["self"] = types.SimpleNamespace()
    # A method's sources often sit on `self`, set by another method (usually __init__): the class's
    # other methods are replayed first, in source order, then the function's own steps.
    others = [m for m in (owner[fn].body if fn in owner else []) if isinstance(m, FUNCS) and m is not fn]
    for node in [n for m in others for n in steps_of(m)] + steps_of(fn):
        try:
            exec(compile(ast.Module([node], []), path, "exec"), scope)
        except Exception:
            pass
    for node in sorted(calls, key=lambda n: n.lineno):
        try:
            eval(compile(ast.Expression(node), path, "eval"), scope)
        except Exception as exc:
            failed = True
            print(f"call at line {node.lineno}: {type(exc).__name__}: {str(exc)[:300]}")
sys.exit(1 if failed else 0)
"""


def build_summary(info: dict[str, Any]) -> dict[str, Any]:
    """The part of a prebuild's outcome kept in the ledger row (`timing_s.build`)."""
    keep = ("ok", "seconds", "cause", "extensions") + (
        () if info["ok"] else ("errors", "log_tail", "replayable")
    )
    out = {k: info[k] for k in keep if k in info}
    if "log_tail" in out:
        out["log_tail"] = out["log_tail"][-300:]
    return out


# A known-good extension (a few lines of CUDA and C++): where it fails to build, every kernel's build fails
# for the machine's or the confinement's reasons, not the kernel's.
PROBE_SOURCE = '''import torch
from torch.utils.cpp_extension import load_inline

CUDA = r"""
__global__ void kernelatlas_probe_add_one(float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += 1.0f;
}
void add_one(torch::Tensor x) {
    kernelatlas_probe_add_one<<<(x.numel() + 255) / 256, 256>>>(x.data_ptr<float>(), (int)x.numel());
}
"""
probe = load_inline(name="kernelatlas_probe", cpp_sources="void add_one(torch::Tensor x);", cuda_sources=CUDA,
                    functions=["add_one"])
'''


PROBE_VARIANTS = (
    ("confined", True, False),
    ("unconfined", False, False),
    ("unconfined_whole_env", False, True),
)


def build_environment() -> dict[str, Any]:
    """What a prebuild finds on this machine: torch and its CUDA, the compilers and ninja on the PATH the
    build inherits, CUDA_HOME, the arch list and the isolation layers, for reading a failed build."""
    import shutil

    import torch

    from repro.harness import isolation

    path = isolation.allowed_env().get("PATH", "")

    def first_line(cmd: list[str], last: bool = False) -> str | None:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip().splitlines()
        except (OSError, subprocess.SubprocessError):
            return None
        return (out[-1] if last else out[0]) if out else None

    tools = {name: shutil.which(name, path=path) for name in ("nvcc", "c++", "gcc", "g++", "ninja")}
    cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    nvcc = str(Path(cuda_home, "bin", "nvcc")) if cuda_home else tools["nvcc"] or "/usr/local/cuda/bin/nvcc"
    return {
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "CUDA_HOME": cuda_home,
        "CC": os.environ.get("CC"),
        "CXX": os.environ.get("CXX"),
        "TORCH_CUDA_ARCH_LIST": os.environ.get("TORCH_CUDA_ARCH_LIST"),
        "PATH": path,
        "tools": tools,
        "nvcc_version": first_line([nvcc, "--version"], last=True),
        "cxx_version": first_line([tools["c++"] or "c++", "--version"]),
        "gcc_version": first_line([tools["gcc"] or "gcc", "--version"]),  # nvcc's host compiler
        "passed_on": sorted(k for k in isolation.allowed_env() if k != "PATH"),
        # compiler-related variables of this environment that the build does not get (names only)
        "not_passed_on": sorted(
            k
            for k in os.environ
            if k not in isolation.allowed_env()
            and re.match(
                r"(NVCC|CUDA|CC$|CXX$|GCC|CPATH|C_INCLUDE|CPLUS_INCLUDE|LIBRARY_PATH|LD_|NINJA|MAX_JOBS)", k
            )
        ),
        "isolation": {
            "mode": isolation.mode(),
            "landlock_abi": isolation.landlock_abi(),
            "euid": os.geteuid(),
            "separate_uid": os.geteuid() == 0 and isolation.uid_blocker() is None,
            "uid_blocker": isolation.uid_blocker() if os.geteuid() == 0 else None,
        },  # fmt: skip
    }


def prebuild_report(kernels: list[PublishedKernel], work_dir: Path, out: Path, *, arch: str, workers: int,
                    timeout_s: float, probe: bool = True, log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """Prebuild the `load_inline` kernels of `kernels` `workers` at a time, judging none, and write each
    outcome to `out` (JSON, rewritten after each build): a check of all prebuilds that needs no GPU time.
    With `probe`, a known-good extension is built too: confined; where that fails, without uid and
    Landlock; then with the whole environment (which layer breaks every build). Called again with the same
    `out`, it keeps the outcomes of an earlier call at the same commit and builds the rest."""
    from repro.records.files import write_json_atomic
    from repro.records.provenance import utc_now

    todo = [k for k in kernels if k.kernel_source and needs_build(k.kernel_source)]
    order = {k.task: i for i, k in enumerate(todo)}
    report: dict[str, Any] = {
        "format": "kernelatlas-prebuilds",
        "version": 1,
        "date": utc_now(),
        "git": git_commit(),
        "arch": arch,
        "workers": workers,
        "timeout_s": timeout_s,
        "environment": build_environment(),
        "probe": {},
        "kernels": [],
    }
    # Resumable: a report of an earlier call (same commit and architecture) keeps its kernels' outcomes.
    with contextlib.suppress(OSError, ValueError):
        old = json.loads(out.read_text())
        if (old.get("format"), old.get("arch"), (old.get("git") or {}).get("commit")) == (
            report["format"],
            arch,
            report["git"].get("commit"),
        ):
            shas = {k.task: sha256(k.kernel_source or "") for k in todo}
            report["kernels"] = [
                r for r in old.get("kernels") or [] if shas.get(r.get("task")) == r.get("kernel_sha256")
            ]
            report["probe"] = old.get("probe") or {}
    kept = {r["task"] for r in report["kernels"]}
    probe = probe and not any(v.get("ok") for v in report["probe"].values())
    lock = threading.Lock()
    t0 = time.monotonic()

    def save() -> None:
        rows = sorted(report["kernels"], key=lambda r: order[r["task"]])
        causes: dict[str, int] = {}
        for r in rows:
            causes[r["cause"]] = causes.get(r["cause"], 0) + 1
        report["kernels"] = rows
        report["summary"] = {"kernels": len(todo), "done": len(rows), "built": causes.get("built", 0),
                             "by_cause": dict(sorted(causes.items())),
                             "seconds": round(time.monotonic() - t0, 1)}  # fmt: skip
        write_json_atomic(out, report)

    def lines(info: dict[str, Any]) -> str:
        return "".join(f"\n    {line}" for line in info["errors"][:4])

    def build_probe() -> None:
        # confined as the kernels are; then without uid and Landlock; then with the whole environment too
        for which, confined, whole_env in PROBE_VARIANTS:
            folder = (work_dir / "builds" / f"probe-{which}").resolve()
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "kernel_source.py").write_text(PROBE_SOURCE)
            info = prebuild(folder / "kernel_source.py", folder, arch, timeout_s, confined=confined,
                            whole_env=whole_env)  # fmt: skip
            with lock:
                report["probe"][which] = info
                save()
            log(f"  probe ({which}): {info['cause']} in {info['seconds']} s" + lines(info))
            if info["ok"]:
                break

    def one(k: PublishedKernel) -> None:
        folder = (work_dir / "builds" / sha256(k.kernel_source or "")[:16]).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "kernel_source.py").write_text(without_build_directory(k.kernel_source or ""))
        info = prebuild(folder / "kernel_source.py", folder, arch, timeout_s)
        with lock:
            report["kernels"].append({"task": k.task, "kernel_sha256": sha256(k.kernel_source or ""),
                                      "build_dir": str(folder),
                                      **{k: v for k, v in info.items() if k != "replay"}})  # fmt: skip
            save()
        log(f"  {k.task}: {info['cause']} in {info['seconds']} s" + lines(info))

    save()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        jobs = [pool.submit(one, k) for k in todo if k.task not in kept]
        for f in ([pool.submit(build_probe)] if probe else []) + jobs:
            f.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_builds()
    save()
    return report


def ninja_state(build_dir: Path) -> dict[str, tuple[int, str]]:
    """Per extension folder under `build_dir`: lines in `.ninja_log` (ninja appends one per target it
    builds) and the `build.ninja` text, to tell afterwards whether the candidate rebuilt and why."""
    state: dict[str, tuple[int, str]] = {}
    for ninja in build_dir.glob("*/build.ninja"):
        log = ninja.parent / ".ninja_log"
        with contextlib.suppress(OSError):
            lines = len(log.read_text(errors="replace").splitlines()) if log.is_file() else 0
            state[ninja.parent.name] = (lines, ninja.read_text(errors="replace"))
    return state


def rebuild_report(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> dict[str, Any]:
    """What the candidate's own run compiled beyond the prebuild: extension folders it built anew or
    rebuilt, and the first lines of `build.ninja` that differ from the prebuild's (the likely cause)."""
    import difflib

    rebuilt = sorted(n for n, (lines, _) in after.items() if lines > before.get(n, (0, ""))[0])
    changed: list[str] = []
    for name in rebuilt:
        old = before.get(name, (0, ""))[1]
        if old and old != after[name][1]:
            diff = difflib.unified_diff(old.splitlines(), after[name][1].splitlines(), lineterm="", n=0)
            changed += [
                f"{name}: {line[:300]}"
                for line in diff
                if line[:1] in "+-" and line[:3] not in ("+++", "---")
            ][:6]
    return {"rebuilt_in_candidate": rebuilt, "build_ninja_changes": changed}


def gpu_arch() -> str:
    """'9.0' for an H100/H200: the compute capability of GPU 0, read without initialising CUDA here."""
    if os.environ.get("TORCH_CUDA_ARCH_LIST"):
        return os.environ["TORCH_CUDA_ARCH_LIST"]
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
        first = out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""
        return first if re.fullmatch(r"\d+\.\d+", first) else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _policy_record(res: Any, claim: Any) -> dict[str, Any]:
    d = res.to_dict() if hasattr(res, "to_dict") else res
    claim_value = claim.value if claim else None
    claim_metric = claim.metric if claim else "speedup"
    speedup = d.get("speedup") if d["verdict"] == "correct" else None
    base = d.get("baseline") or "eager"
    record = {
        "verdict": d["verdict"],
        "reason": (d.get("reason") or "")[:REASON_CHARS],
        "status": pol.status(d["verdict"], d.get("reason") or "", speedup, claim_value, claim_metric),
        "speedup": speedup,
        "baseline": base,
        "candidate_ms": (d.get("candidate_ms") or {}).get("median"),
        "baseline_ms": ((d.get("baseline_ms") or {}).get(base) or {}).get("median"),
        "sol_fraction": d.get("sol_fraction"),
        "library_ops": sorted(op for op in (d.get("ops") or {}) if op not in ALWAYS_ALLOWED),
        "wall_s": (d.get("overhead") or {}).get("wall_s"),
        "reference_s": (d.get("overhead") or {}).get("reference_s"),
        "candidate_process_s": (d.get("overhead") or {}).get("candidate_process_s"),
    }
    # Every other baseline timed beside it (`--baselines eager,cuda-graph`): its median and the speedup
    # over it, for an accepted kernel only (as `speedup`).
    if speedup is not None:
        others = {k: {"ms": b["median"], "speedup": (d.get("speedups") or {}).get(k)}
                  for k, b in (d.get("baseline_ms") or {}).items()
                  if k != base and isinstance(b, dict) and b.get("median")}  # fmt: skip
        if others:
            record["other_baselines"] = others
    return record


def _row_provenance(prov: dict[str, Any], settings_hash: str) -> dict[str, Any]:
    keep = ("name", "capability", "driver", "cuda", "torch", "triton", "python", "date", "git",
            "harness_version")  # fmt: skip
    return {**{k: prov.get(k) for k in keep}, "settings_hash": settings_hash}


def restatus(row: dict[str, Any]) -> None:
    """Derive each policy's status again from its verdict, reason and speedup with today's rules (a status
    is a reading of the measurement, so a sharper name for a refusal reaches rows measured before it)."""
    claim = row.get("claim") or {}
    for p in row["policies"].values():
        if p.get("verdict") not in (None, "not_released", "reference_failed") and "reason" in p:
            p["status"] = pol.status(p["verdict"], p.get("reason") or "", p.get("speedup"), claim.get("value"),
                                     claim.get("metric", "speedup"))  # fmt: skip


def refresh(ledger: dict[str, Any], release: Release, out: Path) -> bool:
    """Bring a ledger of `release` up to date without measuring: where the release was read from this time
    and where each kernel sits in it (metadata, not results), and each row's status (`restatus`).
    LedgerError if the ledger was written for other bytes. Returns whether anything changed."""
    old = ledger["release"].get("sha256")
    if old != release.sha256:
        raise ledger_mod.LedgerError(
            f"{out}: written for another release file (sha256 {str(old)[:12]}, this one "
            f"{release.sha256[:12]}); give another --out, or delete the file to start over"
        )
    before = json.dumps([ledger["release"], ledger["rows"]], sort_keys=True)
    ledger["release"].update(release.info())
    origins = {k.task: k.origin for k in release.kernels}
    for row in ledger["rows"]:
        row["origin"] = origins.get(row["task"], row.get("origin"))
        restatus(row)
    return json.dumps([ledger["release"], ledger["rows"]], sort_keys=True) != before


READING_KEYS = ("speedup", "candidate_ms", "baseline_ms", "verdict")


def reading_of(record: dict[str, Any], row: dict[str, Any], run: int) -> dict[str, Any]:
    """One process's reading of a policy, as `readings` keeps it: the measured figures, the verdict (its
    reason where it refused), when and at which commit it was taken, and its ordinal (`run`, 1 first)."""
    prov = row.get("provenance") or {}
    out = {k: record.get(k) for k in READING_KEYS}
    if record.get("verdict") != "correct":
        out["reason"] = record.get("reason") or ""
    return {**out, "date": prov.get("date"), "commit": (prov.get("git") or {}).get("commit"), "run": run}


def combine_readings(
    record: dict[str, Any], readings: list[dict[str, Any]], claim: dict[str, Any] | None
) -> None:
    """Set a policy's verdict, speedup and status from its readings (`audit --retime`), in place.

    Where every reading accepted the kernel, the row carries the median reading (the lower of the two
    middle ones for an even count: an actual reading, and the slower one), its candidate and baseline
    times, and the status the claim earns at that speedup. Where the readings' verdicts differ, the row
    keeps the latest refusing reading's verdict, reason and status (no speedup), and `verdict_readings`
    counts the verdicts (wherever they differ, two kinds of refusal too), so one accepting run never
    hides another's refusal. `spread` is the largest accepted speedup over the smallest, where two or
    more readings measured one."""
    claim = claim or {}
    speeds = sorted(s for r in readings if r.get("verdict") == "correct" and (s := r.get("speedup")))
    refused = [r for r in readings if r.get("verdict") != "correct"]
    record["readings"] = readings
    record.pop("verdict_readings", None)
    record.pop("spread", None)
    if len(speeds) >= 2:
        record["spread"] = round(speeds[-1] / speeds[0], 3)
    if len({r.get("verdict") for r in readings}) > 1:
        record["verdict_readings"] = dict(Counter(r["verdict"] for r in readings))
    if refused:
        chosen = refused[-1]
    else:
        median = statistics.median_low(speeds) if speeds else None
        chosen = next((r for r in reversed(readings) if r.get("speedup") == median), readings[-1])
    record.update({k: chosen.get(k) for k in READING_KEYS})
    if refused:
        record["reason"] = chosen.get("reason") or ""
    if record["verdict"] != "correct":
        record["speedup"] = None
    record["status"] = pol.status(record["verdict"], record.get("reason") or "", record["speedup"],
                                  claim.get("value"), claim.get("metric", "speedup"))  # fmt: skip


def add_reading(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new`'s measurement as one more reading of `old`'s row: each policy keeps its earlier readings (the
    first is the row's values from before readings were kept) and follows `combine_readings`; the row's
    provenance and timings are the newest run's; a policy not judged this time keeps its record."""
    row = {**new, "policies": dict(old["policies"])}
    for name, rec in new["policies"].items():
        before = old["policies"].get(name)
        if before is None:
            row["policies"][name] = rec
            continue
        earlier = list(before.get("readings") or [reading_of(before, old, 1)])
        rec = dict(rec)
        combine_readings(rec, earlier + [reading_of(rec, new, len(earlier) + 1)], new.get("claim"))
        row["policies"][name] = rec
    return row


def retime_problem(row: dict[str, Any] | None, settings_hash: str) -> str | None:
    """Why a row cannot take another reading under these settings (None when it can)."""
    if row is None:
        return "no row yet: run the audit without --retime first"
    verdicts = {p.get("verdict") for p in row["policies"].values()}
    if verdicts & {"not_released", "reference_failed"}:
        return f"nothing measured to time again ({', '.join(sorted(v for v in verdicts if v))})"
    have = (row.get("provenance") or {}).get("settings_hash")
    if have != settings_hash:
        return (f"measured with settings {str(have)[:12]}, these are {settings_hash[:12]}: give the "
                "settings options of the earlier run")  # fmt: skip
    return None


class Auditor:
    """Judges the kernels of one release into one ledger file."""

    def __init__(self, release: Release, out: Path, settings: EvalSettings, *,
                 policies: tuple[str, ...] = pol.POLICY_NAMES, work_dir: Path,
                 build_workers: int = 0, build_timeout_s: float = 600.0,
                 log: Callable[[str], None] = print) -> None:  # fmt: skip
        self.release, self.out, self.settings, self.work = release, out, settings, work_dir
        version = release.meta.get("benchmark_version") or "KernelBench v0"
        self.policies = {name: pol.policy(name, version) for name in policies}
        self.build_workers, self.build_timeout_s, self.log = build_workers, build_timeout_s, log
        self.settings_hash = settings.fingerprint()
        if out.is_file():
            self.ledger = ledger_mod.load(out)
            self.ledger["policies"].update({n: p.to_dict() for n, p in self.policies.items()})
            if refresh(self.ledger, release, out):
                ledger_mod.write(out, self.ledger)
        else:
            self.ledger = ledger_mod.new_ledger(
                {
                    **release.info(),
                    "kernels_in_release": len(release.kernels),
                    "without_kernel": sum(k.kernel_source is None for k in release.kernels),
                },  # fmt: skip
                {n: p.to_dict() for n, p in self.policies.items()},
                {**settings.to_dict(), "reproduced_fraction": pol.REPRODUCED_FRACTION},
                self.settings_hash,
            )
        self.lock = threading.Lock()
        self.builds: dict[str, dict[str, Any]] = {}  # task -> its prebuild's outcome, for its row
        self.replays: dict[str, list[dict[str, Any]]] = {}  # task -> its prebuild's records for the candidate

    def done(self, k: PublishedKernel, mode: str) -> bool:
        """Whether `k` already has a row to keep: mode 'force' keeps none, 'only-missing' keeps any row
        measured with these settings (except where the reference failed: the harness may have changed
        since), 'default' those measured also at this commit; 'retime' judges again only the rows that
        can take another reading (`retime_problem`)."""
        if mode == "force":
            return False
        row = self.row(k.task)
        if mode == "retime":
            return retime_problem(row, self.settings_hash) is not None
        if row is None or set(self.policies) - set(row["policies"]):
            return False
        if row.get("kernel_sha256") != (sha256(k.kernel_source) if k.kernel_source else None):
            return False
        if k.kernel_source is None:
            return True
        prov = row.get("provenance") or {}
        if prov.get("settings_hash") != self.settings_hash:
            return False
        same_commit = (prov.get("git") or {}).get("commit") == git_commit().get("commit")
        if any((p or {}).get("verdict") == "reference_failed" for p in row["policies"].values()):
            return same_commit
        return mode == "only-missing" or same_commit

    def row(self, task: str) -> dict[str, Any] | None:
        return next((r for r in self.ledger["rows"] if r["task"] == task), None)

    def _base_row(self, k: PublishedKernel) -> dict[str, Any]:
        return {
            "task": k.task,
            "level": k.level,
            "name": k.name,
            **({"model": k.model} if k.model else {}),
            "origin": k.origin,
            "problem_sha256": sha256(k.problem_source),
            "kernel_sha256": sha256(k.kernel_source) if k.kernel_source else None,
            "claim": k.headline.to_dict() if k.headline else None,
            "other_claims": [c.to_dict() for c in k.claims[1:]],
        }

    def _store(self, row: dict[str, Any]) -> None:
        with self.lock:
            ledger_mod.upsert(self.ledger, row)
            ledger_mod.write(self.out, self.ledger)

    def judge(self, k: PublishedKernel, problem: Path, source: str, gpu: int | None = None,
              build_dir: Path | None = None) -> dict[str, Any]:  # fmt: skip
        """Every policy's verdict on `k` from one candidate run (`evaluate_policies`), on GPU `gpu`; its
        prebuilt extension folder (`build_dir`, which torch locks and may update) is handed to it."""
        from repro.harness.evaluate import evaluate_policies

        claim = k.headline
        base = dataclasses.replace(self.settings, gpu=gpu) if gpu is not None else self.settings
        t0 = time.monotonic()
        before = ninja_state(build_dir) if build_dir is not None else {}
        results = evaluate_policies(problem, source, {n: p.settings(base) for n, p in self.policies.items()},
                                    writable=(build_dir,) if build_dir is not None else (),
                                    build_replay=self.replays.get(k.task) or [])  # fmt: skip
        # Each policy's verdict is its own judgement of the one run (what a run of its own would give).
        records = {name: _policy_record(res, claim) for name, res in results.items()}
        first = next(iter(results.values()))
        over = first.overhead or {}
        build = dict(self.builds.get(k.task) or {})
        if build_dir is not None:
            build.update(rebuild_report(before, ninja_state(build_dir)))
            # as the candidate's process reported it (a note, never read to judge)
            replay: Any = over.get("build_replay") or {}
            build.update({f"{key}_in_candidate": v for key, v in replay.items() if v})
        return {
            **self._base_row(k),
            "policies": records,
            "gpu_index": gpu,
            "timing_s": {
                "wall_s": round(time.monotonic() - t0, 3),
                "reference_s": over.get("reference_s"),
                "candidate_process_s": over.get("candidate_process_s"),
                "candidate_processes": 1,
                "reference_phases_s": over.get("reference_phases_s") or {},
                "candidate_phases_s": over.get("phases_s") or {},
                **({"build": build} if build else {}),
            },
            "provenance": _row_provenance(first.provenance, self.settings_hash),
        }

    def run(self, kernels: list[PublishedKernel], *, mode: str = "default", deadline_s: float | None = None,
            lanes: list[int | None] | None = None) -> dict[str, Any]:  # fmt: skip
        """Judge `kernels`: builds in parallel on the CPU, evaluations one at a time per lane (`lanes`: one
        GPU index per lane, None for the default device; several lanes judge different kernels at once
        into the same ledger, lanes on one GPU taking turns to be timed). Returns counts."""
        from repro.harness import sandbox

        lanes = lanes or [None]
        t0 = time.monotonic()
        todo = [k for k in kernels if not self.done(k, mode)]
        counts: dict[str, float] = {
            "skipped": len(kernels) - len(todo),
            "judged": 0,
            "not_released": 0,
            "left": 0,
            "replayed": 0,  # kernels whose candidate replayed a build its prebuild saw fail
        }
        lane_s: list[float] = []  # seconds each judged kernel held its lane
        for k in [k for k in todo if k.kernel_source is None]:
            na = {"verdict": "not_released", "reason": k.missing or "the release has no kernel for this task",
                  "status": pol.STATUS_NO_KERNEL, "speedup": None}  # fmt: skip
            self._store({**self._base_row(k), "policies": {n: dict(na) for n in self.policies},
                         "provenance": {"settings_hash": self.settings_hash}})  # fmt: skip
            counts["not_released"] += 1
        todo = [k for k in todo if k.kernel_source is not None]
        problems = self.work / "problems"
        problems.mkdir(parents=True, exist_ok=True)
        ready: queue.Queue[tuple[PublishedKernel, str, Path | None]] = queue.Queue()
        building = [k for k in todo if needs_build(k.kernel_source or "")] if self.build_workers else []
        arch = gpu_arch() if building and self.settings.device == "cuda" else ""
        if building and self.settings.device == "cuda" and not arch:
            # torch would ask the GPU the build process cannot see for the architectures, and fail
            self.log("no GPU compute capability found (nvidia-smi gave none; set TORCH_CUDA_ARCH_LIST): "
                     "the load_inline kernels build in their candidate")  # fmt: skip
            building = []
        pool = ThreadPoolExecutor(max_workers=max(1, self.build_workers)) if building else None
        state = {"pending": len(todo), "stopped": False}

        def submit_build(k: PublishedKernel) -> None:
            build_dir = (self.work / "builds" / sha256(k.kernel_source or "")[:16]).resolve()
            build_dir.mkdir(parents=True, exist_ok=True)
            source = without_build_directory(k.kernel_source or "")
            src_file = build_dir / "kernel_source.py"
            src_file.write_text(source)
            info = prebuild(src_file, build_dir, arch, self.build_timeout_s)
            with self.lock:
                self.builds[k.task] = build_summary(info)
                self.replays[k.task] = info.get("replay") or []
            self.log(f"  built {k.task} in {info['seconds']} s" if info["ok"] else
                     f"  prebuild of {k.task} stopped after {info['seconds']} s ({info['cause']}); the candidate "
                     "builds it" + "".join(f"\n    {line}" for line in info["errors"][:4]))  # fmt: skip
            ready.put((k, with_build_dir(source, build_dir, arch), build_dir))

        for k in todo:
            if k in building:
                assert pool is not None
                pool.submit(submit_build, k)
        for k in todo:
            if k not in building:
                ready.put((k, k.kernel_source or "", None))

        def next_item() -> tuple[PublishedKernel, str, Path | None] | None:
            """The next kernel ready to judge; None when all are taken or the deadline has passed."""
            while True:
                with self.lock:
                    if state["stopped"] or state["pending"] <= 0:
                        return None
                    if deadline_s is not None and time.monotonic() - t0 > deadline_s:
                        state["stopped"] = True
                        counts["left"] = state["pending"]
                        self.log(f"deadline of {deadline_s:g} s reached: {state['pending']} kernel(s) left "
                                 "for the next run")  # fmt: skip
                        return None
                try:
                    item = ready.get(timeout=1.0)
                except queue.Empty:  # only builds left, none finished yet
                    continue
                with self.lock:
                    state["pending"] -= 1
                return item

        def lane(gpu: int | None) -> None:
            where = f" [gpu {gpu}]" if len(lanes) > 1 and gpu is not None else ""
            while (item := next_item()) is not None:
                k, source, build_dir = item
                problem = problems / f"{task_slug(k.task)}_{sha256(k.problem_source)[:8]}.py"
                if not problem.is_file():
                    tmp = problem.with_suffix(f".{threading.get_ident()}.tmp")
                    tmp.write_text(k.problem_source)
                    os.replace(tmp, problem)
                t1 = time.monotonic()
                try:
                    row = self.judge(k, problem, source, gpu, build_dir)
                except Exception as exc:  # the reference itself fails: recorded, the audit goes on
                    why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                    na = {"verdict": "reference_failed", "reason": why, "status": pol.FAILED + "reference",
                          "speedup": None}  # fmt: skip
                    row = {**self._base_row(k), "policies": {n: dict(na) for n in self.policies},
                           "gpu_index": gpu,
                           "provenance": {"settings_hash": self.settings_hash, "git": git_commit()}}  # fmt: skip
                if mode == "retime":
                    with self.lock:
                        old = self.row(k.task)
                    if (
                        old is None
                        or row["policies"][next(iter(self.policies))]["verdict"] == "reference_failed"
                    ):
                        self.log(
                            f"{k.task}{where}: the reference failed this time; the row keeps its readings"
                        )
                        continue
                    row = add_reading(old, row)
                self._store(row)
                build = (row.get("timing_s") or {}).get("build") or {}
                with self.lock:
                    counts["judged"] += 1
                    lane_s.append(time.monotonic() - t1)
                    counts["replayed"] += bool(build.get("replayed_in_candidate"))
                if build.get("rebuilt_in_candidate"):
                    self.log(f"  {k.task}: compiled again in the candidate: {', '.join(build['rebuilt_in_candidate'])}"
                             + "".join(f"\n    {line}" for line in build.get("build_ninja_changes") or [])
                             + "".join(f"\n    {n}: key differs in {', '.join(why)}"
                                       for n, why in (build.get("missed_in_candidate") or {}).items()))  # fmt: skip
                if build.get("replayed_in_candidate"):
                    self.log(f"  {k.task}: the prebuild's failure replayed, not compiled again: "
                             f"{', '.join(build['replayed_in_candidate'])}")  # fmt: skip
                self.log(f"{k.task}{where}: " + "; ".join(f"{n} {p['status']}" + (f" {p['speedup']:.2f}x" if p.get("speedup") else "")
                                                          for n, p in row["policies"].items())
                         + f"  (claimed {k.headline.value if k.headline else None}; {time.monotonic() - t1:.1f} s)")  # fmt: skip

        crashed: list[BaseException] = []

        def guarded(gpu: int | None) -> None:
            try:
                lane(gpu)
            except BaseException as exc:  # e.g. the ledger cannot be written: every lane stops
                crashed.append(exc)
                with self.lock:
                    state["stopped"] = True

        was_enabled = sandbox.REFERENCES.enabled
        sandbox.REFERENCES.enabled = True  # one warm reference process per GPU for the whole audit
        sandbox.POOL.reserve_lanes(self.settings.device, lanes)  # a candidate process ready for each lane
        threads = [
            threading.Thread(target=guarded, args=(g,), name=f"audit lane {g}", daemon=True) for g in lanes
        ]
        interrupted = True
        try:
            for t in threads:
                t.start()
            for t in threads:
                while t.is_alive():  # polled: a join cut by Ctrl-C can return early
                    t.join(0.2)
            interrupted = False
        except KeyboardInterrupt:
            with self.lock:
                state["stopped"] = True
            raise
        finally:
            sandbox.REFERENCES.enabled = was_enabled
            sandbox.REFERENCES.close()
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
                stop_builds()
            counts["seconds"] = round(time.monotonic() - t0, 1)
            counts["reference_processes"] = sandbox.REFERENCES.started
            if lane_s:
                counts["lane_s_median"] = round(statistics.median(lane_s), 1)
                counts["lane_s_mean"] = round(statistics.fmean(lane_s), 1)
            self._record_run(counts, mode, deadline_s, len(lanes), not interrupted and not crashed)
        if crashed:
            raise crashed[0]
        return counts

    def _record_run(self, counts: dict[str, float], mode: str, deadline_s: float | None, lanes: int,
                    finished: bool) -> None:  # fmt: skip
        """Append this run to the ledger's `runs`: when, at which commit and harness version, how, and what
        it did in how long. An audit resumed over several runs (`--only-missing`) is measured by their sum,
        so its throughput is read from the ledger itself rather than from the runs' logs."""
        from repro.harness.evaluate import HARNESS_VERSION
        from repro.records.provenance import utc_now

        keys = (
            "judged",
            "not_released",
            "skipped",
            "left",
            "replayed",
            "seconds",
            "lane_s_median",
            "lane_s_mean",
        )
        entry: dict[str, Any] = {
            "date": utc_now(),
            "commit": git_commit().get("commit"),
            "harness_version": HARNESS_VERSION,
            "mode": mode,
            "lanes": lanes,
            "build_workers": self.build_workers,
            "deadline_s": deadline_s,
            "finished": finished,
            **{k: counts[k] for k in keys if k in counts},
        }
        with self.lock:
            self.ledger.setdefault("runs", []).append(entry)
            ledger_mod.write(self.out, self.ledger)
