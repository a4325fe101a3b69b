"""The reproduction behind the site's reproduced-results pages (`python -m repro reproduce`, `make repro`).

For every task of the chosen suites it measures, task by task: the `eager` and `torch.compile`
baselines (the harness's reference bundle), the hand-written reference solution (`solutions`), and the
offline agentic loops (`evolve` and `refine` with the `mutate` proposer, which starts from the
template library and then mutates tunables). Results go to one file per method and suite:

    <out>/<gpu-slug>/<suite>/<method>.json   e.g. repro/results/nvidia-h100-80gb-hbm3/level1/evolve.json

Each file carries full provenance (device, driver, CUDA, torch, triton, settings, git commit, date),
the method's configuration, one compact record per task and the suite metrics of the measured tasks
(`repro.records.suite_results.suite_metrics`). Files are rewritten atomically after every finished unit of
work, so an interrupted run keeps what it measured. A unit is keyed by (task, method, settings hash,
commit): a rerun skips units already measured for the same commit and settings; `--force` redoes them
(baseline timings still come from the harness's reference cache, `$KERNELATLAS_CACHE/refs`: clear it to
time the baselines afresh).
Tasks are visited alternating between suites, so a `--deadline-s` that stops the run early leaves a
sample of every suite rather than one suite complete and the other empty.

Tasks run in parallel lanes, one per GPU of `--gpus` (`--workers N` on CPU): a lane takes the next
whole task and measures all its units on its own GPU, baselines first, so every speedup of a task
compares timings taken on one device. Each record says which GPU it ran on (`gpu_index`). With
`--backend ray` one lane submits the units in turn and the cluster places each evaluation.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import shutil
import sys
import threading
import time
from concurrent.futures import Future
from itertools import zip_longest
from pathlib import Path
from typing import Any

from repro.records.reproduction import FORMAT, FORMAT_VERSION, ResultFile
from repro.records.verdicts import Status

RESULTS_ROOT = Path(__file__).resolve().parents[1] / "results"
CPU_RESULTS_ROOT = Path("runs") / "reproduce-results"  # CPU numbers test the mechanism; never committed
METHODS = ("baselines", "solutions", "evolve", "refine")
# The loops as reproduced: offline proposer and loop parameters. evolve keeps its defaults (two islands
# of four: the first eight candidates cover a template's configurations, the rest evolve them);
# refine starts from its best candidate each turn.
LOOP_METHODS: dict[str, dict[str, Any]] = {
    "evolve": {"proposer": "mutate", "loop_args": {}},
    "refine": {"proposer": "mutate", "loop_args": {"refine_from": "best", "history": 1}},
}
REASON_CHARS = 300


# -- small helpers --------------------------------------------------------------------------------------


def _sha(text: str | bytes) -> str:
    from repro.harness.evaluate import sha256

    return sha256(text)


def _timing(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """The parts of a harness timing summary worth keeping: median, spread and sample size."""
    if not summary:
        return None
    return {k: summary.get(k) for k in ("median", "p10", "p90", "n") if summary.get(k) is not None}


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def _outcome(record: dict[str, Any]) -> str:
    """A unit's result in a few words, for the log."""
    if record["status"] != Status.MEASURED:
        return f"{record['status']} {record.get('reason', '')}"[:120]
    if "baseline_ms" in record and "verdict" not in record:
        return ", ".join(f"{k} {(v or {}).get('median', 0):.4g} ms" for k, v in record["baseline_ms"].items())
    speedups = ", ".join(f"{v:.2f}x vs {k}" for k, v in (record.get("speedups") or {}).items() if v)
    return f"{record['verdict']} {speedups}".strip()


def _interleave(suites: list[str]) -> list[tuple[str, Any]]:
    """(suite, task) pairs alternating between suites: level1 #1, level2 #1, level1 #2, ..."""
    from repro.tasks import list_tasks

    per_suite = [[(s, t) for t in list_tasks(s)] for s in suites]
    return [pair for group in zip_longest(*per_suite) for pair in group if pair is not None]


class DedupBackend:
    """Evaluates each (problem, source, settings) once per run: the loops often propose the same
    template configuration, and the harness's verdict and timing for it would only be repeated."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.slots = inner.name, inner.slots
        self._seen: dict[tuple[str, str, str], Future] = {}

    def submit(self, problem: Path, candidate_source: str | bytes, settings: Any) -> Future:
        key = (str(problem), _sha(candidate_source), settings.fingerprint())
        if key not in self._seen:
            self._seen[key] = self.inner.submit(problem, candidate_source, settings)
        return self._seen[key]

    def close(self) -> None:
        self.inner.close()


# -- the units of work ----------------------------------------------------------------------------------


def measure_baselines(task: Any, settings: Any) -> dict[str, Any]:
    """Eager and torch.compile timings of the task's reference, from the harness's reference bundle
    (cached, so the evaluations of this task that follow reuse it)."""
    from repro.harness import peaks
    from repro.harness.evaluate import reference_bundle

    bundle = reference_bundle(task.path, task.path.read_text(), settings)
    timings = {k: _timing(v) for k, v in (bundle.get("baselines") or {}).items()}
    sol = {
        k: peaks.sol_fraction(bundle.get("flops"), bundle.get("bytes_moved"), bundle.get("dtype", ""),
                              (v or {}).get("median"), bundle.get("peaks"))
        for k, v in timings.items()
    }  # fmt: skip
    return {"status": Status.MEASURED, "baseline_ms": timings, "sol_fraction": sol, "dtype": bundle.get("dtype"),
            "flops": bundle.get("flops"), "bytes_moved": bundle.get("bytes_moved")}  # fmt: skip


def _candidate_record(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "status": Status.MEASURED, "verdict": result.get("verdict"), "correct": bool(result.get("correct")),
        "reason": _short(result.get("reason")), "candidate_ms": _timing(result.get("candidate_ms")),
        "baseline_ms": {k: (v or {}).get("median") for k, v in (result.get("baseline_ms") or {}).items()},
        "speedups": result.get("speedups") or {}, "sol_fraction": result.get("sol_fraction"),
    }  # fmt: skip


def measure_solution(task: Any, settings: Any, backend: Any) -> dict[str, Any]:
    """The hand-written reference solution, evaluated like any candidate."""
    from repro.backends import EvaluationLost
    from repro.harness import HarnessError

    if task.solution is None:
        return {"status": Status.NO_SOLUTION, "reason": "no hand-written solution for this task"}
    source = task.solution.read_text()
    try:
        result = backend.submit(task.path, source, settings).result()
    except (HarnessError, EvaluationLost) as exc:
        return {"status": Status.FAILED, "reason": _short(str(exc))}
    return {**_candidate_record(result), "source_path": task.solution.relative_to(RESULTS_ROOT.parent.parent).as_posix(),
            "source_sha256": _sha(source)}  # fmt: skip


def loop_config(method: str, budget: int) -> dict[str, Any]:
    """The loop's full parameter set: its defaults with this reproduction's overrides."""
    from repro.loops import loop_params, params_dict

    params = params_dict(loop_params(method, LOOP_METHODS[method]["loop_args"]))
    return {
        "loop": method,
        "proposer": LOOP_METHODS[method]["proposer"],
        "budget": budget,
        "loop_args": params,
    }


def measure_loop(task: Any, method: str, config: dict[str, Any], settings: Any, backend: Any,
                 work: Path, hardware: str) -> dict[str, Any]:  # fmt: skip
    """One offline loop on one task; the record holds its best correct kernel (source included)."""
    from repro.backends import EvaluationLost
    from repro.harness import HarnessError
    from repro.loops import loop_params, run_loop
    from repro.loops.core import LoopRun
    from repro.proposers import make_proposer
    from repro.records.ledger import Budget, Ledger

    shutil.rmtree(work, ignore_errors=True)  # a unit is redone whole; its trajectory is for inspection
    work.mkdir(parents=True)
    ledger = Ledger(work, Budget(config["budget"]))
    r = LoopRun(task, make_proposer(config["proposer"]), settings, ledger, work, seed=settings.seed,
                hardware=hardware, backend=backend)  # fmt: skip
    try:
        run_loop(r, method, loop_params(method, config["loop_args"]))
    except (HarnessError, EvaluationLost) as exc:
        return {"status": Status.FAILED, "reason": _short(str(exc)), "candidates": len(r.history)}
    ledger.save()
    verdicts: dict[str, int] = {}
    for c in r.history:
        verdicts[c.result.get("verdict") or "none"] = verdicts.get(c.result.get("verdict") or "none", 0) + 1
    pick = r.best or (r.history[-1] if r.history else None)
    if pick is None:
        return {"status": Status.FAILED, "reason": "the loop evaluated no candidate", "candidates": 0}
    record = {**_candidate_record(pick.result), "operator": pick.operator, "candidate_id": pick.id,
              "candidates": len(r.history), "correct_candidates": sum(c.correct for c in r.history),
              "verdicts": verdicts, "family": r.family, "gpu_s": round(ledger.totals["gpu_s"], 3)}  # fmt: skip
    if r.best is not None and r.best.source is not None:
        record.update(source_sha256=_sha(r.best.source), source=r.best.source)
    return record


def measure_unit(task: Any, method: str, info: dict[str, Any], settings: Any, backend: Any, work: Path,
                 gpu: str) -> dict[str, Any]:  # fmt: skip
    """One (task, method) unit; harness failures come back as a `failed` record."""
    from repro.harness import HarnessError

    if method == "baselines":
        try:
            return measure_baselines(task, settings)
        except HarnessError as exc:
            return {"status": Status.FAILED, "reason": _short(str(exc))}
    if method == "solutions":
        return measure_solution(task, settings, backend)
    return measure_loop(task, method, info, settings, backend, work, gpu)


def _unit_key(task: Any, method: str, what: str, settings_hash: str, commit: str) -> str:
    return _sha(json.dumps([task.name, _sha(task.path.read_text()), method, what, settings_hash, commit]))[
        :32
    ]


@dataclasses.dataclass(frozen=True)
class Lane:
    """One worker of a reproduction: it takes whole tasks and measures every unit of a task on its GPU
    (`gpu`; None on CPU or Ray), so a task's baselines and candidates are timed on one device."""

    gpu: int | None
    backend: Any
    label: str


def lanes_for(backend: str, gpus: str | None, workers: int, settings: Any) -> list[int | None]:
    """The lanes' GPU indices: one per `--gpus` index on CUDA with the local backend, `--workers` lanes
    on CPU, and one lane on Ray (which places every evaluation itself)."""
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    if backend != "local":
        if workers > 1:
            raise ValueError(
                "--workers applies to --backend local; on Ray the cluster places each evaluation"
            )
        return [None]
    if settings.device == "cpu":
        if gpus:
            raise ValueError("--gpus needs --device cuda; on CPU give --workers N for parallel lanes")
        return [None] * workers
    if workers > 1:
        raise ValueError("--workers applies to --device cpu; on GPUs give --gpus 0,1,... (one lane per GPU)")
    try:
        indices = [int(g) for g in (gpus or "0").split(",")]
    except ValueError:
        raise ValueError(f"--gpus {gpus!r}: give comma-separated GPU indices, e.g. --gpus 0,1,2,3") from None
    if len(set(indices)) != len(indices) or min(indices) < 0:
        raise ValueError(f"--gpus {gpus!r}: name each GPU once, by its index (0, 1, ...)")
    from repro.harness.evaluate import device_name

    models = {g: device_name(dataclasses.replace(settings, gpu=g)) for g in indices}
    if len(set(models.values())) > 1:
        raise ValueError(
            f"--gpus {gpus}: the GPUs are of different models ({', '.join(f'{g}: {n}' for g, n in models.items())});"
            " results are filed per GPU model, so run each model separately"
        )
    return list(indices)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a reproduction measures and where it writes (the `reproduce` command's flags, typed)."""

    suites: tuple[str, ...] = ("level1", "level2")
    methods: tuple[str, ...] = METHODS
    budget: int = 10  # candidates per task for each loop
    tasks: tuple[str, ...] = ()  # only these tasks (the files keep the others' records); () = all
    out: Path | None = None  # results root; None: repro/results on a GPU, CPU_RESULTS_ROOT on CPU
    work: Path = Path("runs") / "reproduce"  # loop run directories
    force: bool = False  # re-measure units already measured
    only_missing: bool = False  # also skip tasks measured at other commits with the same settings
    deadline_s: float | None = None  # start no new unit after this many seconds
    quiet: bool = False
    command: str | None = None  # the command line, recorded in every file


def reproduce(plan: Plan, settings: Any, lanes: list[Lane]) -> dict[str, Any]:
    """Measure every (task, method) unit not yet measured, the lanes working on different tasks at once;
    return counts of what was done."""
    from tqdm import tqdm

    from repro.harness.peaks import device_slug
    from repro.records.provenance import git_commit, provenance

    git = git_commit()
    if not git.get("commit"):
        raise ValueError(
            git.get("error")
            or "cannot tell which commit is being measured: run inside the git checkout, or "
            "set KERNELATLAS_GIT_COMMIT (and KERNELATLAS_GIT_DIRTY=0/1) when the tree was copied without .git"
        )
    commit = git["commit"] + ("-dirty" if git.get("dirty") else "")
    requested = list(plan.methods)
    unknown = [m for m in requested if m not in METHODS]
    if unknown:
        raise ValueError(f"--methods: unknown method(s) {unknown}; choose from {','.join(METHODS)}")
    methods = [m for m in METHODS if m in requested]  # baselines first: they fill the reference cache
    if plan.budget < 1:
        raise ValueError("--budget must be at least 1 candidate per task")
    suites = list(plan.suites)
    pairs = _interleave(suites)
    wanted = list(plan.tasks)
    unknown = sorted(set(wanted) - {t.name for _, t in pairs})
    if unknown:
        raise ValueError(
            f"--tasks: {unknown} not in --suite {','.join(suites)}; names look like level1/10_column_sum"
        )
    gpu = provenance(settings.device)["name"]
    slug = device_slug(gpu) if settings.device == "cuda" else "cpu"
    out = plan.out or (RESULTS_ROOT if settings.device == "cuda" else CPU_RESULTS_ROOT)
    settings_hash = settings.fingerprint()
    files: dict[tuple[str, str], ResultFile] = {}
    for suite in suites:
        names = [t.name for s, t in pairs if s == suite]
        for method in methods:
            info = loop_config(method, plan.budget) if method in LOOP_METHODS else {"kind": method}
            header = {"format": FORMAT, "format_version": FORMAT_VERSION, "gpu": gpu, "gpu_slug": slug,
                      "suite": suite, "method": method, "method_info": info, "settings": settings.to_dict(),
                      "settings_hash": settings_hash, "command": plan.command}  # fmt: skip
            files[(suite, method)] = ResultFile(
                out / slug / Path(suite).name / f"{method}.json", header, names
            )

    def describe(method: str, task: Any) -> str:
        if method == "solutions":
            return _sha(task.solution.read_text()) if task.solution else "none"
        if method in LOOP_METHODS:
            return json.dumps(files[(suites[0], method)].header["method_info"], sort_keys=True)
        return method

    # Whole tasks are the lanes' work items, in the interleaved order, each with its units still to do.
    tasks: queue.SimpleQueue[tuple[str, Any, list[tuple[str, str]]]] = queue.SimpleQueue()
    total = already = todo = 0
    for suite, task in pairs:
        if wanted and task.name not in wanted:
            continue
        units = [(m, _unit_key(task, m, describe(m, task), settings_hash, commit)) for m in methods]
        left = [(m, key) for m, key in units
                if plan.force or not files[(suite, m)].done(task.name, key, plan.only_missing)]  # fmt: skip
        total, already, todo = total + len(units), already + len(units) - len(left), todo + len(left)
        if left:
            tasks.put((suite, task, left))
    prov = provenance(settings.device, settings.to_dict())
    for f in files.values():  # files exist (with pending tasks marked) from the start
        f.write(prov)
    start = time.monotonic()
    lock = threading.Lock()  # guards the result files, the counts, the progress bar and the log
    stop = threading.Event()  # set on Ctrl-C or a lane's crash: lanes start no further unit
    counts = {"measured": 0, "not_reached": 0}
    crashed: list[BaseException] = []
    # A progress bar on a terminal; in a log (no terminal), one line per finished unit instead.
    lines = not plan.quiet and not sys.stderr.isatty()
    bar = tqdm(total=todo, desc="reproduce", unit="unit", file=sys.stderr, disable=plan.quiet or lines)

    def measure(lane: Lane, pinned: Any, suite: str, task: Any, method: str, key: str) -> None:
        where = f" {lane.label}" if len(lanes) > 1 else ""
        with lock:
            bar.set_postfix_str(f"{task.name} {method}{where}")
        try:
            record = measure_unit(task, method, files[(suite, method)].header["method_info"], pinned,
                                  lane.backend, plan.work / slug / task.name / method, gpu)  # fmt: skip
        except Exception as exc:  # one unit's failure is recorded and the lane goes on with the next
            record = {"status": Status.FAILED, "reason": _short(f"{type(exc).__name__}: {exc}")}
            with lock:
                print(f"{task.name} {method}: {record['reason']}", file=sys.stderr)
        prov = provenance(settings.device, settings.to_dict())
        with lock:
            f = files[(suite, method)]
            f.put(task.name, key, commit, {**record, "gpu_index": lane.gpu})
            f.write(prov)
            counts["measured"] += 1
            bar.update(1)
            if lines:
                print(f"[{counts['measured']}/{todo} {time.monotonic() - start:.0f}s{where}] {task.name} "
                      f"{method}: {_outcome(record)}", file=sys.stderr, flush=True)  # fmt: skip

    def work(lane: Lane) -> None:
        pinned = dataclasses.replace(settings, gpu=lane.gpu)
        try:
            while not stop.is_set():
                try:
                    suite, task, units = tasks.get_nowait()
                except queue.Empty:
                    return
                for method, key in units:
                    if stop.is_set():
                        return
                    if plan.deadline_s is not None and time.monotonic() - start > plan.deadline_s:
                        with lock:
                            counts["not_reached"] += 1
                            bar.update(1)
                        continue
                    measure(lane, pinned, suite, task, method, key)
        except BaseException as exc:  # e.g. a result file that cannot be written: stop every lane
            crashed.append(exc)
            stop.set()

    def wait_for(threads: list[threading.Thread]) -> None:
        while any(t.is_alive() for t in threads):  # polled: a Thread.join cut by Ctrl-C can return early
            time.sleep(0.1)

    threads = [threading.Thread(target=work, args=(lane,), name=f"reproduce {lane.label}", daemon=True)
               for lane in lanes]  # fmt: skip
    try:
        for t in threads:
            t.start()
        wait_for(threads)
    except KeyboardInterrupt:
        stop.set()
        print(
            "\ninterrupted: finishing the units in progress (Ctrl-C again to abandon them)", file=sys.stderr
        )
        wait_for(threads)
        raise
    finally:
        bar.close()
    if crashed:
        raise crashed[0]
    return {"units": total, "measured": counts["measured"], "already_measured": already,
            "not_reached": counts["not_reached"], "out": out / slug, "wall_s": time.monotonic() - start,
            "lanes": len(lanes)}  # fmt: skip
