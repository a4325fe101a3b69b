"""`evaluate(problem, candidate_source, settings) -> EvalResult`: the pure per-candidate function.

Reference outputs and baseline timings come from a reference worker and are cached on disk per
(problem, device, settings), so each further candidate of a problem costs one candidate process.
The parent compares the candidate's outputs with the reference; the candidate process never holds them.
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import torch

from repro import pysource
from repro.harness import (
    buildreplay,
    cache,
    clockcheck,
    compare,
    gpugate,
    isolation,
    peaks,
    prejudge,
    procfs,
    sandbox,
    timing,
)
from repro.harness.result import EvalResult
from repro.harness.serve import Session
from repro.harness.settings import JUDGING_ONLY, EvalSettings
from repro.records.provenance import HARNESS_VERSION, git_commit, provenance, utc_now

# A candidate faster than this fraction of its physical floor (writing its outputs once at the copy
# bandwidth; the task's FLOPs at the device's highest measured rate) is refused as impossible.
FLOOR_MARGIN = 0.8
CPU_TIMING_NOTE = "cpu-interpreter (mechanism test only)"


class HarnessError(Exception):
    """The harness cannot evaluate at all: unreadable files, or a problem whose reference fails."""


def sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@functools.cache
def _gpu_name(gpu: int | None) -> str:
    """The GPU's name without initialising CUDA in this process (nvidia-smi)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    index = gpu or 0
    ids = [v.strip() for v in visible.split(",") if v.strip()]
    physical = ids[index] if index < len(ids) else str(index)
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader", "-i", physical],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError):
        pass
    return "cuda"


def device_name(settings: EvalSettings) -> str:
    return "cpu" if settings.device == "cpu" else _gpu_name(settings.gpu)


def _plan(role: str, job_dir: Path, plan: dict[str, Any], settings: EvalSettings) -> Path:
    plan = {**plan, "role": role, "job_dir": str(job_dir), "device": settings.device}
    plan["settings"] = settings.to_dict()
    plan_path = job_dir / "plan.json"
    plan_path.write_text(json.dumps(plan))
    return plan_path


def _read_report(job_dir: Path) -> dict[str, Any] | None:
    try:
        report = json.loads((job_dir / "report.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return report if isinstance(report, dict) else None


def _last_phase(job_dir: Path) -> str:
    try:
        lines = (job_dir / "progress.jsonl").read_text().strip().splitlines()
        return json.loads(lines[-1])["phase"] if lines else "start-up"
    except (OSError, json.JSONDecodeError, KeyError):
        return "start-up"


def _positions(items: list[torch.Tensor] | None) -> list[torch.Tensor | None] | None:
    """Sampled positions per output as the worker sent them (an empty tensor: sent in full)."""
    if items is None:
        return None
    return [p if isinstance(p, torch.Tensor) and p.numel() else None for p in items]


def _phase_times(job_dir: Path, spawned: float, ended: float) -> dict[str, float]:
    """Seconds spent in each phase of the candidate process ('start-up' = interpreter and imports)."""
    try:
        marks = [json.loads(line) for line in (job_dir / "progress.jsonl").read_text().splitlines()]
    except (OSError, json.JSONDecodeError):
        return {}
    names = ["start-up"] + [m["phase"] for m in marks]
    times = [spawned] + [m["t"] for m in marks] + [ended]
    out: dict[str, float] = {}
    for name, a, b in zip(names, times, times[1:], strict=False):
        key = name.split(" shape")[0].split(" (")[0]
        out[key] = round(out.get(key, 0.0) + max(0.0, b - a), 3)
    return out


def _load_outputs(path: Path, mmap: bool = False) -> dict[str, list[torch.Tensor]]:
    # weights_only: a candidate-written file can hold tensors, never code. mmap: no copy.
    data = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    if not isinstance(data, dict):
        raise ValueError("outputs file does not hold a dict")
    return data


# Bundles are kept for the next evaluation of the same problem (their checksum verified once). Outputs
# over this size are mapped from the cache file rather than read into the parent's memory (a task with
# multi-GB outputs would otherwise hold them there long after it is judged): pages the comparisons touch
# come from the page cache, and the evaluations after the first neither read nor hash the file again
# (4 s per candidate for a 1.3 GB softmax bundle on an H200 host).
MEMO_MAX_BYTES = 1 << 30
_bundle_locks: dict[str, threading.Lock] = {}
_bundle_memo: dict[str, dict[str, Any]] = {}
_memo_lock = threading.Lock()


def reference_bundle(problem_path: Path, problem_src: str, settings: EvalSettings) -> dict[str, Any]:
    """Reference outputs, reference ops, baseline timings and peaks for this problem; cached on disk."""
    dev = device_name(settings)
    key = sha256(
        json.dumps(
            [
                HARNESS_VERSION,
                sha256(problem_src),
                dev,
                torch.__version__,
                settings.fingerprint(exclude=("gpu", "timeout_s", "timed_output_checks", *JUDGING_ONLY)),
            ]
        )
    )[:24]
    with _memo_lock:
        if key in _bundle_memo:
            return _bundle_memo[key]
        lock = _bundle_locks.setdefault(key, threading.Lock())
    folder = cache.private_dir() / "refs" / key
    with lock:
        if key in _bundle_memo:
            return _bundle_memo[key]
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(folder / ".lock", "w") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            if (folder / "bundle.json").is_file() and not _bundle_intact(folder):
                print(f"warning: {folder}: the cached reference does not match its checksum; "
                      "computing it again", file=sys.stderr)  # fmt: skip
                for name in ("bundle.json", "outputs.pt", "checksum"):
                    (folder / name).unlink(missing_ok=True)
            if not (folder / "bundle.json").is_file():
                _compute_bundle(problem_path, settings, folder, dev)
            # Read (or map) under the lock: the files verified above, not a later replacement.
            bundle = json.loads((folder / "bundle.json").read_text())
            outputs = folder / "outputs.pt"
            bundle["outputs"] = _load_outputs(outputs, mmap=outputs.stat().st_size > MEMO_MAX_BYTES)
        bundle["peaks"] = peaks.load(dev)
        with _memo_lock:
            if len(_bundle_memo) >= 8:
                _bundle_memo.pop(next(iter(_bundle_memo)))
            _bundle_memo[key] = bundle
        return bundle


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("bundle.json", "outputs.pt"):
        h.update(name.encode() + b"\0" + (folder / name).read_bytes())
    return h.hexdigest()


def _bundle_intact(folder: Path) -> bool:
    """The bundle's files match the checksum written with them (in the cache, which only the harness's
    own user can reach: candidates run under another uid or Landlock and can neither read nor update it)."""
    try:
        return (folder / "checksum").read_text().strip() == _digest(folder)
    except OSError:
        return False


def _compute_bundle(problem_path: Path, settings: EvalSettings, folder: Path, dev: str) -> None:
    job_dir = sandbox.new_job_dir("ref")
    try:
        need_peaks = peaks.load(dev) is None
        plan = {
            "problem": str(problem_path),
            "peaks_path": str(peaks.peaks_path(dev)) if need_peaks else None,
            "pool_seeds": [int.from_bytes(os.urandom(8), "little") >> 1 for _ in range(compare.POOL_SIZE)],
            "batch_seeds": [
                int.from_bytes(os.urandom(8), "little") >> 1
                for _ in range(clockcheck.pool_max(settings.device))
            ],
            # CUDA: one seed per graph round (`graphbatch`), each drawing its calls' inputs in sequence.
            "graph_seeds": [int.from_bytes(os.urandom(8), "little") >> 1 for _ in range(clockcheck.ROUNDS)]
            if settings.device == "cuda"
            else [],
        }
        t0 = time.monotonic()
        plan_path = _plan("reference", job_dir, plan, settings)
        spawned = time.time()
        with gpugate.exclusive(settings.device, settings.gpu):  # the baselines are timed in it
            outcome = sandbox.REFERENCES.run(settings.device, settings.gpu, job_dir, plan_path,
                                             timeout_s=max(3 * settings.timeout_s, 600))  # fmt: skip
        report = _read_report(job_dir)
        if report is None or report.get("status") != "done":
            why = (report or {}).get("reason") or _process_reason(outcome, _last_phase(job_dir))
            raise HarnessError(
                f"{problem_path}: the reference model could not be evaluated ({why}); fix the problem file\n"
                + ((report or {}).get("detail") or outcome.log_tail)[-2000:]
            )
        report["reference_s"] = time.monotonic() - t0
        report["phases_s"] = _phase_times(job_dir, spawned, spawned + outcome.wall_s)
        report["warm_process"] = bool((report.get("server") or {}).get("job", 1) > 1)
        report["provenance"] = (
            provenance(settings.device) if settings.device == "cpu" else report.get("provenance")
        )
        report["pool_seeds"] = plan["pool_seeds"]
        # Replaced, never rewritten in place: another evaluation may have the old file mapped.
        shutil.copyfile(job_dir / "outputs.pt", folder / "outputs.tmp")
        os.replace(folder / "outputs.tmp", folder / "outputs.pt")
        cache.write_json_atomic(folder / "bundle.json", report)
        checksum = folder / "checksum.tmp"
        checksum.write_text(_digest(folder) + "\n")
        os.replace(checksum, folder / "checksum")
    finally:
        shutil.rmtree(job_dir, ignore_errors=True)


def _process_reason(outcome: sandbox.ProcessOutcome, phase: str) -> str:
    if outcome.timed_out:
        return f"did not finish within the time limit (last phase: {phase})"
    if outcome.signal_name:
        return f"the process was killed by {outcome.signal_name} during {phase}"
    return f"the process exited with status {outcome.returncode} during {phase} without reporting a result"


def evaluate(
    problem_path: Path | str, candidate_source: str | bytes, settings: EvalSettings, *, last: bool = False
) -> EvalResult:
    """Evaluate one candidate against one problem. Raises HarnessError only when the harness cannot run.

    `candidate_source` may be the file's bytes: source that is not UTF-8 is a compile_error. `last`: no
    further evaluation follows in this process (a one-shot command), so no standby candidate process is
    started for a next one (`sandbox.StandbyPool.take`); the verdict is the same either way."""
    return _evaluate(problem_path, candidate_source, settings, {"": settings}, last=last)[""]


def evaluate_policies(problem_path: Path | str, candidate_source: str | bytes,
                      judged: dict[str, EvalSettings], writable: tuple[Path, ...] = (),
                      build_replay: list[dict[str, Any]] | None = None) -> dict[str, EvalResult]:  # fmt: skip
    """One candidate process judged under several rule sets at once (e.g. a published kernel under this
    project's rules and under its benchmark's): each verdict is the one a run under its own settings
    gives, at the cost of one run.

    The settings may differ only in `JUDGING_ONLY` fields (ops policy, tolerance). The run allows
    PyTorch ops when any rule set does; where a rule set refusing them would have stopped (an op
    outside the tracer, a disallowed op in shape 0's trials), the worker says so as it happens, and
    that rule set's verdict is the refusal whatever the run did afterwards. Tolerances apply in the
    parent, on the outputs received.

    `writable`: folders of this candidate's own (e.g. the `load_inline` build a parallel prebuild made
    for it, which torch must lock and may update) that its process may write besides its job folder;
    they are handed to its uid. Never a folder another candidate or the harness uses.

    `build_replay`: that prebuild's records (`buildreplay.sanitize`): a `load_inline`/`load` call of the
    candidate with the same key as a build the prebuild saw fail at the compiler fails at once with the
    recorded error; the worker installs the hook before importing the candidate. What was replayed is
    in `overhead["build_replay"]`."""
    if not judged:
        raise ValueError("evaluate_policies: give at least one rule set")
    first = next(iter(judged.values()))
    keep = ("gpu", "timeout_s", *JUDGING_ONLY)
    for name, s in judged.items():
        if (s.fingerprint(exclude=keep), s.gpu, s.timeout_s) != (
            first.fingerprint(exclude=keep),
            first.gpu,
            first.timeout_s,
        ):
            raise ValueError(
                f"evaluate_policies: rule set {name!r} differs from the first in more than {JUDGING_ONLY}; "
                "judge those in runs of their own"
            )
    loose = any(s.ops_policy == "any" for s in judged.values())
    run = dataclasses.replace(first, ops_policy="any" if loose else "kernels", tolerance=None)
    stops = loose and any(s.ops_policy == "kernels" for s in judged.values())
    return _evaluate(problem_path, candidate_source, run, judged, strict_stops=stops, writable=writable,
                     build_replay=buildreplay.sanitize(build_replay or []))  # fmt: skip


def _evaluate(problem_path: Path | str, candidate_source: str | bytes, settings: EvalSettings,
              judged: dict[str, EvalSettings], strict_stops: bool = False,
              writable: tuple[Path, ...] = (), alone: bool = False,
              build_replay: list[dict[str, Any]] | None = None, last: bool = False) -> dict[str, EvalResult]:  # fmt: skip
    """Run the candidate once under `settings` and judge the run under each of `judged`. Its device may
    be shared with other candidates except while it is timed (`gpugate`); a run that ran out of device
    memory while it shared the device is run again with the device to itself (`alone`). `last`: see
    `evaluate`."""
    t_start = time.monotonic()
    problem_path = Path(problem_path).resolve()
    try:
        problem_src = problem_path.read_text()
    except OSError as exc:
        raise HarnessError(f"cannot read problem file {problem_path}: {exc.strerror}") from None
    cand_sha = sha256(candidate_source)
    base = {"problem": str(problem_path), "candidate_sha256": cand_sha}
    prov: dict[str, Any] = {"harness_version": HARNESS_VERSION, "problem_sha256": sha256(problem_src)}

    def own(s: EvalSettings) -> dict[str, Any]:
        return {"settings": s.to_dict(), **prov}

    early: str | None = None
    if isinstance(candidate_source, bytes):
        try:
            candidate_source = candidate_source.decode("utf-8")
        except UnicodeDecodeError as exc:
            early = (
                f"the candidate is not UTF-8 text (byte 0x{candidate_source[exc.start]:02x} at offset "
                f"{exc.start}): save it as UTF-8"
            )
    if early is None:
        try:
            pysource.parse(candidate_source)
        except SyntaxError as exc:
            early = f"SyntaxError in the candidate at line {exc.lineno}: {exc.msg}"
    if early is not None:
        return {n: EvalResult("compile_error", early, provenance=own(s), **base) for n, s in judged.items()}
    assert isinstance(candidate_source, str)
    t_ref = time.monotonic()
    gpugate.quiet(settings.device, settings.gpu)
    bundle = reference_bundle(problem_path, problem_src, settings)
    ref_s = time.monotonic() - t_ref
    ref_prov = bundle.get("provenance") or {}
    prov.update({k: v for k, v in ref_prov.items() if k != "settings"})
    # The device facts come from the (cached) reference run; the commit and the date are this evaluation's,
    # taken here because candidate processes see neither the checkout's .git nor KERNELATLAS_* variables.
    prov.update(git=git_commit(), date=utc_now(), reference_date=ref_prov.get("date"))
    marks = [("reference bundle", ref_s)]  # the evaluating process's own phases (`overhead.parent_s`)
    t_mark = time.monotonic()

    def mark(name: str) -> None:
        nonlocal t_mark
        now = time.monotonic()
        marks.append((name, now - t_mark))
        t_mark = now

    worker = sandbox.POOL.take(settings.device, settings.gpu, replace=not last)
    mark("take a worker (and start its replacement)")
    job_dir = worker.job_dir
    turn: gpugate.Turn | None = None
    on_arrival: prejudge.Prejudge | None = None
    try:
        cand_file = job_dir / f"candidate_{cand_sha[:12]}.py"
        cand_file.write_text(candidate_source)
        # The candidate reads its task from its own folder: the checkout is outside its reach.
        problem_copy = job_dir / "problem.py"
        problem_copy.write_text(problem_src)
        extra = [str(Path(d).resolve()) for d in writable]
        for d in extra:
            try:
                sandbox.hand_over(Path(d), worker.uid)
            except OSError as exc:
                raise HarnessError(f"cannot hand {d} to the candidate: {exc}") from None
        plan = {"problem": str(problem_copy), "candidate": str(cand_file), "strict_stops": strict_stops,
                "writable": extra, "build_replay": build_replay or [],
                "graph_calls": ((bundle.get("batch") or {}).get("graph") or {}).get("calls")}  # fmt: skip
        plan_path = _plan("candidate", job_dir, plan, settings)
        prov["isolation"] = isolation.describe(worker.uid)
        session = Session(
            settings,
            [int(x) for x in bundle.get("pool_seeds") or []],
            [
                bundle["outputs"].get(f"pool/{j}@positions") or []
                for j in range(len(bundle.get("pool_seeds") or []))
            ],
            batch=bundle.get("batch"),
            pid=worker.proc.pid,
        )
        # Other candidates may share the device (compiling, running trials); its timing has it alone.
        turn = gpugate.Turn(settings.device, settings.gpu, lambda: procfs.descendants(worker.proc.pid),
                            alone=alone)  # fmt: skip
        session.turn = turn
        session.prejudge = on_arrival = _prejudge(session, bundle, next(iter(judged.values())))
        mark("prepare the job")
        turn.start()  # the plan goes out (and CUDA is initialised) once the device may be shared
        mark("gate")
        spawned = time.time()
        outcome = sandbox.wait(worker, plan_path, settings.timeout_s, serve=session, turn=turn)
        mark("candidate process")
        phase = _last_phase(job_dir)
        phases = _phase_times(job_dir, spawned, spawned + outcome.wall_s)
    except BaseException:
        if on_arrival is not None:
            on_arrival.close()
        raise
    finally:
        if turn is not None:
            turn.close()
        if not os.environ.get("KERNELATLAS_KEEP_JOBS"):
            shutil.rmtree(job_dir, ignore_errors=True)
    mark("clean up")
    results: dict[str, EvalResult] = {}
    gpugate.quiet(settings.device, settings.gpu)  # a sibling's candidate may be timed on our device
    mark("wait for a sibling's timing")
    try:
        for name, s in judged.items():
            stopped = _strict_stop(s, settings, session, bundle, base, own(s)) if strict_stops else None
            results[name] = stopped or _judge(problem_path, s, bundle, phase, outcome, session, base, own(s))
    finally:
        if session.prejudge is not None:
            session.prejudge.close()
    mark("judge")
    wall = time.monotonic() - t_start
    for result in results.values():
        timed_s = (result.candidate_ms or {}).get("median") or 0.0
        result.overhead = {
            "wall_s": round(wall, 3),
            "reference_s": round(ref_s, 3),
            "candidate_process_s": round(outcome.wall_s, 3),
            "compile_s": round((result.compile_ms or 0.0) / 1e3, 3),
            "timed_region_s": round(timed_s * ((result.candidate_ms or {}).get("n") or 0) / 1e3, 3),
            "phases_s": phases,
            "parent_s": {name: round(sec, 3) for name, sec in marks},
            "reference_phases_s": bundle.get("phases_s") or {},
            "runs_judged_together": len(judged),
            # Trial outputs judged from comparisons made while the candidate ran (`prejudge`; None: the CPU
            # path, which compares after the run).
            "compared_on_arrival": session.prejudge.taken if session.prejudge is not None else None,
            "gate": turn.report() if turn is not None else None,
            **({"build_replay": _replay_note(session.report, build_replay)} if build_replay else {}),
        }
    if not alone and turn is not None and turn.member.shared and any(map(_out_of_memory, results.values())):
        again = _evaluate(
            problem_path,
            candidate_source,
            settings,
            judged,
            strict_stops,
            writable,
            alone=True,
            build_replay=build_replay,
            last=last,
        )
        for result in again.values():
            result.overhead["rerun_alone"] = "ran out of memory while another candidate shared the device"
        return again
    return results


def _replay_note(report: dict[str, Any] | None, records: list[dict[str, Any]]) -> dict[str, Any]:
    """What the worker's build-replay hook says it did, limited to the builds the records name (the
    candidate's process could write anything here: a note for the reader, never read to judge)."""
    names = {r["name"] for r in records}
    note = (report or {}).get("build_replay")
    note = note if isinstance(note, dict) else {}

    def listed(key: str) -> list[str]:
        value = note.get(key)
        return [v for v in value if v in names][:64] if isinstance(value, list) else []

    missed = note.get("missed")
    missed = missed if isinstance(missed, dict) else {}
    return {
        "replayed": listed("replayed"),
        "redirected": listed("redirected"),
        "missed": {
            k: [str(x)[:200] for x in v][:12] for k, v in missed.items() if k in names and isinstance(v, list)
        },
    }


def _out_of_memory(result: EvalResult) -> bool:
    return result.verdict == "runtime_error" and "out of memory" in (result.reason or "").lower()


def _strict_stop(judged: EvalSettings, run: EvalSettings, session: Session, bundle: dict[str, Any],
                 base: dict[str, Any], prov: dict[str, Any]) -> EvalResult | None:  # fmt: skip
    """The refusal a run under ops_policy="kernels" would have ended with, where the shared run (under
    "any") passed the point at which it would have stopped; None when it did not get there."""
    stop = session.strict_stop
    if judged.ops_policy != "kernels" or run.ops_policy != "any" or stop is None:
        return None
    from repro.harness.opcheck import forbidden_ops, forbidden_reason, tripwire_reason

    common = dict(base, provenance=prov, reference_ops=bundle.get("ops", {}), ops=dict(stop["ops"]))
    if stop["kind"] == "tripwire":
        return EvalResult("rejected", tripwire_reason(stop["op"]), **common)
    forbidden = forbidden_ops(stop["ops"], list(bundle.get("allowed_ops") or []))
    if not forbidden:
        return None
    return EvalResult("rejected", forbidden_reason(forbidden, bundle.get("ops", {})), **common)


def _determinism(outputs: dict[str, list[torch.Tensor]], key: str, tols: list[list[float]], label: str,
                 pos: list[torch.Tensor | None] | None, shp: Any) -> compare.Mismatch | None:  # fmt: skip
    """The repeated run against the first run of the same inputs. Sampled outputs of the repeat
    carry the first run's positions first (see `worker._store`), so those are compared value for value."""
    first, repeat = outputs[f"{key}/first"], outputs[f"{key}/repeat"]
    first_pos = _positions(outputs.get(f"{key}/first@positions"))
    if first_pos is None:
        return compare.compare_one(repeat, first, tols, label + " (determinism)", pos, shp)[0]
    label += " (determinism, at the first run's sampled positions)"
    if pos is None or len(pos) != len(first_pos) or len(repeat) != len(first):
        return compare.Mismatch(f"{label}: the outputs were not sampled alike")
    cand, ref = [], []
    for k, (fp, rp) in enumerate(zip(first_pos, pos, strict=True)):
        if fp is None:  # sent in full both times
            cand.append(repeat[k])
            ref.append(first[k])
            continue
        if rp is None or rp.numel() < fp.numel() or not torch.equal(rp[: fp.numel()], fp):
            return compare.Mismatch(f"{label}: the outputs were not sampled alike")
        cand.append(repeat[k][: fp.numel()])
        ref.append(first[k])
    return compare.compare_one(cand, ref, tols, label)[0]


def _override_tolerance(tols: dict[str, list], refs: dict[str, list[torch.Tensor]],
                        tolerance: tuple[float, float]) -> dict[str, list]:  # fmt: skip
    """The settings' (atol, rtol) for every floating-point output; integer outputs stay exact."""
    return {
        key: [
            list(tolerance) if r.is_floating_point() or r.is_complex() else t
            for r, t in zip(refs[key], tols[key], strict=True)
        ]  # fmt: skip
        for key in tols
    }


FAILURE_VERDICTS = ("incorrect", "rejected", "compile_error", "runtime_error")


def _trial_label(bundle: dict[str, Any], key: str, tag: str) -> str:
    """How a mismatch names a trial output `s{i}/t{j}` of run `tag`: its shape, the run and the trial."""
    si, trial = key.split("/t")
    where = {"first": "trial", "repeat": "repeated run of trial",
             "after_ref": "run after the reference of trial"}[tag]  # fmt: skip
    return f"shape {si[1:]} {bundle['shapes'][int(si[1:])]}, {where} {trial}"


def _prejudge(session: Session, bundle: dict[str, Any], settings: EvalSettings) -> prejudge.Prejudge | None:
    """On CUDA, compare trial outputs as they arrive (`prejudge`), with the tolerance of `settings`."""
    if settings.device != "cuda":
        return None
    refs, tols = bundle["outputs"], bundle.get("tolerance", {})
    if settings.tolerance is not None:
        tols = _override_tolerance(tols, refs, settings.tolerance)
    judge = prejudge.Prejudge(refs, tols, lambda key, tag: _trial_label(bundle, key, tag))

    def arrived(ck: str) -> None:
        judge.submit(ck, session.outputs[ck], _positions(session.outputs.get(f"{ck}@positions")),
                     session.out_shapes.get(ck))  # fmt: skip

    session.on_output, session.before_batch = arrived, judge.settle
    return judge


def _judge(problem_path, settings, bundle, phase: str, outcome, session: Session, base, prov) -> EvalResult:
    """The verdict, from what the parent received over the channel (never from files the candidate's
    process could rewrite afterwards) and the reference bundle; `phase` is the last the worker entered."""
    common = dict(base, provenance=prov, reference_ops=bundle.get("ops", {}), shapes=[])
    report = session.report
    if session.violation:
        return EvalResult(
            "rejected",
            f"the harness's channel carried {session.violation} (during {phase}): the candidate tampered "
            "with the worker's messages",
            **common,
        )
    if outcome.timed_out:
        return EvalResult(
            "timeout",
            f"the candidate did not finish within {settings.timeout_s:g} s (last phase: {phase})",
            **common,
        )
    if report is None or report.get("status") not in ("done", "failed"):
        return EvalResult("crash", _process_reason(outcome, phase), detail=outcome.log_tail, **common)
    common["ops"] = dict(session.ops)  # as the parent received them, op by op
    iso = report.get("isolation")
    if isinstance(iso, dict):
        prov["isolation"] = {**prov.get("isolation", {}), **{f"worker_{k}": v for k, v in iso.items()}}
    if report["status"] == "failed":
        verdict = report.get("verdict")
        if verdict not in FAILURE_VERDICTS:
            verdict = "rejected"
        return EvalResult(verdict, str(report.get("reason", "failed")), detail=str(report.get("detail", "")),
                          **common)  # fmt: skip
    from repro.harness.opcheck import forbidden_ops, forbidden_reason

    forbidden = forbidden_ops(session.ops, list(bundle.get("allowed_ops") or []))
    if settings.ops_policy == "kernels" and (forbidden or report.get("forbidden_ops")):
        return EvalResult(
            "rejected", forbidden_reason(forbidden or list(report["forbidden_ops"]), bundle.get("ops", {})),
            **common,
        )  # fmt: skip
    outputs = session.outputs
    refs, tols = bundle["outputs"], bundle.get("tolerance", {})
    if settings.tolerance is not None:
        tols = _override_tolerance(tols, refs, settings.tolerance)
    out_shapes = session.out_shapes
    shapes_detail: dict[str, dict[str, Any]] = {}
    for key in sorted(k for k in refs if not k.startswith("pool/")):
        si = key.split("/")[0]
        d = shapes_detail.setdefault(
            si, {"shape": bundle["shapes"][int(si[1:])], "max_abs_err": 0.0, "checked": 0}
        )
        for tag in ("first", "repeat", "after_ref"):
            ck = f"{key}/{tag}"
            if ck not in outputs:
                if tag == "first" or int(key.split("/t")[1]) == 0:
                    return EvalResult(
                        "crash", f"the candidate's worker did not send the output {ck}", **common
                    )
                continue
            label = _trial_label(bundle, key, tag)
            pos = _positions(outputs.get(f"{ck}@positions"))
            shp = out_shapes.get(ck)
            done = session.prejudge.take(ck, outputs[ck], tols[key], pos, shp) if session.prejudge else None
            mismatch, worst = done or compare.compare_one(outputs[ck], refs[key], tols[key], label, pos, shp)
            d["max_abs_err"] = max(d["max_abs_err"], worst)
            d["checked"] += 1
            if mismatch:
                common["shapes"] = list(shapes_detail.values())
                return EvalResult("incorrect", mismatch.reason, **common)
            if tag == "repeat":
                again = _determinism(outputs, key, tols[key], label, pos, shp)
                if again:
                    return EvalResult("incorrect", "not deterministic: " + again.reason, **common)
    common["shapes"] = list(shapes_detail.values())
    if not session.event_ms:
        return EvalResult("crash", "the candidate's worker reported success without timing", **common)
    timed = _check_timed(session, bundle, tols.get("s0/t0") or [])
    if timed is not None:
        return EvalResult("incorrect", timed, **common)
    cand = session.timing_summary(settings.device)
    impossible = _physical_floor(bundle, session, cand.get("median"))
    if impossible:
        return EvalResult("rejected", impossible, candidate_ms=cand, **common)
    clock: dict[str, Any] | None = None
    if bundle.get("batch"):
        clock, failure = _check_batch(session, bundle, tols.get("s0/t0") or [], cand.get("median"),
                                      settings.device, base["candidate_sha256"])  # fmt: skip
        if failure is not None:
            return EvalResult(failure[0], failure[1], candidate_ms=cand, checks={"parent_clock": clock},
                              **common)  # fmt: skip
        if clock is not None and clock.get("median_raised_to_ms") is not None:
            # The batch ran slower than the timed loop and agreed with its own calls' times (CPU path), or
            # only the host explains it where the worker declined graph rounds (CUDA): the report counts at
            # that slower time (`clockcheck.judge_time`).
            cand = dict(cand, median=clock["median_raised_to_ms"], timed_loop_median=cand.get("median"))
    baselines = bundle.get("baselines", {})
    speedups = {
        k: (b["median"] / cand["median"]) if b.get("median") and cand.get("median") else None
        for k, b in baselines.items()
    }
    first = next((k for k in settings.baselines if speedups.get(k) is not None), None)
    sol = peaks.sol_fraction(bundle.get("flops"), bundle.get("bytes_moved"), bundle.get("dtype", ""),
                             cand.get("median"), bundle.get("peaks"))  # fmt: skip
    checks = {"trials": settings.correctness_trials, "shapes": len(bundle["shapes"]),
              "timed_outputs_checked": len(session.timed_values),
              "side_work_ms": cand.get("side_work_ms"), "parent_clock": clock}  # fmt: skip
    compile_ms = report.get("compile_ms")
    return EvalResult(
        "correct",
        f"all outputs match the reference within tolerance ({checks['shapes']} shape(s) x "
        f"{settings.correctness_trials} trials, plus repeat, after-reference and "
        f"{checks['timed_outputs_checked']} timed iterations on unseen inputs)"
        + (_raised_note(cand, clock) if "timed_loop_median" in cand else ""),
        speedup=speedups.get(first) if first else None,
        speedups=speedups,
        baseline=first,
        baseline_ms={k: v for k, v in baselines.items()},
        candidate_ms=cand,
        compile_ms=float(compile_ms) if isinstance(compile_ms, int | float) else None,
        sol_fraction=sol,
        timing=CPU_TIMING_NOTE if settings.device == "cpu" else cand.get("method"),
        checks=checks,
        **common,
    )


def _check_timed(session: Session, bundle: dict[str, Any], tols: list[list[float]]) -> str | None:
    """The timed iterations the parent chose to check, against the reference pool; a reason or None."""
    if session.checked and not session.timed_values:
        return "the timed iterations' outputs never reached the parent"
    pool_shapes = bundle.get("pool_shapes") or []
    for ti, j in sorted(session.checked.items()):
        values = session.timed_values.get(j)
        if values is None:
            return f"timed iteration {ti}: its output was not sent"
        where = f"timed iteration {ti} (unseen inputs)"
        expected = pool_shapes[j] if j < len(pool_shapes) else None
        got = session.timed_shapes.get(j)
        if expected is not None and got != expected:
            return f"{where}: output shapes {got}, expected {expected}"
        mismatch, _ = compare.compare_one(values, bundle["outputs"][f"pool/{j}"], tols, where)
        if mismatch:
            return mismatch.reason
    return None


def _check_batch(session: Session, bundle: dict[str, Any], tols: list[list[float]], median_ms: float | None,
                 device: str, sha: str) -> tuple[dict[str, Any] | None, tuple[str, str] | None]:  # fmt: skip
    """The parent-clocked batch (`clockcheck`): its projections against the reference's, then the
    reported median against the parent's clock. (what it measured, (verdict, reason) or None)."""
    ref = bundle["batch"]
    rounds = session.batch_rounds
    if median_ms is None:
        return None, None
    if not rounds:  # no pool to draw from (the report is refused before the batch has ended)
        return None, None
    if any("ms" not in r for r in rounds):
        return None, ("rejected", "the parent-clocked batch did not run to its end: the candidate's worker "
                      "left the harness's protocol")  # fmt: skip
    mode = session.batch_mode
    for r, rnd in enumerate(rounds):
        orders = rnd.get("orders") or [["c"] * len(got) for got in rnd["projections"]]
        pool = ref["graph"]["pool"] if mode == "graph" else ref["pool"]
        for c, (j, got, order) in enumerate(zip(rnd["pool"], rnd["projections"], orders, strict=True)):
            terms = pool[j]
            if len(got) != len(terms["p"]):
                return None, ("incorrect", f"parent-clocked batch, round {r} call {c} (unseen inputs): "
                              f"{len(got)} output(s), expected {len(terms['p'])}")  # fmt: skip
            for k, p in enumerate(got):
                atol, rtol = tols[k] if k < len(tols) else (0.0, 0.0)
                known = clockcheck.reference_projection(terms, k, order[k])
                if known is None:
                    return None, ("incorrect", f"parent-clocked batch, round {r} call {c} (unseen inputs), "
                                  f"output {k}: projected in memory order {order[k]!r}, which the reference's "
                                  "pool has no projection in for an output of this rank: return outputs of "
                                  "the reference's shape")  # fmt: skip
                q, wr = known
                allowed = clockcheck.allowed_difference(terms, k, atol, rtol, wr)
                if not math.isfinite(p) or abs(p - q) > allowed:
                    return None, ("incorrect", f"parent-clocked batch, round {r} call {c} (unseen inputs), "
                                  f"output {k}: its projection on a random vector is {p:.6g}, the "
                                  f"reference's {q:.6g} (at most {allowed:.3g} apart within atol={atol:g}, "
                                  f"rtol={rtol:g}): the output differs from the reference")  # fmt: skip
    calls = len(rounds[0]["pool"])
    v = clockcheck.judge_time([r["ms"] for r in rounds], calls, median_ms, ref, device,
                              [r.get("cpu_ms") for r in rounds], [r.get("call_ms") for r in rounds],
                              mode)  # fmt: skip
    cuda = device == "cuda"
    own = (ref["graph"]["dev_ms"] if mode == "graph" else ref["dev_ms"]) if cuda else ref["gen_ms"]
    clock = {"calls": calls, "rounds_ms": [round(x, 4) for x in v.rounds_ms],
             "rounds_cpu_ms": [None if r.get("cpu_ms") is None else round(r["cpu_ms"], 4) for r in rounds],
             "rounds_per_call_ms": [round(x, 6) for x in v.rounds_per_call_ms],
             "rounds_pause_s": [r.get("pause_s", 0.0) for r in rounds], "per_call_ms": round(v.per_call_ms, 6),
             "allowed_ms": round(v.allowed_ms, 6), "reported_ms": median_ms,
             "overhead_per_call_ms": round(ref["gen_ms"], 6),
             "orders": sorted({o for rnd in rounds for call in rnd.get("orders") or [] for o in call}),
             "rounds_call_ms": [None if r.get("call_ms") is None else round(r["call_ms"], 4) for r in rounds],
             "median_raised_to_ms": v.raised_ms}  # fmt: skip
    if cuda:
        clock |= {
            "own_device_ms": round(own, 6),
            "own_launch_ms": round(ref["launch_ms"], 6),
            "bound": v.bound,
            "mode": mode,
            "graph_declined": session.graph_declined,
        }
    if not v.contradicts:
        return clock, None
    tol = clockcheck.TOLERANCE.get(device, clockcheck.TOLERANCE["cpu"])
    if not cuda:
        why = f"{tol:.0%} over the median"
    elif v.bound == "graph":
        why = (f"the device's bound for a round replayed as one CUDA graph: the call up to "
               f"{clockcheck.GRAPH_TOLERANCE:.0%} or {clockcheck.GRAPH_CALL_SLACK_MS:g} ms over the median, plus "
               f"{clockcheck.OWN_COST_SHARE:.0%} of the own device time for its error")  # fmt: skip
    elif v.bound == "device":
        why = (f"the device's bound: the call up to {tol:.0%} or {clockcheck.CALL_SLACK_MS:g} ms over the median, "
               f"plus {clockcheck.OWN_COST_SHARE:.0%} of the own "
               "device time for its error and the host's queuing of one call spread over the calls")  # fmt: skip
    else:
        why = (f"the host's bound: queuing the own work ({ref['launch_ms']:.3g} ms a call in the reference "
               f"worker) up to {clockcheck.HOST_SPEED_SPREAD:g}x slower, plus the candidate's launches up to "
               f"the timed loop's {timing.PREROLL_MS:g} ms pre-roll and the median")  # fmt: skip
    return clock, ("rejected", (
            f"the evaluating process's clock contradicts the reported time of candidate {sha[:12]}: its worker "
            f"reported a median of {median_ms:.4g} ms per call, but {calls} back-to-back calls on unseen inputs "
            f"took {min(v.rounds_ms):.4g} ms on the parent's clock ({len(rounds)} round(s) on fresh seeds, "
            f"{', '.join(f'{x:.4g}' for x in v.rounds_per_call_ms)} ms per call; the fastest counted"
            f"{', by the CPU time of its processes' if v.cpu_counted else ''}), {v.per_call_ms:.4g} ms "
            f"per call less the batch's own {'device time' if cuda else 'cost'} ({own:.3g} ms per "
            f"call, timed by the reference worker); at most {v.allowed_ms:.4g} ms is allowed ({why}). The timing "
            "was tampered with, or the kernel is fast only on the timed loop's reused buffers (the batch's are "
            "fresh); fix: leave the harness's channel to its worker, which reports its own measurements, and do "
            "not key cached work on input addresses"
    ))  # fmt: skip


def _raised_note(cand: dict[str, Any], clock: dict[str, Any] | None) -> str:
    """Why the report counts at a slower time than the timed loop's median (`clockcheck.judge_time`)."""
    loop = cand["timed_loop_median"]
    if (clock or {}).get("mode") == "fallback":
        return (f"; timed at {cand['median']:.4g} ms, the parent's per-call time for its eager batch, not the "
                f"timed loop's {loop:.4g} ms: its worker declined the batch replayed as a CUDA graph (a kernel "
                "that cannot be captured), and only the host's queuing explained the batch's time; fix: launch "
                "on the current stream and keep forward free of synchronisations to be timed at device speed")  # fmt: skip
    return (f"; timed at {cand['median']:.4g} ms, its calls' own median in the parent-clocked batch, not the "
            f"timed loop's {loop:.4g} ms (the batch ran slower, as timed by the parent)")  # fmt: skip


def _physical_floor(bundle: dict[str, Any], session: Session, median_ms: float | None) -> str | None:
    """A reason when the median is below what the device can physically do: writing the outputs once at
    the measured copy bandwidth, or the task's FLOPs at the highest matmul rate measured (any dtype)."""
    pk = bundle.get("peaks")
    if not pk or median_ms is None:
        return None
    shapes = (bundle.get("pool_shapes") or [[]])[0]
    ref0 = bundle["outputs"].get("s0/t0") or []
    out_bytes = sum(math.prod(shape) * t.element_size() for shape, t in zip(shapes, ref0, strict=False))
    floors = []
    if out_bytes and pk.get("copy_bytes_per_s"):
        floors.append((out_bytes / pk["copy_bytes_per_s"] * 1e3, f"writing its {out_bytes / 1e6:.3g} MB of output "
                       f"once at the measured copy bandwidth ({pk['copy_bytes_per_s'] / 1e12:.3g} TB/s)"))  # fmt: skip
    rates = [r for r in (pk.get("flops_per_s") or {}).values() if r]
    if bundle.get("flops") and rates:
        floors.append((bundle["flops"] / max(rates) * 1e3, f"{bundle['flops']:.3g} FLOP at the device's "
                       f"highest measured rate ({max(rates) / 1e12:.3g} TFLOP/s)"))  # fmt: skip
    for floor_ms, what in floors:
        if median_ms < FLOOR_MARGIN * floor_ms:
            return (
                f"physically impossible time: a median of {median_ms:.4g} ms is faster than {what}, "
                f"{floor_ms:.4g} ms; the timing was tampered with"
            )
    return None
