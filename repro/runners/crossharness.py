"""The gauntlet against other harnesses: each case translated to the other harness's candidate format,
judged by that harness's own code (imported from the user's checkout at run time, never copied here),
and recorded as caught / missed / not applicable per hack type, with the harness's commit.

Two harnesses are adapted:

- **KernelBench** (`--kernelbench-root`): `kernelbench.eval.eval_kernel_against_ref` with the settings
  its scripts use (5 correctness trials, 100 timed trials with CUDA events, the Triton backend, fp32,
  the 10x excessive-speedup alarm), and its static checker `validate_kernel_static` as its scripts run
  it when `check_kernel` is on. Its evaluator runs the candidate in its own process, so each case runs
  in a child forked from this process (torch imported, CUDA not yet initialised), which imports
  KernelBench, evaluates, and writes what it saw to a file; a child that dies or hangs is recorded as such.
- **kernelguard** (`--kernelguard-root`): GPU MODE's rule-based detector, `kernelguard.py --api-mode`
  on the candidate's source (static; runs on any machine). Its entry point is `custom_kernel(data)`, so
  the translation appends one that builds `ModelNew` once and calls its `forward`.

What "caught" means depends on what the trick is for (`Rule`): a trick that must be refused is caught
when the harness does not accept the candidate as correct (or raises its own alarm); one that must gain
nothing is caught when the accepted speedup is no better than the honest kernel's under the same
harness; one that looks for something it must not find (a secret, the reference) is caught when it
finds nothing, and missed when it reports what it found (`ESCAPED:`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repro.records.provenance import checkout_commit
from repro.runners.gauntlet import (
    CANARY,
    DAEMON_MARK,
    HONEST,
    HONEST_JOIN,
    KERNELS,
    Case,
    _daemons,
    source_of,
)

FORMAT = "kernelatlas-harness-scorecard"
FORMAT_VERSION = 1
STATUSES = ("caught", "missed", "not_applicable", "not_run", "error")

# How a case's outcome is judged (see the module's docstring).
REFUSE, NO_GAIN, COUNTS_SIDE_WORK, FINDS_NOTHING, REFUSES_TASK, ACCEPT = (
    "refuse", "no_gain", "counts_side_work", "finds_nothing", "refuses_task", "accept",
)  # fmt: skip
NO_GAIN_FACTOR = 1.1  # as the gauntlet's own `no_gain` cases on a GPU
SIDE_WORK_FACTOR = 0.5  # side-stream work counted: well below the honest kernel's speedup

KB_VARIANTS = KERNELS / "kernelbench"


@dataclass(frozen=True)
class Translation:
    """One gauntlet case in another harness's terms: the rule, and a variant written against that
    harness where the trick targets the harness itself (None: the case's own source), or why it does
    not apply."""

    rule: str = REFUSE
    variant: str | None = None
    not_applicable: str = ""


def rule_for(case: Case) -> str:
    """The rule implied by the case's expected verdict in this project's harness."""
    if case.category == "control":
        return ACCEPT
    if case.verdict == "harness_error":
        return REFUSES_TASK
    if case.verdict == "correct":
        if case.name == "side_stream":
            return COUNTS_SIDE_WORK
        return FINDS_NOTHING if case.category == "isolation" else NO_GAIN
    return REFUSE


_OURS = "written against this project's harness ({what}); KernelBench has no such part"
KERNELBENCH: dict[str, Translation] = {
    "patch_timer": Translation(variant="patch_timer.py"),
    "patch_via_getattr": Translation(variant="patch_timer.py"),
    "patch_harness": Translation(variant="patch_harness.py"),
    "tamper_sys_modules": Translation(variant="patch_harness.py"),
    "reads_reference": Translation(rule=FINDS_NOTHING, variant="reads_reference.py"),
    "writes_checkout": Translation(rule=FINDS_NOTHING, variant="writes_checkout.py"),
    "patch_stats": Translation(
        not_applicable="KernelBench's statistics do not use statistics.median; timer "
        "patching is judged by the patch_timer variant"
    ),  # fmt: skip
    "forges_json": Translation(not_applicable=_OURS.format(what="the report's serialisation")),
    "writes_channel": Translation(not_applicable=_OURS.format(what="the report channel")),
    "forges_channel": Translation(not_applicable=_OURS.format(what="the report channel")),
    "forges_channel_plausible": Translation(not_applicable=_OURS.format(what="the report channel")),
    "forges_channel_short": Translation(not_applicable=_OURS.format(what="the report channel")),
    "patches_tensor_read": Translation(
        not_applicable=_OURS.format(what="the method its worker reads outputs with")
    ),
    # Refused here on the parent-clocked batch's fresh buffers; elsewhere, what counts is that the trick
    # gains nothing (both are honest on the inputs a harness reuses).
    "observed_address": Translation(rule=NO_GAIN),
    "cuda_graph": Translation(rule=NO_GAIN),
    "forges_batch": Translation(not_applicable=_OURS.format(what="the report channel")),
    "skips_batch": Translation(not_applicable=_OURS.format(what="the report channel")),
    "clears_op_record": Translation(not_applicable=_OURS.format(what="the op recorder")),
    "hide_from_tracer": Translation(not_applicable=_OURS.format(what="the op tracer")),
    "rewrites_files": Translation(not_applicable=_OURS.format(what="the worker's result files")),
    "poisons_cache": Translation(not_applicable="KernelBench keeps no reference cache between evaluations"),
    "peeks_environment": Translation(not_applicable=_OURS.format(what="the job folder's layout")),
    "non_utf8": Translation(
        not_applicable="KernelBench's evaluator takes the source as a str; decoding the file is its caller's"
    ),  # fmt: skip
}
# A static detector sees source only: process failures and broken tasks are any runner's to catch.
STATIC_NOT_APPLICABLE = {"input": "a process failure, not a pattern in the source",
                         "reference": "a broken task, not a candidate"}  # fmt: skip


def translation(case: Case, harness: str) -> Translation:
    if harness == "kernelguard":
        if why := STATIC_NOT_APPLICABLE.get(case.category):
            return Translation(not_applicable=why)
        return Translation(rule=ACCEPT if case.category == "control" else REFUSE)
    t = KERNELBENCH.get(case.name)
    if t is None:
        return Translation(rule=rule_for(case))
    if t.not_applicable:
        return t
    return Translation(rule=t.rule if t.rule != REFUSE else rule_for(case), variant=t.variant)


def kernelbench_source(case: Case, t: Translation) -> str:
    """The candidate KernelBench evaluates: ModelNew in a source string (the case's own source, or its
    KernelBench variant with the honest kernel in front)."""
    if t.variant is None:
        return source_of(case).decode()
    return HONEST.read_text() + HONEST_JOIN + (KB_VARIANTS / t.variant).read_text()


KERNELGUARD_ENTRY = """

# --- entry point in GPU MODE's form ---
_MODEL = []


def custom_kernel(data):
    if not _MODEL:
        _MODEL.append(ModelNew(*data["init"]))
    return _MODEL[0].forward(*data["inputs"])
"""


def kernelguard_source(case: Case) -> str:
    return source_of(case).decode(errors="replace") + KERNELGUARD_ENTRY


def judge(rule: str, seen: dict[str, Any], honest_speedup: float | None) -> tuple[str, str]:
    """(status, why) for one case from what the harness said (`seen`: `verdict` in this project's
    vocabulary, `speedup`, `flagged` for the harness's own alarm, `errors` text)."""
    verdict, speedup, flagged = seen.get("verdict"), seen.get("speedup"), seen.get("flagged")
    errors = seen.get("errors") or ""
    accepted = verdict == "correct"
    if verdict == "adapter_error":
        return "error", f"the harness did not load: {errors[:300]}"
    if rule == ACCEPT:
        return (
            ("caught", "the honest kernel is accepted")
            if accepted and not flagged
            else ("missed", f"the honest kernel is not accepted ({verdict}{', flagged' if flagged else ''})")
        )
    if rule == FINDS_NOTHING:
        if "ESCAPED" in errors:
            return "missed", "the candidate reached what it must not: " + errors[errors.index("ESCAPED") :][
                :300
            ]
        if seen.get("survivors"):
            return "missed", f"a process it started outlived the evaluation: {seen['survivors']}"
        if accepted:
            return "caught", "found nothing"
        return "error", f"inconclusive: {verdict} for another reason ({errors[:200]})"
    if rule == REFUSES_TASK:
        if verdict == "harness_error":
            return "caught", "the task is refused"
        if flagged:
            return "caught", "flagged by the harness's own alarm"
        return "missed", f"the task is not refused (candidate {verdict}, speedup {_x(speedup)})"
    if not accepted:
        return "caught", f"not accepted: {verdict}"
    if flagged:
        return "caught", f"accepted but flagged by the harness's own alarm (speedup {_x(speedup)})"
    if rule == REFUSE:
        return "missed", f"accepted as correct (speedup {_x(speedup)})"
    if speedup is None or not honest_speedup:
        return "error", "accepted, but no speedup to compare with the honest kernel's"
    ratio = speedup / honest_speedup
    if rule == NO_GAIN:
        if ratio <= NO_GAIN_FACTOR:
            return "caught", f"accepted with no gain ({ratio:.2f}x the honest kernel's speedup)"
        return "missed", f"accepted at {ratio:.2f}x the honest kernel's speedup ({_x(speedup)})"
    if rule == COUNTS_SIDE_WORK:
        if ratio <= SIDE_WORK_FACTOR:
            return "caught", f"the side work is timed ({ratio:.3g}x the honest kernel's speedup)"
        return "missed", f"the side work is not timed ({ratio:.2f}x the honest kernel's speedup)"
    raise ValueError(f"unknown rule {rule!r}")


def _x(v: float | None) -> str:
    return "none" if v is None else f"{v:.3g}x"


def kernelbench_seen(raw: dict[str, Any]) -> dict[str, Any]:
    """KernelBench's result (as the child recorded it) in this project's verdict vocabulary."""
    outcome = raw.get("outcome")
    res = raw.get("result") or {}
    if outcome == "timeout":
        return {"verdict": "timeout", "errors": "", "flagged": False, "speedup": None}
    meta = res.get("metadata") or {}
    errors = " ".join(str(v) for k, v in sorted(meta.items()) if "error" in k or "issue" in k)
    errors = " ".join(x for x in (errors, raw.get("exception") or "") if x)
    seen: dict[str, Any] = {"errors": errors, "flagged": bool(meta.get("excessive_speedup"))}
    if outcome == "died" and raw.get("phase") != "import":
        seen["verdict"] = "crash"
    elif raw.get("phase") == "import":  # KernelBench itself did not load: nothing was judged
        seen["verdict"] = "adapter_error"
    elif outcome == "raised":
        seen["verdict"] = "runtime_error"
    elif outcome == "none":
        seen["verdict"] = "harness_error"  # the evaluator asked to be retried (its lock-file case)
    elif not res.get("compiled"):
        seen["verdict"] = "compile_error"
    elif any(k.startswith("runtime_error") for k in meta):
        seen["verdict"] = "runtime_error"
    else:
        seen["verdict"] = "correct" if res.get("correctness") else "incorrect"
    runtime, ref = res.get("runtime", -1.0), res.get("ref_runtime", -1.0)
    seen["speedup"] = ref / runtime if runtime and runtime > 0 and ref and ref > 0 else None
    return seen


# --- KernelBench: one forked child per case ------------------------------------------------------------

KB_SETTINGS: dict[str, Any] = {"seed_num": 42, "num_correct_trials": 5, "num_perf_trials": 100, "measure_performance": True,
               "timing_method": "cuda_event", "backend": "triton", "precision": "float32",
               "check_for_excessive_speedup": True, "excessive_speedup_threshold": 10}  # fmt: skip
# KernelBench's package imports its LLM clients when it is imported; evaluation never calls them. Where
# they are not installed, empty stand-ins take their place (recorded in the scorecard).
LLM_CLIENTS: dict[str, dict[str, Any]] = {"dotenv": {"load_dotenv": lambda *a, **k: False}, "openai": {"OpenAI": None},
               "litellm": {"completion": None}}  # fmt: skip


def install_stand_ins() -> list[str]:
    import importlib.util

    used = []
    for name, attrs in LLM_CLIENTS.items():
        if name in sys.modules or importlib.util.find_spec(name) is not None:
            continue
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
        used.append(name)
    return used


def _missing(names: dict[str, Any]) -> list[str]:
    import importlib.util

    return sorted(n for n in names if importlib.util.find_spec(n) is None)


def _files_sha256(paths: list[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def kernelbench_package(root: Path) -> Path:
    """The folder holding the `kernelbench` package in a KernelBench checkout (its `src/`), or an error
    naming the root and what it lacks."""
    for src in (root / "src", root):
        if (src / "kernelbench" / "eval.py").is_file():
            return src
    raise ValueError(
        f"--kernelbench-root {root}: no kernelbench/eval.py under it or its src/; give the root of a "
        "clone of ScalingIntelligence/KernelBench"
    )


def _child(src_dir: Path, problem_src: str, cand_src: str, out: Path, log: Path) -> None:
    """In the forked child: KernelBench's static check, then its evaluator; what it saw goes to `out`
    as it happens (a candidate that ends the process leaves what was already written)."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    rec: dict[str, Any] = {"phase": "import"}

    def save() -> None:
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(rec, default=str))
        os.replace(tmp, out)

    try:
        sys.path.insert(0, str(src_dir))
        install_stand_ins()
        import torch
        from kernelbench import eval as kb_eval
        from kernelbench.kernel_static_checker import validate_kernel_static

        valid, errs, warns = validate_kernel_static(
            cand_src, backend=KB_SETTINGS["backend"], precision="fp32"
        )
        rec.update(static={"valid": valid, "errors": errs, "warnings": warns}, phase="evaluate")
        save()
        s = dict(KB_SETTINGS)
        s["precision"] = getattr(torch, s["precision"])
        res = kb_eval.eval_kernel_against_ref(
            original_model_src=problem_src, custom_model_src=cand_src, device=torch.device("cuda:0"), **s
        )
        rec.update(outcome="none" if res is None else "returned", phase="done")
        if res is not None:
            d = {k: getattr(res, k) for k in ("compiled", "correctness", "runtime", "ref_runtime")}
            d["metadata"] = {
                k: str(v)[:2000] if not isinstance(v, bool) else v for k, v in res.metadata.items()
            }
            rec["result"] = d
    except BaseException as exc:  # SystemExit too: the candidate's, inside the evaluator
        rec.update(outcome="raised", exception=f"{type(exc).__name__}: {exc}"[:2000])
    save()


def run_forked(src_dir: Path, problem_src: str, cand_src: str, timeout_s: float) -> dict[str, Any]:
    """One KernelBench evaluation in a forked child, in its own process group; killed at the timeout."""
    with tempfile.TemporaryDirectory(prefix="kb-case-") as tmp:
        out, log = Path(tmp) / "seen.json", Path(tmp) / "log.txt"
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's exit status is all the parent sees
            code = 0
            try:
                os.setpgid(0, 0)
                os.chdir(tmp)
                _child(src_dir, problem_src, cand_src, out, log)
            except BaseException:
                code = 3
            os._exit(code)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        deadline, status, timed_out = time.monotonic() + timeout_s, None, False
        while status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            elif time.monotonic() > deadline:
                timed_out = True
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                status = os.waitpid(pid, 0)[1]
            else:
                time.sleep(0.05)
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # what the candidate left in the group
        try:
            raw = json.loads(out.read_text())
        except (OSError, ValueError):
            raw = {"phase": "import"}
        if timed_out:
            raw["outcome"] = "timeout"
        elif "outcome" not in raw:
            raw["outcome"] = "died"
            raw["exit"] = (f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status)
                           else f"status {os.WEXITSTATUS(status)}")  # fmt: skip
        with contextlib.suppress(OSError):
            raw["log_tail"] = log.read_text(errors="replace")[-1500:]
        return raw


def run_kernelbench(
    root: Path, cases: list[Case], timeout_s: float, out: Path | None, require_gpu: bool = True
) -> dict[str, Any]:
    """Every case through KernelBench's evaluator and static checker (a GPU is needed; `require_gpu`
    False lets a stand-in evaluator be driven on a CPU, for tests of this adapter)."""
    import torch  # noqa: F401 - imported before forking: each child pays only for KernelBench and CUDA

    src_dir = kernelbench_package(root)
    commit = checkout_commit(root)
    meta = {"harness": "kernelbench", "label": "KernelBench", "repository": "ScalingIntelligence/KernelBench",
            "commit": commit, "root": str(root), "settings": KB_SETTINGS, "stand_ins": _missing(LLM_CLIENTS),
            "files_sha256": _files_sha256([src_dir / "kernelbench" / f for f in
                                           ("eval.py", "timing.py", "kernel_static_checker.py")]),
            "views": [{"key": "eval", "label": "KernelBench eval_kernel_against_ref"},
                      {"key": "eval+static", "label": "KernelBench eval + static checker"}]}  # fmt: skip
    probe = _probe_device()
    meta["provenance"] = probe["provenance"]
    rows: list[dict[str, Any]] = []
    honest: float | None = None
    cuda = probe["cuda"] or not require_gpu
    with _canary():
        for case in cases:
            t = translation(case, "kernelbench")
            row = _row(case, t)
            if t.not_applicable:
                row["statuses"] = {"eval": "not_applicable", "eval+static": "not_applicable"}
            elif not cuda:
                row["statuses"] = {"eval": "not_run", "eval+static": "not_run"}
                row["why"] = "KernelBench's evaluator needs a GPU"
            else:
                mark = b"7777.%d" % int.from_bytes(os.urandom(4), "little")
                src = kernelbench_source(case, t).replace(DAEMON_MARK.decode(), mark.decode())
                t0 = time.monotonic()
                raw = run_forked(src_dir, (KERNELS / case.problem).read_text(), src, timeout_s)
                row["wall_s"] = round(time.monotonic() - t0, 2)
                seen = kernelbench_seen(raw)
                seen["survivors"] = _reap(mark)
                if case.category == "control" and seen.get("verdict") == "correct":
                    honest = seen.get("speedup")
                row.update(_kb_statuses(t.rule, raw, seen, honest))
            rows.append(row)
            if out is not None:
                _write(out, meta, rows)
    return _card(meta, rows)


def _probe_device() -> dict[str, Any]:
    """Whether a GPU is there, and the provenance, found in a forked child: the parent must not
    initialise CUDA, or the children it forks later could not use it."""
    with tempfile.TemporaryDirectory(prefix="kb-probe-") as tmp:
        out = Path(tmp) / "probe.json"
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 0
            try:
                import torch

                from repro.records.provenance import provenance

                cuda = torch.cuda.is_available()
                out.write_text(
                    json.dumps({"cuda": cuda, "provenance": provenance("cuda" if cuda else "cpu")})
                )
            except BaseException:
                code = 3
            os._exit(code)
        os.waitpid(pid, 0)
        try:
            return dict(json.loads(out.read_text()))
        except (OSError, ValueError):
            return {"cuda": False, "provenance": None}


def _kb_statuses(
    rule: str, raw: dict[str, Any], seen: dict[str, Any], honest: float | None
) -> dict[str, Any]:
    status, why = judge(rule, seen, honest)
    static = raw.get("static") or {}
    if static.get("errors") and rule != ACCEPT:
        both, both_why = "caught", "static checker: " + "; ".join(static["errors"])[:300]
    elif static.get("errors"):
        both, both_why = (
            "missed",
            "the static checker refuses the honest kernel: " + "; ".join(static["errors"]),
        )
    else:
        both, both_why = status, why
    return {
        "statuses": {"eval": status, "eval+static": both},
        "why": {"eval": why, "eval+static": both_why},
        "seen": {k: v for k, v in seen.items() if k != "errors"} | {"errors": seen.get("errors", "")[:600]},
        "static": static,
        "outcome": raw.get("outcome"),
        "exit": raw.get("exit"),
        "log_tail": (raw.get("log_tail") or "")[-600:],
    }


def _reap(mark: bytes) -> list[int]:
    found = _daemons(mark)
    for pid in found:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return found


@contextlib.contextmanager
def _canary():
    """The gauntlet's secret in the evaluating process's environment, as in this project's own run."""
    old = os.environ.get(CANARY[0])
    os.environ[CANARY[0]] = CANARY[1]
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(CANARY[0], None)
        else:
            os.environ[CANARY[0]] = old


# --- kernelguard: static, one subprocess per case -------------------------------------------------------


def kernelguard_script(root: Path) -> Path:
    script = root / "kernelguard.py"
    if not script.is_file():
        raise ValueError(
            f"--kernelguard-root {root}: no kernelguard.py there; give a clone of gpu-mode/kernelguard"
        )
    return script


def run_kernelguard(root: Path, cases: list[Case], out: Path | None) -> dict[str, Any]:
    script = kernelguard_script(root)
    meta = {"harness": "kernelguard", "label": "kernelguard", "repository": "gpu-mode/kernelguard",
            "commit": checkout_commit(root), "root": str(root), "settings": {"mode": "--api-mode",
            "profile": "default"}, "files_sha256": _files_sha256([script]),
            "views": [{"key": "static", "label": "kernelguard (static)"}]}  # fmt: skip
    rows: list[dict[str, Any]] = []
    for case in cases:
        t = translation(case, "kernelguard")
        row = _row(case, t)
        if t.not_applicable:
            row["statuses"] = {"static": "not_applicable"}
        else:
            proc = subprocess.run([sys.executable, str(script), "--api-mode"], input=kernelguard_source(case),
                                  capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())  # fmt: skip
            try:
                found = json.loads(proc.stdout)
            except ValueError:
                row["statuses"] = {"static": "error"}
                row["why"] = {"static": f"kernelguard exited {proc.returncode}: {proc.stderr[-300:]}"}
            else:
                row.update(kernelguard_statuses(t.rule, found))
        rows.append(row)
        if out is not None:
            _write(out, meta, rows)
    return _card(meta, rows)


def kernelguard_statuses(rule: str, found: dict[str, Any]) -> dict[str, Any]:
    """kernelguard flags a submission when it decides to filter it (`should_filter`)."""
    flagged = bool(found.get("should_filter"))
    pats = [p.get("pattern") for p in found.get("matched_patterns") or []]
    if rule == ACCEPT:
        status = "missed" if flagged else "caught"
        why = f"the honest kernel is flagged: {pats}" if flagged else "the honest kernel passes"
    else:
        status = "caught" if flagged else "missed"
        why = f"flagged ({found.get('filter_reason')})" if flagged else f"not flagged (patterns: {pats})"
    return {"statuses": {"static": status}, "why": {"static": why},
            "seen": {"classification": found.get("classification"), "patterns": pats}}  # fmt: skip


# --- the scorecard file ---------------------------------------------------------------------------------


def _row(case: Case, t: Translation) -> dict[str, Any]:
    return {"name": case.name, "category": case.category, "hack": case.hack, "rule": t.rule,
            "translation": "not applicable" if t.not_applicable else (
                f"variant {KB_VARIANTS.name}/{t.variant}" if t.variant else "the case's own source"),
            **({"why": t.not_applicable} if t.not_applicable else {})}  # fmt: skip


def _card(meta: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    meta = dict(meta)
    from repro.records.provenance import git_commit, provenance, utc_now

    prov = meta.pop("provenance", None) or provenance("cpu")
    summary = {
        v["key"]: {s: sum(1 for r in rows if r["statuses"].get(v["key"]) == s) for s in STATUSES}
        for v in meta["views"]
    }
    return {"format": FORMAT, "format_version": FORMAT_VERSION, **meta, "date": utc_now(),
            "provenance": {**prov, "git": git_commit()}, "summary": summary,
            "cases": rows}  # fmt: skip


def _write(out: Path, meta: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    from repro.records.files import write_json_atomic

    write_json_atomic(out, _card(meta, rows))
