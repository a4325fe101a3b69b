"""The parent-clocked batch on CUDA as one CUDA graph: paced by the device, not by the host.

An eager batch queues each call's own work (inputs, projections) and the candidate's launches from the
host; for a kernel shorter than that queuing, the parent's clock times the host, and a forged median
within the host's bound passed (`clockcheck.cuda_allowance`). Here the worker captures the whole round
before it knows the seed: K calls, each drawing its inputs from the device's generator in sequence (no
seeding inside), the call, and each output projected on weights drawn right after it (drawn inside the
graph, so a linear kernel cannot fold a known projection into its weights). The parent then names the
round's seed; the worker seeds the generator and replays the graph once. Host work per call vanishes,
so an honest round takes the device's time, and the parent accepts it only within the device's bound
(`clockcheck.graph_allowance`): the own work's device time D (this graph with the call left out, timed
in the reference worker), a share of D for its error, and the call at most a tolerance over the
reported median. What the candidate's process does instead of the replay is its own business: any
way of producing the K calls' projections takes at least their device work.

Random inputs drawn inside a graph replayed after seeding equal those drawn eagerly after the same seed
(`python -m repro.bench.graphprobe`, on an H200), so the reference worker computes the round's
projections eagerly (`reference_round`). A kernel that cannot be captured (a synchronisation, a
host-side step, a launch on the legacy default stream, which capture silently leaves out) fails the
worker's check of a trial replay against the same calls run eagerly (`matches_eager`), and the batch
falls back to the eager rounds, where a time only the host's bound explains is reported at the parent's
upper bound instead of the reported median (`clockcheck.judge_time`, `fallback`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from repro.harness import clockcheck

# Calls per graph round: enough for the round to take about clockcheck.TARGET_MS on the reference's
# speed, at least K_MIN and at most K_MAX (the fixed cost of a round, pipes and the final
# synchronisation, is spread over them: 1 ms over 200 calls is 0.005 ms a call).
K_MIN, K_MAX = 8, 256
# The reference worker computes the pool's rounds until this much time has passed (at least K_MIN calls).
POOL_BUDGET_S = 2.0


def _seed(seed: int) -> None:
    torch.cuda.default_generators[torch.cuda.current_device()].manual_seed(seed)


def _inputs(problem: Any, shape: dict[str, Any]) -> list[Any]:
    """One call's inputs drawn from the generators as they stand (the round's seed set once before)."""
    with torch.device("cuda"):
        inputs = list(problem.get_inputs(**shape))
    return [x.to("cuda") if isinstance(x, torch.Tensor) else x for x in inputs]


def _dot(flat: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """flat . w as a float64 scalar on the device: one `clockcheck._dot` per chunk, as the eager batch."""
    zero = torch.zeros((), dtype=torch.float64, device=flat.device)
    step = clockcheck.CHUNK
    return sum((clockcheck._dot(flat[s : s + step], w[s : s + step]).double()
                for s in range(0, flat.numel(), step)), zero)  # fmt: skip


def _project(out: torch.Tensor, order: str) -> torch.Tensor:
    """Output `out`'s projection in `order` on weights drawn now, as a float64 scalar on the device."""
    flat = clockcheck._flat(out, order)
    return _dot(flat, torch.randn(flat.numel(), device=flat.device, dtype=torch.float32))


def reset_generator() -> None:
    """Give the device's default generator a fresh state after a failed capture: a capture that fails
    past its start leaves the generator's state marked as capturing, and every later draw outside a
    graph then fails ("Offset increment outside graph capture"). Every later draw is seeded first."""
    gen = torch.cuda.default_generators[torch.cuda.current_device()]
    gen.graphsafe_set_state(torch.Generator(device="cuda").graphsafe_get_state())


def round_calls(problem: Any, shape: dict[str, Any], fn: Callable[..., Any], flatten: Callable[[Any], list],
                calls: int, orders: list[list[str]]) -> torch.Tensor:  # fmt: skip
    """K calls as a graph round makes them (captured, or run eagerly after seeding: the same values):
    per call fresh inputs, the call, each output projected in its memory order on weights drawn right
    after it (orders noted in `orders`). Returns the projections, one row per call, on the device."""
    rows: list[torch.Tensor] = []
    held: list[Any] = []
    for _ in range(calls):
        inputs = _inputs(problem, shape)
        outs = flatten(fn(*inputs))
        noted = [clockcheck.layout(o) for o in outs]
        orders.append(noted)
        with clockcheck._NoTorchFunction():
            rows.append(torch.stack([_project(o, order) for o, order in zip(outs, noted, strict=True)])
                        if outs else torch.zeros(0, dtype=torch.float64, device="cuda"))  # fmt: skip
        del outs
        held = inputs  # the previous call's inputs are released only now (never reused at once)
    del held
    width = max((r.numel() for r in rows), default=0)
    if any(r.numel() != width for r in rows):
        raise ValueError("the calls of a round returned different numbers of outputs")
    return torch.stack(rows) if rows else torch.zeros((0, 0), dtype=torch.float64, device="cuda")


class Round:
    """A captured graph round: `replay(seed)` runs it and returns the projections (host lists)."""

    def __init__(self, graph: Any, static: torch.Tensor, orders: list[list[str]]) -> None:
        self.graph, self.static, self.orders = graph, static, orders

    def replay(self, seed: int) -> list[list[float]]:
        _seed(seed)
        self.graph.replay()
        return self.static.cpu().tolist()


def capture(problem: Any, shape: dict[str, Any], fn: Callable[..., Any], flatten: Callable[[Any], list],
            calls: int) -> Round:  # fmt: skip
    """The round captured as one graph, after one eager warm-up on a side stream (lazy initialisation,
    autotuning and allocations happen there, not in the graph). Raises what capture raises."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        round_calls(problem, shape, fn, flatten, min(calls, 2), [])
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    orders: list[list[str]] = []
    # thread_local: CUDA calls made by the process's other threads do not invalidate the capture
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        static = round_calls(problem, shape, fn, flatten, calls, orders)
    torch.cuda.synchronize()
    return Round(graph, static, orders)


def matches_eager(rnd: Round, problem: Any, shape: dict[str, Any], fn: Callable[..., Any],
                  flatten: Callable[[Any], list], seed: int, calls: int = 2) -> str | None:  # fmt: skip
    """Why a trial replay differs from the first `calls` calls run eagerly after the same seed (None when
    it does not): capture leaves out what it cannot record (a kernel launched on the legacy default
    stream runs once at capture), and host-side steps are frozen at their captured values."""
    got = rnd.replay(seed)
    _seed(seed)
    orders: list[list[str]] = []
    want = round_calls(problem, shape, fn, flatten, calls, orders).cpu().tolist()
    torch.cuda.synchronize()
    if orders != rnd.orders[:calls]:
        return f"outputs laid out as {rnd.orders[:calls]} in the graph, {orders} eagerly"
    for c, (g, w) in enumerate(zip(got, want, strict=False)):
        for k, (a, b) in enumerate(zip(g, w, strict=True)):
            if not (math.isfinite(a) and math.isfinite(b)) or abs(a - b) > 1e-4 * max(abs(a), abs(b), 1e-3):
                return f"call {c} output {k}: projection {a:.6g} replayed, {b:.6g} eagerly"
    return None


def calls_for(call_ms: float, own_ms: float) -> int:
    """K for a round of about clockcheck.TARGET_MS at the reference's speed."""
    per = max(call_ms + own_ms, 1e-3)
    return max(K_MIN, min(K_MAX, math.ceil(clockcheck.TARGET_MS["cuda"] / per)))


def reference_round(problem: Any, shape: dict[str, Any], model: Any, flatten: Callable[[Any], list],
                    seed: int, calls: int) -> list[dict[str, list[Any]]]:  # fmt: skip
    """The reference's pool entries for one round (the format of `clockcheck.reference_terms`, per call):
    the same draws as `round_calls` after seeding, the reference's outputs projected in every memory
    order on the same weights, and the terms of the tolerance. One transfer per call."""
    _seed(seed)
    entries = []
    for _ in range(calls):
        outs = flatten(model(*_inputs(problem, shape)))
        vals: list[torch.Tensor] = []
        for out in outs:
            flat = clockcheck._flat(out)
            w = torch.randn(flat.numel(), device=flat.device, dtype=torch.float32)
            r = flat if flat.dtype == torch.float64 else flat.to(torch.float32)
            row = [r.abs().sum(dtype=torch.float64), (r * r).sum(dtype=torch.float64)]
            for order in clockcheck.ORDERS:
                if not clockcheck.applies(order, out.dim()):
                    row += [torch.full((), math.nan, dtype=torch.float64, device=flat.device)] * 2
                    continue
                f = clockcheck._flat(out, order)
                f = f if f.dtype == torch.float64 else f.to(torch.float32)
                row += [_dot(f, w), (f * w.to(f.dtype)).abs().sum(dtype=torch.float64)]
            vals.append(torch.stack([v.double() for v in row]))
        host = torch.stack(vals).cpu().tolist() if vals else []
        terms: dict[str, list[Any]] = {"n": [float(clockcheck._flat(o).numel()) for o in outs],
                                       "s1": [h[0] for h in host], "s2": [h[1] for h in host]}  # fmt: skip
        for i, order in enumerate(clockcheck.ORDERS):
            ps = [None if math.isnan(h[2 + 2 * i]) else h[2 + 2 * i] for h in host]
            wrs = [None if math.isnan(h[3 + 2 * i]) else h[3 + 2 * i] for h in host]
            if order == "c":
                terms["p"], terms["wr"] = ps, wrs
            else:
                terms[f"p_{order}"], terms[f"wr_{order}"] = ps, wrs
        entries.append(terms)
    return entries


def own_device_ms(problem: Any, shape: dict[str, Any], outs: Sequence[torch.Tensor], calls: int,
                  repeats: int = 3) -> float:  # fmt: skip
    """D: the device time per call of a round with the call left out (inputs drawn, the reference's
    outputs projected), captured as a graph as the candidate's round is; the median of `repeats`."""
    fixed = list(outs)
    rnd = capture(problem, shape, lambda *a: fixed, lambda o: o, calls)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for i in range(repeats + 1):
        _seed(i)
        torch.cuda.synchronize()
        start.record()
        rnd.graph.replay()
        end.record()
        torch.cuda.synchronize()
        if i:  # the first replay uploads the graph
            times.append(start.elapsed_time(end) / calls)
    del rnd
    return sorted(times)[len(times) // 2]
