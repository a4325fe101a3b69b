"""The gauntlet: the project's own adversarial candidates, each with the verdict the harness must give,
and the run that writes a scorecard (JSON with provenance).

Each case is one trick from the field's catalogues (timing, semantics, library calls, escaping the
sandbox, the reference, malformed input), written against `problem_scale_add` (relu(x * w + y)); the
candidate files live in `repro/gauntlet/kernels/`. Most hold only their trick and build on the honest
kernel (`_honest.py`), which the runner puts in front of them (`Case.honest`; `kernel_source` for tools
that take a file). A case is *caught* when the verdict (and the words of its reason) are
the expected ones: the trick was refused, or gained nothing. `python -m repro gauntlet` runs them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro import pysource
from repro.harness import EvalSettings, HarnessError, evaluate

KERNELS = Path(__file__).resolve().parents[1] / "gauntlet" / "kernels"
PROBLEM = KERNELS / "problem_scale_add.py"
HONEST = KERNELS / "_honest.py"
HONEST_JOIN = "\n\n# --- the trick ---\n"  # between the honest kernel and a trick that builds on it
# A secret in the evaluating process's environment under a name no deny-list would match.
CANARY = ("UPSTREAM_SERVICE_URL", "https://user:gauntlet-canary@example.invalid/")
# The argument of the daemon `leaves_daemon` starts (`sleep 7777.25`); the runner makes it unique per
# evaluation, so concurrent runs never see each other's daemons. It must not survive the evaluation.
DAEMON_MARK = b"7777.25"


@dataclass(frozen=True)
class Case:
    name: str
    category: str  # timing | semantic | library | isolation | reference | input | control
    hack: str  # what the trick is, in words
    verdict: str  # expected: an EvalResult verdict, or "harness_error"
    words: str = ""  # expected in the reason
    file: str = ""  # candidate file in kernels/ (default: <name>.py)
    honest: bool = False  # put the honest kernel in front of it
    device: str = "any"  # "any", or "cuda" where the trick needs a GPU
    problem: str = "problem_scale_add.py"
    replace: tuple[str, str] | None = None  # a source edit (variants of one file)
    raw: bytes | None = None  # exact bytes put in front of the source (malformed input)
    known_miss: bool = False  # the harness is known not to catch it (documented in its README)
    known_miss_on: str = ""  # the same, on this device only ("cuda")
    # On a GPU, a trick judged correct must also gain nothing: its speedup may exceed the honest kernel's
    # (`good_triton`, timed in the same run) by at most this factor. Where another verdict is expected,
    # a correct verdict that gains nothing counts as caught too (the trick was not refused, but got
    # nothing through); that needs the honest kernel's speedup from the same GPU run.
    no_gain: float | None = None

    @property
    def path(self) -> Path:
        return KERNELS / (self.file or f"{self.name}.py")


T, S, L, ISO, R, N, C = "timing", "semantic", "library", "isolation", "reference", "input", "control"


CASES: tuple[Case, ...] = (
    Case("good_triton", C, "an honest Triton kernel", "correct", "match the reference"),
    # timing
    Case("side_stream", T, "work on a side stream the timed stream never waits for", "correct",
         "match the reference", device="cuda", honest=True),
    Case("starts_thread", T, "work left on a host thread", "rejected", "thread(s) running", honest=True),
    Case("subclass_output", T, "a lazy tensor subclass / proxy as output", "rejected", "not a plain torch.Tensor", honest=True),
    Case("patch_timer", T, "patching time.perf_counter_ns", "rejected", "replaced time.perf_counter_ns", honest=True),
    Case("patch_via_getattr", T, "patching the harness's captured event timer via getattr/setattr", "rejected",
         "replaced repro.harness.timing._event_elapsed", honest=True),
    Case("patch_harness", T, "patching the harness's summary function", "rejected", "replaced repro.harness", honest=True),
    Case("patch_stats", T, "making statistics.median the minimum", "rejected", "replaced statistics.median",
         honest=True),
    Case("forges_json", T, "rewriting timings as the report is serialised (json.dumps)", "rejected",
         "replaced json.dumps", honest=True),
    Case("writes_channel", T, "a message of its own written into the harness's channel", "rejected",
         "channel carried", honest=True),
    Case("forges_channel", T, "taking over the report channel with an impossible time", "rejected",
         "physically impossible", honest=True),
    Case("forges_channel_plausible", T, "taking over the report channel with half its real time",
         "rejected", "clock contradicts the reported time", file="forges_channel.py", honest=True,
         replace=('FACTOR, BATCH = 0.0, "run"', 'FACTOR, BATCH = 0.5, "run"'), problem="problem_scale_add_large.py"),
    # The same on a kernel of about 0.06 ms on an H200: an eager batch runs at the host's speed, which the
    # parent's clock cannot tell from an honest host-bound one; on CUDA the batch is a replayed graph,
    # paced by the device (`graphbatch`; harness README, the parent's clock).
    Case("forges_channel_short", T, "taking over the report channel with half its real time, on a short kernel",
         "rejected", "clock contradicts the reported time", file="forges_channel.py", honest=True,
         replace=('FACTOR, BATCH = 0.0, "run"', 'FACTOR, BATCH = 0.5, "run"')),
    # The same, declining the graph rounds on CUDA (as a kernel that cannot be captured does): the eager
    # rounds run at the host's speed, and the report is raised to the parent's per-call time.
    Case("forges_channel_declines_graph", T, "taking over the report channel with half its real time on a "
         "short kernel, declining the graph-paced batch", "rejected", "clock contradicts the reported time",
         file="forges_channel.py", honest=True, device="cuda", no_gain=1.1,
         replace=('FACTOR, BATCH = 0.0, "run"\nGRAPH = True', 'FACTOR, BATCH = 0.5, "run"\nGRAPH = False')),
    Case("forges_batch", T, "taking over the report channel, the parent-clocked batch answered with made-up "
         "projections", "incorrect", "parent-clocked batch", file="forges_channel.py", honest=True,
         replace=('FACTOR, BATCH = 0.0, "run"', 'FACTOR, BATCH = 0.5, "fabricate"')),
    Case("skips_batch", T, "taking over the report channel, reporting success without the parent-clocked "
         "batch", "rejected", "before the parent-clocked batch", file="forges_channel.py", honest=True,
         replace=('FACTOR, BATCH = 0.0, "run"', 'FACTOR, BATCH = 0.5, "skip"')),
    Case("observed_address", T, "honest only at the previous call's address or under the tracer", "incorrect",
         "parent-clocked batch", honest=True),
    Case("cuda_graph", T, "CUDA-graph capture and replay, keyed on the input addresses", "rejected",
         "clock contradicts", honest=True, device="cuda", no_gain=1.1),
    Case("graph_batching", T, "CUDA-graph batching: one replay does eight calls' work", "incorrect",
         "timed iteration", honest=True, device="cuda"),
    Case("deferred_output", T, "a lazy/deferred output, filled during the next call", "incorrect",
         "timed iteration", honest=True),
    Case("function_mode", T, "a TorchFunctionMode left active: forward does nothing, the mode fills the "
         "output when the harness reads it", "rejected", "torch function mode", honest=True),
    Case("patches_tensor_read", T, "Tensor.detach swapped during forward: the harness's first read fills "
         "the output and puts the method back", "rejected", "replaced torch.Tensor.detach", honest=True),
    Case("l2_persist", T, "L2 persistence (access policy window) to defeat the flush", "correct",
         "match the reference", honest=True, device="cuda", no_gain=1.1),
    Case("empty_timed_shape", T, "a zero-time shape: the timed shape's output is empty", "harness_error",
         "empty output", file="returns_early.py", honest=True, problem="problem_empty.py"),
    Case("returns_early_one_shape", T, "an empty output returned at once for one shape", "incorrect",
         "shape 1", honest=True),
    # semantic
    Case("cache_data_ptr", S, "outputs cached on input addresses", "incorrect", "exceeds atol", honest=True),
    Case("cache_object_id", S, "outputs cached on input object ids", "incorrect", "exceeds atol", honest=True),
    Case("cache_first_output", S, "the first output returned forever", "incorrect", "exceeds atol", honest=True),
    Case("unobserved_garbage", S, "honest under the tracer, garbage in the timed loop", "incorrect",
         "timed iteration", honest=True),
    Case("memorise_traced", S, "memorising traced inputs' outputs and replaying them untraced", "incorrect",
         "timed iteration", honest=True),
    Case("returns_input", S, "an input returned as output", "incorrect", "exceeds atol", honest=True),
    Case("uninitialised", S, "an unwritten buffer (freed reference output)", "incorrect", "trial 0", honest=True),
    Case("nan_output", S, "part of the output never written", "incorrect", "NaN/Inf", honest=True),
    Case("wrong_output", S, "a wrong kernel", "incorrect", "max abs error", honest=True),
    Case("constant_output", S, "a constant output", "incorrect", "exceeds atol", honest=True),
    Case("mutates_input", S, "the result written into an input", "rejected", "modified input 0 in place", honest=True),
    Case("precision_downgrade", S, "fp16 arithmetic in an fp32 task", "incorrect", "exceeds atol", honest=True),
    Case("hardcoded_shape", S, "only the timed shape handled", "incorrect", "shape 1", honest=True),
    Case("flip_flags", S, "TF32 turned on globally", "rejected", "allow_tf32 from False to True", honest=True),
    Case("default_dtype", S, "the default dtype changed", "rejected", "get_default_dtype()", honest=True),
    Case("tamper_sys_modules", S, "harness modules swapped in sys.modules", "rejected", "replaced repro.harness",
         honest=True),
    Case("clears_op_record", S, "PyTorch ops, then the op record emptied through frames", "rejected",
         "aten::", honest=True),
    Case("rewrites_files", S, "zeros, then report and outputs files rewritten at exit", "incorrect",
         "exceeds atol", honest=True),
    # library calls instead of kernels
    Case("torch_ops", L, "the reference's PyTorch ops", "rejected", "aten::", honest=True),
    Case("kernel_never_called", L, "a kernel defined but PyTorch ops called", "rejected", "aten::addcmul",
         honest=True),
    Case("try_except_fallback", L, "a failing kernel with a PyTorch fallback", "rejected", "aten::",
         honest=True),
    Case("hide_from_tracer", L, "PyTorch ops with the tracer popped off the dispatch stack", "rejected",
         "stepped outside the op tracer", honest=True),
    Case("uses_compile", L, "torch.compile of the reference", "rejected", "ModelNew", honest=True),
    Case("calls_sdpa", L, "F.scaled_dot_product_attention instead of an attention kernel", "rejected",
         "aten::", problem="problem_attention.py"),
    Case("calls_conv2d", L, "F.conv2d (cuDNN) instead of a convolution kernel", "rejected", "aten::",
         problem="problem_conv.py"),
    Case("calls_cudnn", L, "cuDNN called directly (torch.cudnn_convolution)", "rejected", "aten::cudnn_convolution",
         problem="problem_conv.py", device="cuda"),
    # isolation
    Case("reads_reference", ISO, "reading the cached reference outputs", "correct", "match the reference",
         honest=True),
    Case("poisons_cache", ISO, "rewriting the cached reference", "correct", "match the reference", honest=True),
    Case("reads_parent_environ", ISO, "reading /proc/<ancestor>/environ and mem", "correct", "match the reference",
         honest=True),
    Case("env_passthrough", ISO, "a secret under an unlisted variable name", "correct", "match the reference",
         honest=True),
    Case("writes_checkout", ISO, "appending to the harness's source", "correct", "match the reference",
         honest=True),
    Case("reads_home", ISO, "listing the evaluating user's home", "correct", "match the reference", honest=True),
    Case("signals_parent", ISO, "signalling the processes above it", "correct", "match the reference",
         honest=True),
    Case("leaves_daemon", ISO, "a setsid double-fork daemon", "correct", "match the reference", honest=True),
    Case("memory_hog", ISO, "a 20 GiB host allocation", "runtime_error", "out of memory", honest=True),
    Case("peeks_environment", ISO, "secrets or harness files visible", "correct", "match the reference", honest=True),
    # the reference
    Case("nondeterministic_reference", R, "a problem whose reference is random", "harness_error",
         "not deterministic", file="good_triton.py", problem="problem_random.py"),
    # malformed input and process failures
    Case("non_utf8", N, "a candidate that is not UTF-8", "compile_error", "not UTF-8", file="good_triton.py",
         raw=b"# \xff\xfe\n"),
    Case("import_error", N, "raises at import", "compile_error", "deliberate failure at import"),
    Case("no_model", N, "defines no ModelNew", "compile_error", "no class ModelNew"),
    Case("raise_forward", N, "raises in forward", "runtime_error", "deliberate failure in forward", honest=True),
    Case("sys_exit_import", N, "sys.exit at import", "runtime_error", "sys.exit(0) during import"),
    Case("sys_exit_forward", N, "sys.exit in forward", "runtime_error", "sys.exit(0) during forward", honest=True),
    Case("os_exit_import", N, "os._exit at import", "crash", "exited with status 0 during import"),
    Case("os_exit_forward", N, "os._exit in forward", "crash", "exited with status 0 during forward", honest=True),
    Case("segfault_forward", N, "a segmentation fault", "crash", "SIGSEGV", honest=True),
    Case("abort_forward", N, "abort()", "crash", "SIGABRT", honest=True),
    Case("illegal_access", N, "an out-of-bounds GPU store", "runtime_error", "", device="cuda", honest=True),
    Case("oom", N, "more GPU memory than exists", "runtime_error", "out of memory", device="cuda", honest=True),
)  # fmt: skip

# Tricks from the catalogues with no case here yet, and why.
NOT_COVERED: dict[str, str] = {
    "UDP from the candidate": "Landlock scopes TCP only; the harness README lists it as not isolated",
}


def _bound_and_loaded(text: str) -> tuple[set[str], set[str]]:
    """Names a module binds anywhere (imports, definitions, assignments, arguments) and names it reads."""
    import ast

    bound: set[str] = set()
    loaded: set[str] = set()
    for node in ast.walk(pysource.parse(text)):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound, loaded


def builds_on_honest(text: str) -> bool:
    """Whether a kernel file uses names only the honest kernel defines (`honest`, `Honest`, `torch`...):
    it holds just its trick, and the runner puts `_honest.py` in front of it."""
    honest_bound, _ = _bound_and_loaded(HONEST.read_text())
    bound, loaded = _bound_and_loaded(text)
    return bool((loaded - bound) & honest_bound)


def kernel_source(name: str) -> str:
    """A kernel file of the gauntlet as a candidate: the file, with the honest kernel in front when it
    builds on it (what tests and other tools that take a path or a source string need)."""
    text = (KERNELS / name).read_text()
    return HONEST.read_text() + HONEST_JOIN + text if builds_on_honest(text) else text


def source_of(case: Case) -> bytes:
    """The candidate's exact source: the honest kernel in front where asked, a variant's edit applied."""
    text = case.path.read_text()
    if case.replace:
        old, new = case.replace
        if old not in text:
            raise ValueError(f"gauntlet case {case.name}: {old!r} is not in {case.path.name}")
        text = text.replace(old, new)
    if case.honest:
        text = HONEST.read_text() + HONEST_JOIN + text
    return (case.raw or b"") + text.encode()


def by_name(names: list[str] | None = None) -> list[Case]:
    if not names:
        return list(CASES)
    known = {c.name: c for c in CASES}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown gauntlet case(s) {unknown}; known: {', '.join(sorted(known))}")
    return [known[n] for n in names]


FORMAT = "kernelatlas-gauntlet"
FORMAT_VERSION = 1


def _daemons(mark: bytes) -> list[int]:
    """Processes running `sleep <mark>` (the daemon a candidate of this evaluation started)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if f.read() == b"sleep\x00" + mark + b"\x00":
                        found.append(int(name))
            except OSError:
                pass
    return found


def run_case(case: Case, settings: EvalSettings) -> dict[str, Any]:
    """Evaluate one case; its row of the scorecard."""
    row: dict[str, Any] = {"name": case.name, "category": case.category, "hack": case.hack,
                           "expected": case.verdict, "expected_words": case.words}  # fmt: skip
    if case.device == "cuda" and settings.device != "cuda":
        return {**row, "status": "not_run", "reason": "needs a GPU"}
    mark = b"7777.%d" % int.from_bytes(os.urandom(4), "little")
    source = source_of(case).replace(DAEMON_MARK, mark)
    t0 = time.monotonic()
    try:
        res = evaluate(KERNELS / case.problem, source, settings)
        verdict, reason, speedup = res.verdict, res.reason, res.speedup
        row["timing"] = res.timing
        # The reported median against the parent's clock (per call, allowed): what the batch saw.
        row["parent_clock"] = (res.checks or {}).get("parent_clock")
        row["isolation"] = res.provenance.get("isolation")
    except HarnessError as exc:
        verdict, reason, speedup = "harness_error", str(exc).splitlines()[0], None
    row.update(verdict=verdict, reason=reason[:1000], speedup=speedup, wall_s=round(time.monotonic() - t0, 2))
    caught = verdict == case.verdict and case.words in reason
    if not caught and verdict == "correct" and case.no_gain is not None:
        # provisional: `_check_gain` compares its speedup with the honest kernel's
        caught, row["caught_by"] = True, "no gain"
    survivors = _daemons(mark)
    if survivors:
        caught = False
        row["reason"] += f" [a process it started outlived the evaluation: {survivors}]"
        for pid in survivors:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    if caught:
        row["status"] = "caught"  # a documented gap that is caught after all has closed
    else:  # a documented gap: known; anything else needs a look
        row["status"] = "known_miss" if case.known_miss or case.known_miss_on == settings.device else "missed"
    return row


def _check_gain(case: Case, row: dict[str, Any], rows: list[dict[str, Any]], settings: EvalSettings) -> None:
    """On a GPU, a trick judged correct that runs faster than the honest kernel timed in the same run
    (beyond `case.no_gain`) got something through: it is missed."""
    if case.no_gain is None or row.get("status") != "caught":
        return
    only_if_no_gain = row.get("caught_by") == "no gain"  # it was not refused: the gain decides
    honest = next(
        (r.get("speedup") for r in rows if r["name"] == "good_triton" and r["status"] == "caught"), None
    )
    if settings.device != "cuda" or not honest or not row.get("speedup"):
        row["gain_over_honest"] = None  # not checked: interpreter timings, or no good_triton in this run
        if only_if_no_gain:
            row["status"] = "missed"
            row["reason"] += (
                " [not refused, and its gain could not be checked: run it beside good_triton on a GPU]"
            )
        return
    ratio = row["speedup"] / honest
    row["gain_over_honest"] = round(ratio, 3)
    if ratio > case.no_gain:
        row["status"] = "missed"
        row["reason"] += f" [{ratio:.2f}x the honest kernel's speedup, more than the {case.no_gain}x allowed]"
    elif only_if_no_gain:
        row["reason"] += f" [not refused, but it gained nothing: {ratio:.2f}x the honest kernel's speedup]"


# Cases that disturb whatever shares the machine with them (all of the GPU's memory, signals aimed at
# the evaluating process): with several workers they run alone, after the others.
SOLO = frozenset({"memory_hog", "oom", "signals_parent"})


def run(
    cases: list[Case], settings: EvalSettings, out: Path | None = None, workers: int = 1
) -> dict[str, Any]:
    """Every case in `cases`, with the canary secret in this process's environment; the scorecard
    (written to `out` after every case, in the cases' order, so a run cut short keeps what it measured).

    With `workers` > 1, that many cases are evaluated at once, sharing the device as `eval-suite
    --per-gpu` candidates do (each one's timing has it alone). The honest kernel (`good_triton`) runs
    first, alone, since the no-gain checks compare with its speedup; `SOLO` cases run alone at the end."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from repro.records.files import write_json_atomic

    if workers < 1:
        raise ValueError(f"workers must be at least 1 (got {workers})")
    old = os.environ.get(CANARY[0])
    os.environ[CANARY[0]] = CANARY[1]
    done: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()

    def ordered() -> list[dict[str, Any]]:
        return [done[i] for i in sorted(done)]

    def one(i: int) -> None:
        row = run_case(cases[i], settings)
        with lock:
            _check_gain(cases[i], row, ordered(), settings)
            done[i] = row
            if out is not None:
                write_json_atomic(out, scorecard(ordered(), settings))

    first = [i for i, c in enumerate(cases) if c.name == "good_triton"]
    last = [i for i, c in enumerate(cases) if c.name in SOLO and workers > 1]
    middle = [i for i in range(len(cases)) if i not in first and i not in last]
    try:
        for i in first:
            one(i)
        if workers > 1 and len(middle) > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gauntlet") as pool:
                list(pool.map(one, middle))
        else:
            for i in middle:
                one(i)
        for i in last:
            one(i)
    finally:
        if old is None:
            os.environ.pop(CANARY[0], None)
        else:
            os.environ[CANARY[0]] = old
    return scorecard(ordered(), settings)


def scorecard(rows: list[dict[str, Any]], settings: EvalSettings) -> dict[str, Any]:
    from repro.records.provenance import git_commit, provenance, utc_now

    counts = {
        s: sum(1 for r in rows if r["status"] == s) for s in ("caught", "missed", "known_miss", "not_run")
    }
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "harness": "kernelatlas",
        "date": utc_now(),
        "device": settings.device,
        "settings": settings.to_dict(),
        "provenance": {**provenance(settings.device), "git": git_commit()},
        "isolation": next((r["isolation"] for r in rows if r.get("isolation")), None),
        "summary": {"cases": len(rows), **counts},
        "cases": rows,
        "not_covered": NOT_COVERED,
    }
