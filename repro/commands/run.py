"""`python -m repro run`: run an agentic loop with a proposer on one problem or a suite, resumably.

Writes into --out: `run.json` (the configuration, without secrets), `trajectory.jsonl` (one line per
evaluated candidate), `proposals.jsonl` (every proposer answer, written before evaluation),
`ledger.json` (calls, tokens, cost, GPU-seconds, wall time), `candidates/` (every source), and the
result: for --problem, `result.json` and `best.py` in --out; for --suite, one folder per task holding
both, and a `result.json` over all tasks. `--resume` continues an interrupted run from these files.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from repro.records.files import write_json_atomic
from repro.records.verdicts import Verdict

CONFIG_KEYS = ("problem", "suite", "loop", "proposer", "model", "replay", "seed", "settings", "loop_args",
               "feedback", "budget", "temperature", "max_tokens")  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    from repro.commands.options import (
        add_backend_arguments,
        add_params_arguments,
        add_settings_arguments,
        registered,
    )
    from repro.loops import LOOPS
    from repro.proposers import PROPOSERS

    p = subparsers.add_parser(
        "run", help="run an agentic loop (best-of-n, refine, evolve, judge, bandit, multi-agent)"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--problem", type=Path, help="one KernelBench-format problem file")
    what.add_argument("--suite", help="level1|level2|level3|all|smoke or a directory of problem files")
    p.add_argument("--loop", required=True, type=registered(LOOPS), choices=sorted(LOOPS))
    p.add_argument("--proposer", required=True, type=registered(PROPOSERS), choices=PROPOSERS.names())
    p.add_argument("--model", help="model name for --proposer openai")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    p.add_argument("--api-key", help="API key (default: $OPENAI_API_KEY); never written to disk")
    p.add_argument("--temperature", type=float, default=None)
    p.add_argument("--max-tokens", type=int, default=None, help="completion tokens per response")
    p.add_argument("--llm-timeout", type=float, default=300.0, help="seconds per LLM request (default 300)")
    p.add_argument("--llm-retries", type=int, default=5, help="retries on 429/5xx/timeouts (default 5)")
    p.add_argument("--price", default=None, help="USD per 1M tokens as PROMPT,COMPLETION for the cost column")
    p.add_argument("--replay", help="JSON-lines file for --proposer replay")
    p.add_argument("--budget", type=int, default=8, help="candidates per task (default 8)")
    p.add_argument("--call-budget", type=int, default=None, help="most LLM calls in the whole run")
    p.add_argument("--token-budget", type=int, default=None, help="most LLM tokens in the whole run")
    p.add_argument(
        "--cost-budget", type=float, default=None, help="most USD in the whole run (needs --price)"
    )
    p.add_argument("--time-budget", type=float, default=None, help="most wall-clock seconds in the whole run")
    p.add_argument("--feedback", default="compiler,correctness,timing,profile", help="feedback channels")
    p.add_argument("--memory", type=Path, default=None, help="cross-task memory directory (shared by runs)")
    p.add_argument("--out", type=Path, default=None, help="run directory (default runs/<loop>-<proposer>)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    p.add_argument("--gpu", type=int, default=None, help="CUDA device index")
    p.add_argument(
        "--gpus",
        default=None,
        help="comma-separated GPU indices for --backend local; --suite tasks run in parallel",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_settings_arguments(p)
    add_backend_arguments(p)
    for name in LOOPS:
        module = LOOPS.get(name)
        add_params_arguments(p.add_argument_group(f"--loop {module.NAME}"), module.Params)
    p.set_defaults(func=run)


def _loop_args(args: argparse.Namespace) -> dict[str, Any]:
    from repro.commands.options import params_from_args
    from repro.loops import LOOPS

    return params_from_args(LOOPS.get(args.loop).Params, args)


def _config(args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    return {
        "problem": str(args.problem.resolve()) if args.problem else None, "suite": args.suite,
        "loop": args.loop, "proposer": args.proposer, "model": args.model, "replay": args.replay,
        "seed": args.seed, "settings": settings.to_dict(), "loop_args": _loop_args(args),
        "feedback": args.feedback, "budget": args.budget, "temperature": args.temperature,
        "max_tokens": args.max_tokens,
    }  # fmt: skip


def _prepare_dir(out: Path, config: dict[str, Any], resume: bool) -> None:
    run_json = out / "run.json"
    if resume:
        if not run_json.is_file():
            raise ValueError(f"--resume: {out} holds no run.json; start the run without --resume")
        before = json.loads(run_json.read_text())
        changed = [k for k in CONFIG_KEYS if before.get(k) != config.get(k) and k != "settings"]
        settings_changed = [k for k, v in config["settings"].items()
                            if k not in ("gpu", "timeout_s") and before["settings"].get(k) != v]  # fmt: skip
        if changed or settings_changed:
            raise ValueError(
                f"--resume: the options differ from the run in {out}: {', '.join(changed + settings_changed)}; "
                "pass the same options as the interrupted run"
            )
        return
    if (out / "trajectory.jsonl").exists() or (out / "proposals.jsonl").exists():
        raise ValueError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_json, config)


def _task_result(r: Any, loop: str, proposer: str, stop: str, base: Path, folder: Path) -> dict[str, Any]:
    best = r.best
    pick = best or (r.history[-1] if r.history else None)
    folder.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"task": r.task.name, "problem": str(r.task.path), "loop": loop, "proposer": proposer,
                           "family": r.family, "signature": r.signature, "candidates": len(r.history),
                           "stop_reason": stop}  # fmt: skip
    if pick is None:
        res.update(correct=False, verdict=Verdict.NOT_RUN, reason=stop, speedup=None, source=None)
        return res
    r_ = pick.result
    res.update(
        id=pick.id, correct=pick.correct, verdict=r_.get("verdict"), reason=r_.get("reason", ""),
        speedup=pick.speedup, speedups=r_.get("speedups") or {}, sol_fraction=r_.get("sol_fraction"),
        candidate_ms=r_.get("candidate_ms"), baseline_ms=r_.get("baseline_ms"), operator=pick.operator,
        source=None, provenance=r_.get("provenance"),
    )  # fmt: skip
    if best is not None and best.source is not None:
        best_path = folder / "best.py"
        tmp = best_path.with_suffix(".tmp")
        tmp.write_text(best.source)
        tmp.replace(best_path)
        res["source"] = str(best_path.relative_to(base))
    write_json_atomic(folder / "result.json", res)
    return res


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else None


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometric means over tasks (a task without a correct kernel counts as 1.0x: the reference)."""
    kinds = sorted({k for r in results for k in (r.get("speedups") or {})})
    summary: dict[str, Any] = {"tasks": len(results), "correct": sum(1 for r in results if r.get("correct"))}
    for kind in kinds:
        vals = [((r.get("speedups") or {}).get(kind) or 1.0) if r.get("correct") else 1.0 for r in results]
        summary[f"geomean_speedup_{kind}"] = geomean(vals)
    return summary


def run(args: argparse.Namespace) -> int:
    from repro.backends import EvaluationLost

    try:
        return _run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished candidates are kept; continue with the same command and --resume",
              file=sys.stderr)  # fmt: skip
        return 130
    except EvaluationLost as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from repro.commands.options import backend_from_args, settings_from_args
    from repro.loops import loop_params, run_loop
    from repro.loops.core import LoopRun
    from repro.loops.feedback import CHANNELS
    from repro.proposers import make_proposer
    from repro.records.ledger import Budget, BudgetExhausted, Ledger
    from repro.records.memory import MemoryStore
    from repro.records.provenance import provenance
    from repro.tasks import list_tasks

    settings = settings_from_args(args, gpu=args.gpu)
    channels = tuple(c for c in args.feedback.split(",") if c)
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"--feedback: unknown channel(s) {unknown}; choose from {','.join(CHANNELS)}")
    prices = None
    if args.price:
        try:
            prompt, completion = (float(x) for x in args.price.split(","))
        except ValueError:
            raise ValueError("--price must be PROMPT,COMPLETION in USD per 1M tokens, e.g. 2.5,10") from None
        prices = {"prompt": prompt, "completion": completion}
    if args.cost_budget is not None and prices is None:
        raise ValueError("--cost-budget needs --price to know what tokens cost")
    budget = Budget(args.budget, args.call_budget, args.token_budget, args.time_budget, args.cost_budget)
    if args.problem:
        if not args.problem.is_file():
            raise ValueError(f"--problem {args.problem}: no such file")
        from repro.tasks import _task_from_file

        tasks = [_task_from_file(args.problem)]
    else:
        tasks = list_tasks(args.suite)
    llm = {"base_url": args.base_url, "api_key": args.api_key, "timeout_s": args.llm_timeout,
           "max_retries": args.llm_retries, "temperature": args.temperature, "max_tokens": args.max_tokens}  # fmt: skip
    proposer = make_proposer(args.proposer, model=args.model, replay=args.replay,
                             **(llm if args.proposer == "openai" else {}))  # fmt: skip
    out = args.out or Path("runs") / f"{args.loop}-{args.proposer}"
    config = _config(args, settings)
    _prepare_dir(out, config, args.resume)
    ledger = Ledger(out, budget, prices)
    if args.resume:
        ledger.load()
    memory = MemoryStore(args.memory) if args.memory else None
    params = loop_params(args.loop, config["loop_args"])
    hardware = provenance(settings.device).get("name") or settings.device
    bar = _progress(len(tasks) * args.budget, args.quiet)
    run_stop: str | None = None
    if args.gpu is not None and args.gpus:
        raise ValueError("pass either --gpu or --gpus, not both")
    try:
        slots = [int(g) for g in args.gpus.split(",")] if args.gpus else [args.gpu]
    except ValueError:
        raise ValueError(f"--gpus {args.gpus}: expected comma-separated GPU indices, e.g. 0,1") from None
    backend = backend_from_args(args, settings.device, slots)
    # Tasks run in parallel, one per evaluation slot, unless a memory store makes each task depend on
    # what earlier ones stored. A stop (Ctrl-C, a lost evaluation) ends each task after its candidate.
    parallel = 1 if memory else min(backend.slots, len(tasks))
    stopping = threading.Event()

    def one_task(task: Any) -> dict[str, Any]:
        nonlocal run_stop
        folder = out if args.problem else out / task.name
        if run_stop:
            return {"task": task.name, "correct": False, "verdict": Verdict.NOT_RUN, "reason": run_stop,
                    "speedup": None, "source": None}  # fmt: skip

        def counted(_: Any) -> None:
            if bar:
                bar.update(1)
            if stopping.is_set():
                raise BudgetExhausted("the run was stopped", scope="run")

        r = LoopRun(task, proposer, settings, ledger, out, seed=args.seed, memory=memory, channels=channels,
                    hardware=hardware, on_candidate=counted, backend=backend)  # fmt: skip
        outcome = run_loop(r, args.loop, params)
        stop = outcome.stop_reason
        if outcome.run_exhausted:
            run_stop = stop
        if bar:
            bar.update(max(0, args.budget - len(r.history)))
        res = _task_result(r, args.loop, args.proposer, stop, out, folder)
        if memory and r.best and (r.best.speedup or 0) > 1.0:
            from repro.proposers.mutate import tunable_values

            memory.add({"signature": r.signature, "task": task.name, "speedup": r.best.speedup,
                        "tunables": tunable_values(r.best.source or ""), "operator": r.best.operator,
                        "source": r.best.source})  # fmt: skip
        return res

    try:
        if parallel == 1:
            results = [one_task(task) for task in tasks]
        else:
            with ThreadPoolExecutor(parallel, thread_name_prefix="task") as pool:
                try:
                    results = list(pool.map(one_task, tasks))
                except BaseException:
                    stopping.set()
                    raise
    finally:
        backend.close()
    if bar:
        bar.close()
    ledger.save()
    if args.problem:
        final = results[0] | {"ledger": ledger.snapshot()}
    else:
        final = {"suite": args.suite, "loop": args.loop, "proposer": args.proposer, "tasks": results,
                 "summary": summarize(results), "ledger": ledger.snapshot(),
                 "provenance": provenance(settings.device)}  # fmt: skip
    write_json_atomic(out / "result.json", final)
    for res in results:
        sp = f"{res['speedup']:.3f}x" if res.get("speedup") else "-"
        print(f"{res['task']:40s} {res.get('verdict', '?'):14s} {sp:>9s}  {res.get('reason', '')[:80]}")
    print(f"wrote {out / 'result.json'}")
    return 0


def _progress(total: int, quiet: bool) -> Any:
    if quiet:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="cand", desc="candidates", disable=None)
