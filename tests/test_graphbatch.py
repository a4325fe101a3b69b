"""The graph-paced batch on CUDA (`graphbatch`): its rule (no host term: a round is one replay), the
fallback for kernels that cannot be captured (eager rounds, a time only the host explains reported at the
parent's upper bound), and the parent's side of the protocol. What needs a GPU (capture, replay, the
reference's pool) is in tests/test_harness_gpu.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from repro.harness import clockcheck, graphbatch
from repro.harness.serve import ProtocolViolation, Session
from repro.harness.settings import EvalSettings
from tests.test_clockcheck import Pipe

FIXED = clockcheck.FIXED_MS["cuda"]


def _cost(dev: float, launch: float, graph_dev: float) -> dict:
    return {"gen_ms": dev + launch, "launch_ms": launch, "dev_ms": dev, "graph": {"dev_ms": graph_dev}}


def _graph(per_call: float, calls: int, median: float, graph_dev: float) -> clockcheck.Verdict:
    rounds = [FIXED + calls * per_call]
    return clockcheck.judge_time(rounds, calls, median, _cost(0.1, 0.1, graph_dev), "cuda", mode="graph")


def test_the_graph_rule_has_no_host_term() -> None:
    """A graph round is accepted only when the device explains it: D, 2% of D, and the call at most 15%
    or 0.009 ms over the median; the half-time forger of the gauntlet's 0.062 ms scale-add is refused
    however slow the host, which the eager rule's host bound let through."""
    assert clockcheck.graph_allowance(0.05, 0.2) == pytest.approx(0.05 + 0.009 + 0.004)
    assert clockcheck.graph_allowance(2.0, 1.0) == pytest.approx(2.3 + 0.02)
    real, dev, k = 0.062, 0.18, 150
    honest = _graph(dev + real + 0.0093, k, real, dev)  # the most an honest short kernel was slower
    assert not honest.contradicts and honest.bound == "graph"
    forged = _graph(dev + real + 0.0093, k, real / 2, dev)
    assert forged.contradicts and forged.per_call_ms == pytest.approx(real + 0.0093)
    # The same forger under the eager rule with a host that queues 0.12 ms a call: the host explains it.
    eager = clockcheck.judge_time([FIXED + k * (dev + real)], k, real / 2, _cost(dev, 0.12, dev), "cuda")
    assert not eager.contradicts and eager.bound == "host"
    # The 1.50 ms bf16 matmul measured 0.163 ms a call over its median in a replay (D 0.796): accepted.
    assert not _graph(0.796 + 1.503 + 0.163, 17, 1.503, 0.796).contradicts
    # Monotone in the parent's time.
    for extra in (0.0, 0.001, 0.1):
        assert _graph(dev + real + 0.0093 + extra, k, real / 2, dev).contradicts


def test_declining_graph_rounds_gains_nothing() -> None:
    """Eager rounds where graph rounds were offered ("fallback"): a round the device explains keeps the
    reported median; one only the host explains is accepted at its per-call time, the parent's upper
    bound on the call, which is never below the kernel's real time."""
    real, dev, launch, k = 0.062, 0.18, 0.12, 42
    host_bound = [FIXED + k * (2.5 * launch + real)]
    cost = _cost(dev, launch, dev)
    forged = clockcheck.judge_time(host_bound, k, real / 2, cost, "cuda", mode="fallback")
    assert not forged.contradicts and forged.bound == "host"
    assert forged.raised_ms == pytest.approx(forged.per_call_ms) and forged.raised_ms > real
    # Offered no graph rounds (the task's inputs cannot be drawn in one): the eager rule, not raised.
    assert clockcheck.judge_time(host_bound, k, real / 2, cost, "cuda").raised_ms is None
    # A long kernel the device explains keeps its median even when declining.
    long = clockcheck.judge_time([FIXED + k * (dev + 2.05)], k, 2.0, cost, "cuda", mode="fallback")
    assert not long.contradicts and long.raised_ms is None
    # Beyond both bounds: refused as before.
    assert clockcheck.judge_time([FIXED + k * 5.0], k, 0.031, cost, "cuda", mode="fallback").contradicts


def test_rounds_are_sized_on_the_reference_within_bounds() -> None:
    assert graphbatch.calls_for(0.06, 0.18) == 167
    assert graphbatch.calls_for(0.0, 0.0) == graphbatch.K_MAX
    assert graphbatch.calls_for(50.0, 1.0) == graphbatch.K_MIN


# --- the parent's side of the protocol ------------------------------------------------------------------

CUDA = EvalSettings(device="cuda", correctness_trials=2, timing_iters=8, min_timing_iters=3, warmup=1)


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    p = Pipe()
    yield p
    p.close()


def _session(settings: EvalSettings = CUDA, graph: bool = True) -> Session:
    entry = {"p": [0.0], "n": [1.0], "s1": [0.0], "s2": [0.0], "wr": [0.0]}
    batch = {"seeds": list(range(1000, 1009)), "pool": [dict(entry) for _ in range(9)], "gen_ms": 0.1,
             "launch_ms": 0.05, "dev_ms": 0.05}  # fmt: skip
    if graph:
        batch["graph"] = {"seeds": [71, 72, 73], "calls": 4, "pool": [dict(entry) for _ in range(12)],
                          "dev_ms": 0.05}  # fmt: skip
    s = Session(settings, [1, 2, 3], [[], [], []], batch=batch)
    s.event_ms, s.host_ms, s.stopped = [0.5] * 3, [0.5] * 3, True
    return s


def test_a_worker_that_asks_for_graph_rounds_gets_one_seed_per_round(pipe: Pipe) -> None:
    s = _session()
    s._on_batch(pipe.parent, {"r": 0, "graph": True}, b"")
    header, _ = pipe.worker.expect("batch")
    assert header == {"seed": 71, "calls": 4} and s.batch_mode == "graph" and not s.graph_declined
    assert s.batch_rounds[0]["pool"] == [0, 1, 2, 3]
    s._received_ns = s._go_ns + int(50e6)  # 12.5 ms a call against a reported 0.5 ms: contradicts
    s._on_batch_done(pipe.parent, {"r": 0, "projections": [[0.0]] * 4, "orders": [["c"]] * 4}, b"")
    s._on_batch(pipe.parent, {"r": 1, "graph": True}, b"")
    header, _ = pipe.worker.expect("batch")
    assert header["seed"] == 72 and s.batch_rounds[1]["pool"] == [4, 5, 6, 7]
    s._received_ns = s._go_ns + int(2.5e6)  # agrees: no third round
    s._on_batch_done(pipe.parent, {"r": 1, "projections": [[0.0]] * 4, "orders": [["c"]] * 4}, b"")
    s._on_batch(pipe.parent, {"r": 2, "graph": True}, b"")
    header, _ = pipe.worker.expect("batch")
    assert header == {"seeds": []} and s.batch_over


def test_declining_is_noted_and_switching_modes_is_a_protocol_violation(pipe: Pipe) -> None:
    s = _session()
    s._on_batch(pipe.parent, {"r": 0}, b"")
    header, _ = pipe.worker.expect("batch")
    assert "seed" not in header and len(header["seeds"]) >= 1
    assert s.batch_mode == "fallback" and s.graph_declined
    n = len(header["seeds"])
    s._received_ns = s._go_ns + int(n * 50e6)
    s._on_batch_done(pipe.parent, {"r": 0, "projections": [[0.0]] * n, "orders": [["c"]] * n}, b"")
    with pytest.raises(ProtocolViolation, match="another mode"):
        s._on_batch(pipe.parent, {"r": 1, "graph": True}, b"")


@pytest.mark.parametrize(("settings", "graph"), [(CUDA, False), (EvalSettings(device="cpu"), True)])
def test_without_a_graph_pool_or_off_cuda_rounds_are_eager(
    settings: EvalSettings, graph: bool, pipe: Pipe
) -> None:
    s = _session(settings, graph)
    s._on_batch(pipe.parent, {"r": 0, "graph": True}, b"")
    header, _ = pipe.worker.expect("batch")
    assert "seed" not in header and header["seeds"] and s.batch_mode == "eager" and not s.graph_declined


def test_a_report_raised_after_declining_says_why_and_how_to_fix_it() -> None:
    from repro.harness.evaluate import _raised_note

    cand = {"median": 0.158, "timed_loop_median": 0.033}
    fallback = _raised_note(cand, {"mode": "fallback"})
    assert "0.158" in fallback and "0.033" in fallback and "declined" in fallback and "fix:" in fallback
    assert "own median" in _raised_note(cand, {"mode": "eager"}) and "declined" not in _raised_note(
        cand, None
    )
