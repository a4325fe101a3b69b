"""The parent-clocked batch: projections that prove the work, the time rule, the CPU time read from /proc,
and the parent's side of the protocol (a forger that skips, fakes or reorders the batch is refused).

End to end on the CPU path, the gauntlet's `forges_channel_plausible`, `forges_batch` and `skips_batch`
cases run a forger through the whole harness (tests/test_gauntlet.py)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from repro.harness import channel, clockcheck, serve
from repro.harness.serve import ProtocolViolation, Session
from repro.harness.settings import EvalSettings

SETTINGS = EvalSettings(device="cpu", correctness_trials=2, timing_iters=8, min_timing_iters=3, warmup=1)


def _terms(ref: torch.Tensor, seed: int) -> dict[str, list[float]]:
    return clockcheck.reference_terms([ref], seed)


def test_a_projection_accepts_errors_within_tolerance_and_refuses_a_wrong_region() -> None:
    gen = torch.Generator().manual_seed(1)
    ref = torch.randn(200_000, generator=gen)
    atol = rtol = 1e-4
    terms = _terms(ref, seed=7)
    allowed = clockcheck.allowed_difference(terms, 0, atol, rtol)
    for trial in range(5):  # errors at the tolerance's edge, signs at random: every one accepted
        signs = torch.randint(0, 2, ref.shape, generator=gen).float() * 2 - 1
        honest = ref + signs * (atol + rtol * ref.abs()) * 0.999
        p = float(clockcheck.project([honest], 7)[0])
        assert abs(p - terms["p"][0]) <= allowed, trial
    wrong = ref.clone()
    wrong[5000:5064] += 1.0  # 64 wrong elements of 200,000
    assert abs(float(clockcheck.project([wrong], 7)[0]) - terms["p"][0]) > allowed
    assert abs(float(clockcheck.project([torch.zeros_like(ref)], 7)[0]) - terms["p"][0]) > allowed
    # Another seed's vector: the same output projects elsewhere (a memorised projection is useless).
    assert float(clockcheck.project([ref], 8)[0]) != pytest.approx(terms["p"][0], abs=allowed)


def test_outputs_larger_than_a_chunk_are_projected_chunk_by_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clockcheck, "CHUNK", 1000)
    ref = torch.randn(10_500, generator=torch.Generator().manual_seed(2))
    terms = _terms(ref, seed=11)
    allowed = clockcheck.allowed_difference(terms, 0, 1e-4, 1e-4)
    assert abs(float(clockcheck.project([ref.clone()], 11)[0]) - terms["p"][0]) <= allowed
    wrong = ref.clone()
    wrong[10_000:] = 0.0  # the last, partial chunk left unwritten
    assert abs(float(clockcheck.project([wrong], 11)[0]) - terms["p"][0]) > allowed


def test_projection_vectors_are_windows_of_a_base_built_once() -> None:
    """No random generation per call (it was most of the batch's own cost): the vector of a (seed, output,
    chunk) is a window of one base per size, the same every time, another for another seed or chunk."""
    clockcheck.warm([5000], "cpu")
    base = clockcheck._base(5000, "cpu")
    w = clockcheck.weights(7, 0, 0, 5000, "cpu")
    assert w.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()  # a view: nothing generated
    assert torch.equal(w, clockcheck.weights(7, 0, 0, 5000, "cpu"))
    assert not torch.equal(w, clockcheck.weights(8, 0, 0, 5000, "cpu"))
    assert not torch.equal(w, clockcheck.weights(7, 1, 0, 5000, "cpu"))
    assert abs(float(w.mean())) < 0.1 and 0.9 < float(w.std()) < 1.1  # standard normal


def test_every_element_of_every_chunk_counts_in_its_projection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The projection is linear with a nonzero weight on each element (a forger cannot leave any out):
    one element changed anywhere, the first, the last, either side of a chunk's edge, moves it."""
    monkeypatch.setattr(clockcheck, "CHUNK", 1000)
    n = 2500
    base = float(clockcheck.project([torch.zeros(n)], 9)[0])
    for i in range(n):
        one = torch.zeros(n)
        one[i] = 1.0
        p = float(clockcheck.project([one], 9)[0]) - base
        assert p == pytest.approx(
            float(clockcheck.weights(9, 0, i // 1000, min(1000, n - i // 1000 * 1000), "cpu")[i % 1000])
        )
        assert abs(p) > 0.0, i


def test_the_batchs_own_work_is_one_dot_per_output_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per call the harness's own work is the task's get_inputs (seeded without torch.manual_seed) and one
    dot per output chunk; the rest are views (no device work), and one stack and transfer end the batch."""
    monkeypatch.setattr(clockcheck, "CHUNK", 1000)
    outs = [torch.randn(2500), torch.randn(10, 30)]  # 3 chunks and 1
    clockcheck.warm([o.numel() for o in outs], "cpu")
    seen: list[str] = []

    class Log(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(func.__name__.split(".")[0])
            return func(*args, **(kwargs or {}))

    seeds = [11, 12, 13]
    with Log():
        values, _ = clockcheck.run(lambda *a: outs, lambda s: [], lambda o: o, seeds, lambda: None)
    work = [op for op in seen if op not in {"detach", "view", "slice", "alias"}]
    assert work == ["dot"] * 4 * len(seeds) + ["stack"]
    for seed, row in zip(seeds, values, strict=True):  # the same values as the reference's projections
        assert row == pytest.approx([float(p) for p in clockcheck.project(outs, seed)], rel=1e-12)


def test_an_output_is_projected_in_its_memory_order_without_a_copy() -> None:
    """A channels-last or transposed output (as a convolution or a permuted matmul returns it) is projected
    in the order its elements lie in memory, as a view: copying it to logical order cost an honest kernel
    as much as the kernel on an H200 and got it refused. The reference's pool holds its projections in
    each order, and a wrong element is refused in any of them."""
    gen = torch.Generator().manual_seed(5)
    ref = torch.randn(2, 6, 5, 4, generator=gen)
    nhwc = ref.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # same values, channels-last memory
    mat = torch.randn(7, 9, generator=gen)
    mat_t = mat.t().contiguous().t()  # same values, column-major
    assert [clockcheck.layout(t) for t in (ref, nhwc, mat, mat_t)] == ["c", "cl", "c", "t"]
    odd = ref.permute(0, 3, 2, 1).contiguous().permute(0, 3, 2, 1)  # another permutation: logical order
    assert clockcheck.layout(odd) == "c"
    assert clockcheck._flat(nhwc, "cl").data_ptr() == nhwc.data_ptr()
    assert clockcheck._flat(mat_t, "t").data_ptr() == mat_t.data_ptr()
    assert clockcheck.layout(torch.randn(3, 4).t()) == "t"  # a 2-d transpose of a 2-d output only

    terms = clockcheck.reference_terms([ref, mat], seed=21)
    assert terms["p_cl"][1] is None and terms["p_t"][0] is not None  # channels-last applies to rank 4/5
    for outs in ([nhwc, mat_t], [ref, mat]):
        orders: list[list[str]] = []
        values, _ = clockcheck.run(
            lambda *a, o=outs: o, lambda s: [], lambda o: o, [21], lambda: None, orders
        )
        for k, (p, order) in enumerate(zip(values[0], orders[0], strict=True)):
            q, wr = clockcheck.reference_projection(terms, k, order)
            assert abs(p - q) <= clockcheck.allowed_difference(terms, k, 1e-4, 1e-4, wr), (order, k)
    wrong = nhwc.clone(memory_format=torch.channels_last)
    wrong[1, 3, 2, 1] += 1.0
    assert clockcheck.layout(wrong) == "cl"
    q, wr = clockcheck.reference_projection(terms, 0, "cl")
    dots: list[torch.Tensor] = []
    clockcheck._queue_projections([wrong], 21, dots, [])
    assert abs(float(dots[0]) - q) > clockcheck.allowed_difference(terms, 0, 1e-4, 1e-4, wr)
    # A bundle from before orders has no projection in them: the parent says so rather than guess.
    old = {k: v for k, v in terms.items() if not k.startswith(("p_", "wr_"))}
    assert clockcheck.reference_projection(old, 0, "cl") is None
    assert clockcheck.reference_projection(old, 0, "c") == (terms["p"][0], terms["wr"][0])


def test_a_channels_last_output_costs_the_batch_no_copy() -> None:
    """The own work per call on a channels-last output is still one dot (no clone, no copy)."""
    out = torch.randn(2, 8, 6, 5).contiguous(memory_format=torch.channels_last)
    clockcheck.warm([out.numel()], "cpu")
    seen: list[str] = []

    class Log(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(func.__name__.split(".")[0])
            return func(*args, **(kwargs or {}))

    with Log():
        clockcheck.run(lambda *a: [out], lambda s: [], lambda o: o, [3, 4], lambda: None, [])
    work = [op for op in seen if op not in {"detach", "view", "slice", "alias", "permute"}]
    assert work == ["dot", "dot", "stack"]


class _FakeEvent:
    """A CUDA event for the CPU: `query` says whether the device had reached it (here: whether the host
    took longer than the spin queued before it), `elapsed_time` gives a fixed device time."""

    reached: list[bool] = []

    def __init__(self, enable_timing: bool = False) -> None:
        pass

    def query(self) -> bool:
        return _FakeEvent.reached.pop(0)


def test_the_own_device_time_is_timed_behind_a_spin_the_host_outlasts_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On CUDA the reference worker times the own work's device time with events after a GPU spin, and
    only when the host had queued all of it before the spin ended; otherwise it spins 4x longer, and
    then takes the wall time."""
    from repro.harness import timing

    spins: list[int] = []
    monkeypatch.setattr(timing, "_Event", _FakeEvent)
    monkeypatch.setattr(timing, "_event_record", lambda e: None)
    monkeypatch.setattr(timing, "_event_elapsed", lambda a, b: 8.0)  # ms for the 16 calls' own work
    monkeypatch.setattr(timing, "_gpu_sleep", spins.append)
    monkeypatch.setattr(timing, "preroll_cycles", lambda ms=0.2: int(1000 * ms))  # 1000 cycles a ms
    outs = [torch.randn(100)]
    seeds = list(range(16))
    _FakeEvent.reached = [True, False]  # the first spin was too short, the second hid the host
    cost = clockcheck.overhead(lambda s: [], outs, seeds, lambda: None, repeats=1, device="cuda")
    assert cost["dev_ms"] == pytest.approx(8.0 / 16)
    assert len(spins) == 2 and abs(spins[1] - 4 * spins[0]) <= 4 and spins[0] >= 1000 * clockcheck.SPIN_MIN_MS
    assert cost["launch_ms"] > 0  # the host time of queuing, taken from the run the spin hid
    # A host that outlasts both spins waits for the device (a synchronisation in get_inputs): the wall
    # time stands for the device's, which cannot exceed it.
    _FakeEvent.reached = [True, True]
    waits = clockcheck.overhead(lambda s: [], outs, seeds, lambda: None, repeats=1, device="cuda")
    assert waits["dev_ms"] == waits["gen_ms"] and not _FakeEvent.reached
    cpu = clockcheck.overhead(lambda s: [], outs, seeds, lambda: None, repeats=1)
    assert cpu["dev_ms"] is None


def test_inputs_are_seeded_as_torch_manual_seed_would() -> None:
    from repro.harness import problem as prob

    torch.manual_seed(1234)
    expected = [torch.randn(3000), torch.rand(7, 5), torch.randint(0, 100, (50,))]
    torch.manual_seed(99)
    prob.seed_generators(1234, "cpu")
    got = [torch.randn(3000), torch.rand(7, 5), torch.randint(0, 100, (50,))]
    assert all(torch.equal(a, b) for a, b in zip(expected, got, strict=True))


def test_integer_and_empty_outputs_project_exactly() -> None:
    ints = torch.arange(1000, dtype=torch.int64)
    terms = clockcheck.reference_terms([ints, torch.empty(0)], 3)
    got = clockcheck.project([ints.clone(), torch.empty(0)], 3)
    assert abs(float(got[0]) - terms["p"][0]) <= clockcheck.allowed_difference(terms, 0, 0.0, 0.0)
    assert float(got[1]) == terms["p"][1] == 0.0
    off = ints.clone()
    off[10:20] += 5
    assert abs(float(clockcheck.project([off], 3)[0]) - terms["p"][0]) > clockcheck.allowed_difference(
        terms, 0, 0.0, 0.0
    )


def _cost(gen_ms: float, launch_ms: float = 0.1, dev_ms: float | None = None) -> dict[str, float | None]:
    return {"gen_ms": gen_ms, "launch_ms": launch_ms, "dev_ms": dev_ms}


def test_the_time_rule_on_the_cpu_path() -> None:
    # 20 calls of 5 ms on the parent's clock (plus the fixed allowance), batch cost 0.5 ms a call.
    fixed, fixed_cpu = clockcheck.FIXED_MS["cpu"], clockcheck.FIXED_CPU_MS
    honest = clockcheck.judge_time([fixed + 20 * 5.5], 20, 5.0, _cost(0.5), "cpu")
    assert not honest.contradicts and honest.per_call_ms == pytest.approx(5.0)
    forged = clockcheck.judge_time([fixed + 20 * 5.5], 20, 2.5, _cost(0.5), "cpu")  # half the real time
    assert forged.contradicts and forged.allowed_ms == pytest.approx(3.75)
    # The fastest round counts; on the CPU path, the CPU time where it is the smaller (a loaded machine),
    # less its own, smaller allowance.
    loaded = clockcheck.judge_time([400.0, fixed + 20 * 5.5], 20, 5.0, _cost(0.5), "cpu", [None, 300.0])
    assert not loaded.contradicts and loaded.rounds_per_call_ms == pytest.approx(
        ((400.0 - fixed) / 20 - 0.5, 5.0)
    )
    by_cpu = clockcheck.judge_time([400.0], 20, 5.0, _cost(0.5), "cpu", [fixed_cpu + 20 * 5.5])
    assert not by_cpu.contradicts and by_cpu.cpu_counted and by_cpu.per_call_ms == pytest.approx(5.0)
    # The CPU time's allowance is not the wall clock's: 20 ms of CPU time beyond the calls is refused.
    assert clockcheck.judge_time([400.0], 20, 2.5, _cost(0.5), "cpu", [20 + 20 * 4.25]).contradicts
    # Measured beside three CPU-bound processes started with the batch (BENCHMARKS.md): the honest gelu
    # solution, an 8.135 ms median and 19 calls taking 338.2 ms (169.6 ms of CPU time; own cost 0.077
    # ms), and PyTorch ops, 0.038 ms and 21 calls in 14.6 ms (4.59 ms of CPU time; own cost 0.059 ms),
    # are accepted; the half-time forger, 2.69 ms reported and three rounds of 21 calls at 161.5, 153.3
    # and 153.3 ms of CPU time (own cost 0.048 ms), is refused in each.
    assert not clockcheck.judge_time([338.2], 19, 8.135, _cost(0.0766), "cpu", [169.6]).contradicts
    assert not clockcheck.judge_time([14.61], 21, 0.038, _cost(0.0591), "cpu", [4.59]).contradicts
    forger = clockcheck.judge_time(
        [537.5, 530.6, 518.8], 21, 2.69, _cost(0.0476), "cpu", [161.5, 153.3, 153.3]
    )
    assert forger.contradicts and min(forger.rounds_per_call_ms) > forger.allowed_ms + 2.0
    # On a quiet machine the wall time is the smaller reading: the half-time forger of a 5.5 ms kernel
    # (gauntlet `forges_channel_plausible`, CPU scorecard of harness version 12: 21 calls in 114.26 ms,
    # 113.91 ms of CPU time, own cost 0.078 ms, 2.658 ms reported) is refused by the wall clock's
    # allowance, where 30 ms had let it through (3.93 ms a call against 3.99 allowed); the honest kernel
    # beside it (5.656 ms reported, 21 calls in 119.39 ms, 120.46 of CPU time) passes with room.
    quiet = clockcheck.judge_time([114.26], 21, 2.658, _cost(0.078), "cpu", [113.91])
    assert quiet.contradicts and min(quiet.rounds_per_call_ms) > 1.15 * quiet.allowed_ms
    honest_quiet = clockcheck.judge_time([119.39], 21, 5.656, _cost(0.078), "cpu", [120.46])
    assert not honest_quiet.contradicts and honest_quiet.per_call_ms < 0.7 * honest_quiet.allowed_ms


def _cuda(ms_per_call: float, calls: int, median: float, dev: float, launch: float) -> clockcheck.Verdict:
    rounds = [clockcheck.FIXED_MS["cuda"] + calls * ms_per_call]
    return clockcheck.judge_time(rounds, calls, median, _cost(dev + launch, launch, dev), "cuda", [1.0])


def test_on_the_cpu_path_a_round_slower_throughout_counts_at_its_own_calls_median() -> None:
    """A shared CPU's speed varies between moments: a round that contradicts the timed loop's median but
    agrees with its own calls' median (as the worker timed them in the round) is accepted at that median;
    a round whose own median is halved too (a forger) is refused, and a burst that leaves the median alone
    is left to the confirming rounds."""
    cost = {"gen_ms": 0.0, "launch_ms": 0.0, "dev_ms": None}
    fixed = clockcheck.FIXED_MS["cpu"]
    batch = 10 * 20.0 + fixed  # 10 calls of 20 ms on the parent's wall clock
    refused = clockcheck.judge_time([batch], 10, 10.0, cost, "cpu")  # the timed loop said 10 ms
    assert refused.contradicts and refused.raised_ms is None
    ok = clockcheck.judge_time([batch], 10, 10.0, cost, "cpu", [None], [19.0])
    assert not ok.contradicts and ok.raised_ms == 19.0 and ok.allowed_ms == pytest.approx(19.0 * 1.5)
    forged = clockcheck.judge_time([batch], 10, 10.0, cost, "cpu", [None], [10.0])  # halved in the round too
    assert forged.contradicts and forged.raised_ms is None
    too_short = clockcheck.judge_time([batch], 10, 10.0, cost, "cpu", [None], [12.0])  # 20 > 1.5 x 12
    assert too_short.contradicts
    # Of two rounds that would agree, the smaller raise counts; an unusable reading is ignored.
    two = clockcheck.judge_time([batch, batch], 10, 10.0, cost, "cpu", [None, None], [25.0, 15.0])
    assert two.raised_ms == 15.0
    assert clockcheck.judge_time([batch], 10, 10.0, cost, "cpu", [None], [float("nan")]).contradicts
    # A round that agrees with the timed loop is never raised, and CUDA is not judged this way.
    assert clockcheck.judge_time([10 * 9.0 + fixed], 10, 10.0, cost, "cpu", [None], [30.0]).raised_ms is None
    cuda = {"gen_ms": 0.0, "launch_ms": 0.01, "dev_ms": 0.0}
    assert clockcheck.judge_time([batch], 10, 10.0, cuda, "cuda", [None], [19.0]).raised_ms is None


def test_the_cuda_rule_is_a_device_bound_or_a_host_bound() -> None:
    """On CUDA the own device time D is subtracted, and a batch is accepted when the device explains its
    time (D, 2% of D, the call at 1.1 m or m + 0.035 ms) or the host does (2.5x the own queuing H, the
    pre-roll, m), each plus the other's one call spread over the K calls."""
    m, dev, launch, k = 0.15, 0.42, 0.10, 42
    assert clockcheck.call_max(m) == pytest.approx(m + 0.035)  # short: the absolute slack
    assert clockcheck.call_max(2.0) == pytest.approx(2.2)  # long: 10%
    d_max = 1.02 * dev + m + 0.035
    h_max = 2.5 * launch + 0.2 + m
    allowed, bound = clockcheck.cuda_allowance(m, dev, launch, k)
    assert bound == "device" and allowed == pytest.approx(d_max + h_max / k - dev)
    allowed, bound = clockcheck.cuda_allowance(m, 0.05, 0.3, k)  # short own device work, slow queuing
    assert bound == "host" and allowed == pytest.approx(
        2.5 * 0.3 + 0.2 + m + (1.02 * 0.05 + m + 0.035) / k - 0.05
    )
    # The CPU time does not count on CUDA (a synchronising host spins).
    assert clockcheck.judge_time([400.0], 20, 5.0, _cost(0.5, 0.1, 0.4), "cuda", [1.0]).contradicts
    # The gauntlet's half-time forger of the 64M-element scale-add as measured on an H200 (commit a551ff5):
    # D 0.447 ms, H 0.106 ms, reporting 0.1695 ms, its batch 0.2464 ms a call less D over 42 calls. The
    # rule before (25% of m, 5% of D) allowed 0.2493 and let it through; now refused by the device's bound.
    plausible = _cuda(0.447 + 0.2464, k, 0.1695, 0.447, 0.106)
    assert plausible.contradicts and plausible.bound == "device"
    assert plausible.allowed_ms == pytest.approx(0.02 * 0.447 + 0.1695 + 0.035 + (2.5 * 0.106 + 0.3695) / k)
    assert not _cuda(0.447 + 0.2464, k, 0.2464, 0.447, 0.106).contradicts  # the same kernel, its own time
    # An honest device-bound kernel 0.029 ms a call slower in the batch than its median (the most seen on an
    # H200), plus 1% of error in D: accepted; likewise a long kernel 9% slower.
    assert not _cuda(1.01 * dev + 0.128 + 0.029, k, 0.128, dev, launch).contradicts
    assert not _cuda(1.01 * dev + 1.09 * 3.0, k, 3.0, dev, launch).contradicts
    # An honest 0.061 ms row reduction in a process whose host queues 2.3x slower than the reference
    # worker's, with its own launches of 0.2 ms (what the pre-roll hides): host-bound, accepted.
    row = _cuda(2.3 * 0.06 + 0.2, k, 0.061, 0.13, 0.06)
    assert not row.contradicts and row.bound == "host"
    # Monotone: more time on the parent's clock never turns a refusal into an acceptance.
    for extra in (0.0, 0.01, 0.1, 1.0):
        assert _cuda(0.447 + 0.2464 + extra, k, 0.1695, 0.447, 0.106).contradicts


def test_the_cuda_rule_bounds_every_honest_schedule_of_host_and_device() -> None:
    """The bound the CUDA rule rests on: a host that queues each call within Hc while the device runs it
    within Dc, never waiting for the device, finishes K calls within max(K Dc + Hc, K Hc + Dc). Checked
    on random schedules of the queue (each call's own work, launches and kernel as separate items)."""
    gen = random.Random(5)
    for _ in range(300):
        k = gen.randint(2, 50)
        hc, dc = gen.uniform(0.01, 1.0), gen.uniform(0.01, 1.0)
        host_done = device_done = 0.0
        for _call in range(k):
            h_parts = [gen.random() for _ in range(4)]
            d_parts = [gen.random() for _ in range(4)]
            h_scale = hc * gen.uniform(0.5, 1.0) / sum(h_parts)
            d_scale = dc * gen.uniform(0.5, 1.0) / sum(d_parts)
            for h, d in zip(h_parts, d_parts, strict=True):
                host_done += h * h_scale  # the item is queued ...
                device_done = max(device_done, host_done) + d * d_scale  # ... and runs after the previous
        assert device_done <= max(k * dc + hc, k * hc + dc) + 1e-9


def test_the_batch_is_sized_from_the_reported_median_within_the_pool() -> None:
    assert clockcheck.calls_for(1.0, 0.0, 128, "cuda") == 40
    assert clockcheck.calls_for(0.001, 0.0, 128, "cuda") == 128 // clockcheck.ROUNDS
    assert clockcheck.calls_for(500.0, 1.0, 64, "cuda") == clockcheck.K_MIN
    assert clockcheck.calls_for(500.0, 1.0, 3, "cuda") == 1  # a pool too small for K_MIN a round
    assert clockcheck.calls_for(1.0, 0.0, 2, "cpu") == 0


def test_cpu_time_of_a_process_tree_counts_children_and_reaped_ones() -> None:
    script = textwrap.dedent(
        """
        import os, subprocess, sys, time
        def burn(s):
            t = time.process_time()
            while time.process_time() - t < s:
                pass
        sys.stdin.readline()
        child = subprocess.Popen([sys.executable, "-c", "import time\\nt=time.process_time()\\n"
                                  "while time.process_time()-t<0.3: pass\\nimport sys; sys.stdin.readline()"],
                                 stdin=subprocess.PIPE)
        pid = os.fork()
        if pid == 0:
            burn(0.3)
            os._exit(0)
        os.waitpid(pid, 0)  # reaped: its time is now in this process's cutime
        time.sleep(0.5)  # the running child has burnt its 0.3 s by now
        sys.stdout.write("done\\n"); sys.stdout.flush()
        sys.stdin.readline()
        child.stdin.close(); child.wait()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        before = clockcheck.tree_cpu(proc.pid)
        assert before is not None
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"done\n"
        after = clockcheck.tree_cpu(proc.pid)
        assert (
            after is not None and clockcheck.cpu_between(before, after) >= 600
        )  # 0.3 s reaped + 0.3 s running
    finally:
        assert proc.stdin is not None
        proc.stdin.write(b"\n")
        proc.stdin.close()
        proc.wait()


def test_cpu_time_of_a_live_process_is_read_to_the_nanosecond_not_in_ticks() -> None:
    # 15 ms of CPU between two readings: clock ticks (10 ms) would read 10 or 20.
    script = (
        "import sys, time\n"
        "sys.stdin.readline()\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.015:\n"
        "    pass\n"
        "sys.stdout.write('done\\n'); sys.stdout.flush()\n"
        "sys.stdin.readline()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        time.sleep(0.3)  # started and waiting
        before = clockcheck.tree_cpu(proc.pid)
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == b"done\n"
        after = clockcheck.tree_cpu(proc.pid)
        assert before is not None and after is not None
        assert 15.0 <= clockcheck.cpu_between(before, after) < 19.0
    finally:
        proc.stdin.write(b"\n")
        proc.stdin.close()
        proc.wait()


def test_reaped_childrens_ticks_round_up_between_readings() -> None:
    # Reaped children's time exists in whole ticks only: each counter that moved counts one tick more, so
    # the reading never falls below the time spent; a counter that did not move adds nothing.
    tick = clockcheck._TICK_MS
    before = {10: (100.0, 3, 1), 11: (50.0, 0, 0)}
    assert clockcheck.cpu_between(before, before) == 0.0
    after = {10: (100.0, 5, 1), 11: (50.0, 0, 0), 12: (4.0, 0, 0)}  # 10 reaped 2 ticks' worth; 12 is new
    assert clockcheck.cpu_between(before, after) == pytest.approx(2 * tick + tick + 4.0)


# --- the parent's side of the protocol ------------------------------------------------------------------


class Pipe:
    """The worker's end of a real channel to a Session (the parent's sends are read back from it)."""

    def __init__(self) -> None:
        to_worker_r, to_worker_w = os.pipe()
        self.parent = channel.Channel(-1, to_worker_w)
        self.worker = channel.Channel(to_worker_r, -1)

    def close(self) -> None:
        os.close(self.parent.wfd)
        os.close(self.worker.rfd)


def _session(pool_size: int = 9, gen_ms: float = 0.0) -> Session:
    seeds = list(range(1000, 1000 + pool_size))
    pool = [{"p": [0.0], "n": [1.0], "s1": [0.0], "s2": [0.0], "wr": [0.0]} for _ in seeds]
    s = Session(SETTINGS, [1, 2, 3], [[], [], []], batch={"seeds": seeds, "pool": pool, "gen_ms": gen_ms,
                                                          "launch_ms": 0.0, "dev_ms": None})  # fmt: skip
    s.event_ms, s.host_ms, s.stopped = [5.0] * 3, [5.0] * 3, True
    return s


def _ask(s: Session, pipe: Pipe, r: int) -> list[int]:
    s._on_batch(pipe.parent, {"r": r}, b"")
    header, _ = pipe.worker.expect("batch")
    return header["seeds"]


def test_rounds_run_on_fresh_seeds_only_while_the_parent_clock_contradicts() -> None:
    pipe = Pipe()
    try:
        s = _session()
        default = sys.getswitchinterval()
        first = _ask(s, pipe, 0)
        # While a round is in flight the interpreter lock changes hands often: a thread busy in Python
        # cannot hold back the noting of the result's arrival by the default 5 ms.
        assert sys.getswitchinterval() == pytest.approx(serve.BATCH_SWITCH_INTERVAL_S)
        assert len(first) == 3 and set(first) <= set(s.batch["seeds"])  # type: ignore[index]
        assert not set(first) & {1, 2, 3}  # never a seed the timed loop could have sent
        s._received_ns = s._go_ns + int(3 * 20e6)  # 20 ms a call against a reported 5 ms: contradicts
        s._on_batch_done(pipe.parent, {"r": 0, "projections": [[0.0]] * 3, "orders": [["c"]] * 3}, b"")
        assert sys.getswitchinterval() == pytest.approx(default)
        t0 = time.monotonic()
        second = _ask(s, pipe, 1)
        # A confirming round starts after a pause, so that a burst of load can pass; the round says so.
        assert time.monotonic() - t0 >= clockcheck.CONFIRM_PAUSE_S["cpu"] > 0
        assert (
            s.batch_rounds[0]["pause_s"] == 0.0
            and s.batch_rounds[1]["pause_s"] == clockcheck.CONFIRM_PAUSE_S["cpu"]
        )
        assert len(second) == 3 and not set(second) & set(first)
        s._received_ns = s._go_ns + int(3 * 5e6)  # agrees: no third round
        s._on_batch_done(pipe.parent, {"r": 1, "projections": [[0.0]] * 3, "orders": [["c"]] * 3}, b"")
        assert _ask(s, pipe, 2) == [] and s.batch_over
        s._on_report(pipe.parent, {"report": {"status": "done"}}, b"")
        assert s.report == {"status": "done"}
    finally:
        pipe.close()


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        ([("report", {"report": {"status": "done"}})], "before the parent-clocked batch"),
        ([("batch", {"r": 1})], "out of turn"),
        (
            [("batch", {"r": 0}), ("batch", {"r": 1})],
            "out of turn",
        ),  # the next round before this one's result
        (
            [("batch", {"r": 0}), ("batch_done", {"r": 0, "projections": [[0.0]]})],
            "malformed",
        ),  # 1 of 3 calls
        ([("batch", {"r": 0}), ("batch_done", {"r": 0, "projections": [["0"]] * 3})], "malformed"),
        (
            [("batch", {"r": 0}), ("batch_done", {"r": 0, "projections": [[0.0]] * 3})],
            "malformed",
        ),  # no orders
        (
            [
                ("batch", {"r": 0}),
                ("batch_done", {"r": 0, "projections": [[0.0]] * 3, "orders": [["f"]] * 3}),
            ],
            "malformed",
        ),  # an order the harness does not know
        (
            [("batch", {"r": 0}), ("batch_done", {"r": 0, "projections": [[0.0]] * 3, "orders": [[]] * 3})],
            "malformed",
        ),  # an order per output
        (
            [
                ("batch", {"r": 0}),
                ("batch_done", {"r": 0, "projections": [[0.0]] * 3, "orders": [["c"]] * 3, "call_ms": [1.0]}),
            ],
            "malformed",
        ),  # a call time per call
        (
            [
                ("batch", {"r": 0}),
                (
                    "batch_done",
                    {"r": 0, "projections": [[0.0]] * 3, "orders": [["c"]] * 3, "call_ms": [-1.0] * 3},
                ),
            ],
            "malformed",
        ),  # fmt: skip
        ([("batch_done", {"r": 0, "projections": []})], "out of turn"),  # a result before the seeds
    ],
)
def test_a_batch_out_of_order_is_a_protocol_violation(steps: list, words: str) -> None:
    pipe = Pipe()
    try:
        s = _session()
        with pytest.raises(ProtocolViolation, match=words):
            for kind, header in steps:
                getattr(s, f"_on_{kind}")(pipe.parent, header, b"")
                if kind == "batch":
                    pipe.worker.expect("batch")
    finally:
        pipe.close()


def test_a_batch_before_the_timing_stopped_is_a_protocol_violation() -> None:
    pipe = Pipe()
    try:
        s = _session()
        s.stopped = False
        with pytest.raises(ProtocolViolation, match="out of turn"):
            s._on_batch(pipe.parent, {"r": 0}, b"")
    finally:
        pipe.close()
