"""Unit tests of the harness's pure parts: settings, comparison, statistics, op policy, environment, peaks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from repro.harness import EvalSettings, compare, opcheck, peaks, sandbox, timing


def test_settings_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="device"):
        EvalSettings(device="tpu")
    with pytest.raises(ValueError, match="baselines"):
        EvalSettings(baselines=("eager", "cudnn"))
    with pytest.raises(ValueError, match="min_timing_iters"):
        EvalSettings(timing_iters=5, min_timing_iters=10)
    s = EvalSettings(device="cpu", gpu=3)
    assert EvalSettings.from_dict(s.to_dict()) == s
    assert (
        s.fingerprint()
        == EvalSettings(device="cpu", gpu=0).fingerprint()
        != EvalSettings(seed=1).fingerprint()
    )


def test_compare_reports_error_and_tolerance() -> None:
    ref = [torch.ones(4)]
    assert compare.compare_one([torch.ones(4) + 1e-6], ref, [[1e-4, 1e-4]], "t")[0] is None
    bad, worst = compare.compare_one([torch.tensor([1.0, 1.0, 1.5, 1.0])], ref, [[1e-4, 1e-4]], "t")
    assert (
        bad is not None and "max abs error 0.5" in bad.reason and "index (2,)" in bad.reason and worst == 0.5
    )
    assert (
        "NaN/Inf"
        in compare.compare_one([torch.tensor([1.0, float("nan"), 1, 1])], ref, [[1, 1]], "t")[0].reason
    )
    assert "shape (2,)" in compare.compare_one([torch.ones(2)], ref, [[1, 1]], "t")[0].reason
    assert "dtype torch.float16" in compare.compare_one([torch.ones(4).half()], ref, [[1, 1]], "t")[0].reason
    assert "returned 2 output" in compare.compare_one([torch.ones(4)] * 2, ref, [[1, 1]], "t")[0].reason
    ints = [torch.arange(3)]
    assert "exact match" in compare.compare_one([torch.tensor([0, 1, 3])], ints, [[0, 0]], "t")[0].reason


def test_median_interval_and_summary() -> None:
    xs = [float(i) for i in range(1, 101)]
    lo, hi = timing.median_interval(xs)
    assert lo < 50.5 < hi and hi - lo < 25
    s = timing.summarize(xs)
    assert s["median"] == 50.5 and s["min"] == 1 and s["max"] == 100 and s["p10"] < s["p90"] and s["n"] == 100


class FakeClock:
    """A clock whose every call lasts `durations[i]` ms of event time (and `host_extra` more on the host)."""

    method = "fake"

    def __init__(self, durations, host_extra=0.0, device_wide=True):
        self.durations, self.host_extra, self.device_wide = list(durations), host_extra, device_wide
        self.calls, self.ns = 0, 0

    def now_ns(self):
        return self.ns

    def begin(self):
        pass

    def end(self):
        ms = self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1
        self.ns += int(ms * 1e6)
        return ms, ms + self.host_extra


def _measure(clock, **kw):
    seen = []

    def fn(x):
        seen.append(x.data_ptr())
        return x + 1

    opts = dict(warmup=2, min_iters=10, max_iters=50, target_rel_ci=0.01, max_time_s=60.0)
    opts.update(kw)
    return timing.measure(fn, lambda i: [torch.full((4,), float(i))], clock, **opts), seen


def test_every_call_after_the_first_reuses_the_previous_buffers_with_fresh_values() -> None:
    outs = []
    res = timing.measure(lambda x: outs.append(x.clone()) or x, lambda i: [torch.full((4,), float(i))],
                         FakeClock([1.0]), warmup=1, min_iters=5, max_iters=5, target_rel_ci=1.0,
                         max_time_s=60.0)  # fmt: skip
    assert [float(o[0]) for o in outs] == [0, 1, 2, 3, 4, 5]  # fresh values every call
    _, ptrs = _measure(FakeClock([1.0]), min_iters=5, max_iters=5)
    assert len(set(ptrs[1:])) == 1  # one address for every timed call: nothing tells a checked one apart
    assert len(res.samples_ms) == 5


def test_stopping_rule_stops_at_min_iters_when_stable_and_at_max_when_not() -> None:
    res, _ = _measure(FakeClock([1.0]))
    assert len(res.samples_ms) == 10 and res.samples_ms[0] == 1.0
    noisy = [1.0 + (i % 7) * 0.3 for i in range(100)]
    res, _ = _measure(FakeClock(noisy), max_iters=40)
    assert len(res.samples_ms) == 40
    # the time limit ends a noisy run past min_iters: 1 ms calls, a 15 ms limit
    res, _ = _measure(FakeClock(noisy), max_iters=1000, max_time_s=0.015)
    assert 10 <= len(res.samples_ms) < 20


def test_after_hook_decides_when_to_stop() -> None:
    calls = []
    res, _ = _measure(FakeClock([1.0]), after=lambda ti, out, ev, host: calls.append(ti) or ti == 2)
    assert calls == [0, 1, 2] and len(res.samples_ms) == 3


def test_side_work_switches_to_the_host_clock_only_when_clearly_longer() -> None:
    res, _ = _measure(FakeClock([1.0], host_extra=0.01))  # launch jitter: below both thresholds
    assert res.samples_ms[0] == 1.0 and "host clock" not in res.method
    res, _ = _measure(FakeClock([1.0], host_extra=2.0))  # work the events missed
    assert res.samples_ms[0] == 3.0 and res.side_work_ms == 2.0 and "host clock" in res.method
    res, _ = _measure(FakeClock([1.0], host_extra=2.0, device_wide=False))  # CPU: one clock, no rule
    assert res.samples_ms[0] == 1.0
    assert timing.side_work([], []) == (0.0, False)


def test_op_policy_denies_compute_by_default() -> None:
    seen = {"aten::empty_like": 2, "aten::view": 1, "aten::_softmax": 1, "aten::mm": 1}
    assert opcheck.forbidden_ops(seen, []) == ["aten::_softmax", "aten::mm"]
    assert opcheck.forbidden_ops(seen, ["aten::mm"]) == ["aten::_softmax"]
    msg = opcheck.forbidden_reason(["aten::_softmax"], {"aten::_softmax": 1})
    assert msg.startswith(
        "ModelNew.forward called aten::_softmax (the reference calls it too), which is not allowed"
    )
    with opcheck.OpRecorder() as rec:
        torch.softmax(torch.ones(3), 0)
    assert "aten::_softmax" in rec.counts


# In a fresh process: the tracer loads no compiler, and once a candidate compiles, its frames stay outside
# what torch.compile traces (were they compiled, `compiled_frames` would count them).
_RECORDER_WITHOUT_DYNAMO = """
import sys, torch
from repro.harness import guards, opcheck
with opcheck.OpRecorder() as rec:
    torch.softmax(torch.ones(3), 0)
assert "torch._dynamo" not in sys.modules, "the op tracer imported torch._dynamo"
fn, x = torch.compile(lambda a: torch.relu(a * 2.0), backend="eager"), torch.ones(4)
with torch.no_grad(), opcheck.OpRecorder() as rec:
    out = fn(x)
assert dict(rec.counts) == {"aten::mul": 1, "aten::relu": 1}, dict(rec.counts)
assert guards.compiled_frames() == 0, guards.compiled_frames()
assert out.tolist() == [2.0] * 4
"""


def test_op_recorder_loads_no_compiler_and_keeps_its_frames_out_of_one() -> None:
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-c", _RECORDER_WITHOUT_DYNAMO], cwd=root, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]


def test_scrubbed_env_is_an_allow_list(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for k in (
        "OPENAI_API_KEY",
        "AWS_ACCESS_KEY_ID",
        "HF_TOKEN",
        "MY_PASSWORD",
        "GITHUB_TOKEN",
        "KERNELATLAS_CACHE",
    ):
        monkeypatch.setenv(k, "x")
    monkeypatch.setenv("UPSTREAM_URL", "https://user:secret@host/")  # a secret no deny pattern names
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    env = sandbox.scrubbed_env("cpu", None, tmp_path)
    assert not {"OPENAI_API_KEY", "AWS_ACCESS_KEY_ID", "HF_TOKEN", "MY_PASSWORD", "GITHUB_TOKEN"} & set(env)
    assert "KERNELATLAS_CACHE" not in env and "UPSTREAM_URL" not in env and env["LC_ALL"] == "C.UTF-8"
    assert env["TRITON_INTERPRET"] == "1" and env["HOME"] == str(tmp_path)
    assert env["TMPDIR"] == str(tmp_path / "tmp") and env["TRITON_CACHE_DIR"] == str(tmp_path / "triton")
    assert sandbox.scrubbed_env("cuda", 3, tmp_path)["CUDA_VISIBLE_DEVICES"] == "3"


def test_sol_fraction() -> None:
    pk = {"copy_bytes_per_s": 1e12, "flops_per_s": {"float32": 1e13, "bfloat16": 1e14}}
    # 1e9 bytes at 1 TB/s = 1 ms; candidate 2 ms -> 0.5
    assert peaks.sol_fraction(1e9, 1e9, "float32", 2.0, pk) == pytest.approx(0.5)
    # compute-bound: 1e11 flops at 1e13 = 10 ms
    assert peaks.sol_fraction(1e11, 1e3, "float32", 20.0, pk) == pytest.approx(0.5)
    assert peaks.sol_fraction(None, None, "float32", 2.0, pk) is None


def test_peaks_file_errors_name_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    bad = tmp_path / "peaks.json"
    bad.write_text("{not json")
    monkeypatch.setenv("KERNELATLAS_PEAKS", str(bad))
    with pytest.raises(ValueError, match="peaks.json: not valid JSON"):
        peaks.load("anything")
    bad.write_text('{"copy_bytes_per_s": 1}')
    with pytest.raises(ValueError, match="missing key 'flops_per_s'"):
        peaks.load("anything")


def test_peaks_are_measured_with_the_harness_timer_into_a_versioned_file(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("KERNELATLAS_PEAKS", raising=False)
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path))
    path = peaks.peaks_path("cpu")
    assert path.name == f"cpu-v{peaks.METHOD_VERSION}.json"  # peaks timed the older way are not reused
    (path.parent).mkdir(parents=True)
    (path.parent / "cpu.json").write_text('{"copy_bytes_per_s": 1, "flops_per_s": {"float32": 1}}')
    assert peaks.load("cpu") is None
    data = peaks.measure_and_store(path, "cpu")
    assert data["copy_bytes_per_s"] > 1e6 and data["flops_per_s"]["float32"] > 1e6
    assert data["method"].startswith(f"v{peaks.METHOD_VERSION}:")
    assert peaks.load("cpu")["copy_bytes_per_s"] == data["copy_bytes_per_s"]


def test_sampled_outputs_are_compared_at_their_positions() -> None:
    ref = [torch.arange(10.0).reshape(2, 5)]
    pos = [torch.tensor([1, 7, 9])]
    ok = torch.tensor([1.0, 7.0, 9.0])
    assert compare.compare_one([ok], ref, [[1e-4, 1e-4]], "t", pos, [[2, 5]])[0] is None
    bad, _ = compare.compare_one([torch.tensor([1.0, 7.5, 9.0])], ref, [[1e-4, 1e-4]], "t", pos, [[2, 5]])
    assert "3 sampled positions" in bad.reason and "first at index (7,)" in bad.reason
    wrong_shape, _ = compare.compare_one([ok], ref, [[1e-4, 1e-4]], "t", pos, [[5, 2]])
    assert "shape (5, 2), expected (2, 5)" in wrong_shape.reason
    out_of_range = [torch.tensor([1, 7, 99])]
    assert "malformed" in compare.compare_one([ok], ref, [[1, 1]], "t", out_of_range, [[2, 5]])[0].reason


def test_sampled_repeat_is_checked_against_the_first_run_at_its_positions() -> None:
    from repro.harness.evaluate import _determinism

    first_pos = torch.tensor([1, 7], dtype=torch.int32)
    first = [torch.tensor([1.0, 7.0])]
    tol = [[1e-4, 1e-4]]

    def outputs(repeat_values: list[float], repeat_pos: list[int]) -> dict:
        return {"s0/t0/first": first, "s0/t0/first@positions": [first_pos],
                "s0/t0/repeat": [torch.tensor(repeat_values)],
                "s0/t0/repeat@positions": [torch.tensor(repeat_pos, dtype=torch.int32)]}  # fmt: skip

    def check(values: list[float], pos: list[int]):
        out = outputs(values, pos)
        return _determinism(out, "s0/t0", tol, "shape 0", [out["s0/t0/repeat@positions"][0]], [[2, 5]])

    assert check([1.0, 7.0, 3.0], [1, 7, 3]) is None  # same values where the first run was sampled
    changed = check([1.0, 7.5, 3.0], [1, 7, 3])
    assert "determinism, at the first run's sampled positions" in changed.reason
    assert "max abs error 0.5" in changed.reason
    assert "not sampled alike" in check([1.0, 7.0, 3.0], [2, 7, 3]).reason
    assert "not sampled alike" in check([1.0], [1]).reason
    # Outputs sent in full are compared in full.
    full = {"s0/t0/first": first, "s0/t0/repeat": [torch.tensor([1.0, 7.25])]}
    assert "determinism" in _determinism(full, "s0/t0", tol, "shape 0", None, None).reason


def test_standby_worker_is_replaced_when_the_environment_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = sandbox.StandbyPool()
    try:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
        first = pool.take("cpu", None)  # started now; a standby for the next call starts too
        sandbox.kill(first)
        shutil.rmtree(first.job_dir)
        (standby,) = pool._ready[("cpu", None)]
        monkeypatch.setenv("OMP_NUM_THREADS", "3")  # an allow-listed variable the candidate would see
        second = pool.take("cpu", None)
        assert second is not standby and standby.proc.poll() is not None  # the stale one was killed
        assert not standby.job_dir.exists()
        sandbox.kill(second)
        shutil.rmtree(second.job_dir)
    finally:
        pool.close()


def test_settings_refuse_nan_and_infinite_limits() -> None:
    import math

    from repro.harness import EvalSettings

    for bad in (math.nan, math.inf, 0.0, -1.0):
        with pytest.raises(ValueError, match="timeout_s must be a positive, finite number"):
            EvalSettings(timeout_s=bad)
    with pytest.raises(ValueError, match="max_timing_s"):
        EvalSettings(max_timing_s=math.nan)


def test_channel_round_trip_and_refusals() -> None:
    import os

    from repro.harness import channel

    r, w = os.pipe()
    try:
        ch = channel.Channel(r, w)
        tensors = [
            torch.arange(5, dtype=torch.float32),
            torch.ones(2, 3, dtype=torch.bfloat16),
            torch.empty(0),
        ]
        meta, raw = channel.pack_tensors(tensors)
        ch.send("values", {"meta": meta}, raw)
        header, payload = ch.expect("values")
        back = channel.unpack_tensors(header["meta"], payload)
        assert all(torch.equal(a, b) and a.dtype == b.dtype for a, b in zip(tensors, back, strict=True))
        with pytest.raises(channel.ChannelError, match="do not match its shape"):
            channel.unpack_tensors([["float32", [3], 8]], b"\0" * 8)
        with pytest.raises(channel.ChannelError, match="no tensor accounts for"):
            channel.unpack_tensors([["float32", [1], 4]], b"\0" * 8)
        with pytest.raises(channel.ChannelError, match="unknown dtype"):
            channel.unpack_tensors([["save", [1], 4]], b"\0" * 4)
        ch.send("seed", {"seed": 1})
        with pytest.raises(channel.ChannelError, match="expected a 'next' message"):
            ch.expect("next")
        import time

        with pytest.raises(TimeoutError):
            ch.recv(deadline=time.monotonic() + 0.05)
    finally:
        os.close(r)
        os.close(w)


def test_physical_floor_refuses_times_faster_than_writing_the_outputs() -> None:
    from repro.harness.evaluate import _physical_floor

    bundle = {
        "peaks": {"copy_bytes_per_s": 4e12, "flops_per_s": {"float32": 5e13, "bfloat16": 8e14}},
        "pool_shapes": [[[1 << 24]]],
        "outputs": {"s0/t0": [torch.empty(1)]},
        "flops": 3.0 * (1 << 24),
    }
    floor_ms = (4 << 24) / 4e12 * 1e3  # 64 MiB written once at 4 TB/s: 0.0168 ms
    assert _physical_floor(bundle, None, floor_ms * 1.01) is None
    reason = _physical_floor(bundle, None, floor_ms * 0.5)
    assert reason and "physically impossible" in reason and "copy bandwidth" in reason
    assert _physical_floor({**bundle, "peaks": None}, None, 1e-9) is None  # no peaks measured: no floor


def test_standby_worker_is_reused_when_the_environment_is_unchanged() -> None:
    """The process started one ahead must be the one the next candidate gets (its imports are done):
    paths naming its own job folder do not make it stale."""
    pool = sandbox.StandbyPool()
    taken: list[sandbox.Worker] = []
    try:
        first = pool.take("cpu", None)
        taken.append(first)
        (ahead,) = pool._ready[("cpu", None)]
        second = pool.take("cpu", None)
        taken.append(second)
        assert second is ahead and second.proc.pid != first.proc.pid
        # Two candidates at once on a device: two processes are kept ready, and both are used in turn.
        pool.reserve_lanes("cpu", [None, None])
        assert len(pool._ready[("cpu", None)]) == 2  # started at once
        taken.append(pool.take("cpu", None))
        ahead = list(pool._ready[("cpu", None)])
        assert len(ahead) == 2 and taken[-1] not in ahead
        taken += [pool.take("cpu", None), pool.take("cpu", None)]
        assert taken[-2:] == ahead and len(pool._ready[("cpu", None)]) == 2
    finally:
        for w in taken:
            sandbox.kill(w)
            shutil.rmtree(w.job_dir, ignore_errors=True)
        pool.close()


def test_a_last_take_starts_no_process_ahead() -> None:
    """`replace=False` (no candidate follows, e.g. `python -m repro eval`): the one process used is the
    only one started; the default keeps one ready for the next candidate."""
    pool = sandbox.StandbyPool()
    taken: list[sandbox.Worker] = []
    try:
        taken.append(pool.take("cpu", None, replace=False))
        assert pool.started == 1 and pool._ready[("cpu", None)] == []
        taken.append(pool.take("cpu", None))
        assert pool.started == 3 and len(pool._ready[("cpu", None)]) == 1
    finally:
        for w in taken:
            sandbox.kill(w)
            shutil.rmtree(w.job_dir, ignore_errors=True)
        pool.close()


def test_lanes_reserve_one_standby_each_on_the_device_they_run_on() -> None:
    """Lanes sharing a GPU keep as many processes ready on it as there are lanes; CPU lanes keep one
    ready each on the CPU."""
    calls: list[tuple[str, int | None, int]] = []
    pool = sandbox.StandbyPool()
    try:
        pool.reserve = lambda device, gpu, n: calls.append((device, gpu, n))
        pool.reserve_lanes("cuda", [0, 1, 0, 1, 3])
        assert calls == [("cuda", 0, 2), ("cuda", 1, 2), ("cuda", 3, 1)]
        calls.clear()
        pool.reserve_lanes("cpu", [None, None, None])
        assert calls == [("cpu", None, 3)]
    finally:
        pool.close()


def test_a_candidates_job_gets_triton_host_modules_from_the_seed_and_no_compiled_kernels(tmp_path) -> None:
    """The reference's `torch.compile` baselines leave hundreds of compiled-kernel files in the seed;
    only the driver and launcher modules (built with the C compiler, about 1 s each) are worth a copy."""
    seed = tmp_path / "seed"
    for key, names in {
        "a1": ["cuda_utils.cpython-311-x86_64-linux-gnu.so"],
        "b2": ["__triton_launcher.cpython-311-x86_64-linux-gnu.so"],
        "c3": ["triton_poi_fused_add_0.cubin", "triton_poi_fused_add_0.json", "triton_poi_fused_add_0.ptx"],
        "d4": ["__grp__triton_poi_fused_add_0.json"],
    }.items():
        (seed / key).mkdir(parents=True)
        for name in names:
            (seed / key / name).write_bytes(b"x")
    (seed / "stray.so").write_bytes(b"x")
    dest = tmp_path / "job" / "triton"
    dest.mkdir(parents=True)
    assert sandbox.copy_triton_seed(seed, dest) == 2
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "a1", "a1/cuda_utils.cpython-311-x86_64-linux-gnu.so",
        "b2", "b2/__triton_launcher.cpython-311-x86_64-linux-gnu.so",
    ]  # fmt: skip
    assert sandbox.copy_triton_seed(tmp_path / "no-seed-yet", dest) == 0


def test_outputs_compared_on_arrival_give_the_judges_own_verdict() -> None:
    """`prejudge`: a result made while the candidate ran is taken only for the very tensors, positions
    and tolerance the judge holds, and says what the judge's own comparison says."""
    from repro.harness.prejudge import Prejudge

    ref = torch.arange(1000, dtype=torch.float32)
    refs, tols = {"s0/t0": [ref]}, {"s0/t0": [[1e-5, 1e-4]]}
    threads = torch.get_num_threads()
    early = Prejudge(refs, tols, lambda key, tag: f"{key} {tag}")
    assert torch.get_num_threads() == min(threads, 2)  # the candidate's cores are left alone
    try:
        pos = [torch.tensor([0, 999, 500])]
        good, bad = [ref[pos[0]].clone()], [ref[pos[0]] + torch.tensor([0.0, 0.0, 1.0])]
        early.submit("s0/t0/first", good, pos, [[1000]])
        early.submit("s0/t0/repeat", bad, pos, [[1000]])
        early.submit("s9/t0/first", good, pos, [[1000]])  # no such reference output: left to the judge
        early.submit("s0/t0@positions", good, pos, [[1000]])
        early.settle()
        assert early.take("s0/t0/first", good, tols["s0/t0"], pos, [[1000]]) == (None, 0.0)
        assert early.taken == 1
        mismatch, worst = early.take("s0/t0/repeat", bad, tols["s0/t0"], pos, [[1000]])
        own = compare.compare_one(bad, [ref], tols["s0/t0"], "s0/t0 repeat", pos, [[1000]])
        assert mismatch is not None and own[0] is not None and mismatch.reason == own[0].reason
        assert worst == own[1] == 1.0 and "at 1 of 3 elements (first at index (500,)" in mismatch.reason
        # Anything else than what was compared on arrival is the judge's to compare.
        assert early.take("s0/t0/first", [good[0].clone()], tols["s0/t0"], pos, [[1000]]) is None
        assert early.take("s0/t0/first", good, [[1e-3, 1e-3]], pos, [[1000]]) is None
        assert early.take("s0/t0/first", good, tols["s0/t0"], [pos[0].clone()], [[1000]]) is None
        assert early.take("s0/t0/first", good, tols["s0/t0"], pos, [[10, 100]]) is None
        assert early.take("s0/t0/after_ref", good, tols["s0/t0"], pos, [[1000]]) is None
        assert early.take("s9/t0/first", good, tols["s0/t0"], pos, [[1000]]) is None
        assert early.taken == 2  # only the two results the judge could use
        # A comparison that raised raises again where the judge takes it, as its own call would.
        odd: list = [object()]
        early.submit("s0/t0/after_ref", odd, None, None)
        with pytest.raises(AttributeError):
            early.take("s0/t0/after_ref", odd, tols["s0/t0"], None, None)
    finally:
        early.close()
        torch.set_num_threads(threads)


def test_cuda_keeps_two_processes_ready_and_the_cpu_path_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CUDA process's start-up outlasts a short evaluation: two wait in reserve there, so a back-to-back
    run never waits for one; the CPU path keeps one (a second would start beside the timed loop)."""
    from types import SimpleNamespace

    pool = sandbox.StandbyPool()
    current = sandbox._env_key(sandbox.scrubbed_env("cuda", 0, home=Path("/")))
    started: list[str] = []

    def fake_start(device: str, gpu: int | None) -> SimpleNamespace:
        started.append(device)
        env = sandbox._env_key(sandbox.scrubbed_env(device, gpu, home=Path("/")))
        return SimpleNamespace(
            env_key=env, proc=SimpleNamespace(poll=lambda: None), job_dir=Path("/nonexistent")
        )

    monkeypatch.setattr(pool, "_start", fake_start)
    first = pool.take("cuda", 0)
    assert first.env_key == current and len(pool._ready[("cuda", 0)]) == 2 and len(started) == 3
    second = pool.take("cuda", 0)
    assert second is not first and len(pool._ready[("cuda", 0)]) == 2 and len(started) == 4
    pool.take("cpu", None)
    assert len(pool._ready[("cpu", None)]) == 1
    pool.reserve("cuda", 1, 3)
    assert len(pool._ready[("cuda", 1)]) == 3  # more lanes than the default: one each
    pool._ready.clear()
