"""The evaluating process's side of a candidate worker's channel.

The parent, not the candidate's process, decides everything a candidate could steer:
- each timed iteration's seed (unseen inputs: os.urandom, or a reference-pool seed whose outputs
  the reference worker computed and the cache keeps out of the candidate's reach);
- which timed iterations are checked (chosen here, never sent: every iteration looks the same);
- which positions of each output are sampled (named only after the call has returned);
- when timing stops (the stopping rule runs here, on the raw times received);
and it keeps the raw times and values as they arrive, so nothing the worker writes later counts.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from repro.harness import channel, timing
from repro.harness.compare import TIMED_EDGE, TIMED_FULL_MAX, TIMED_POSITIONS
from repro.harness.settings import EvalSettings


class ProtocolViolation(Exception):
    """The channel carried something the worker's code never sends: written by the candidate."""


@dataclass
class Session:
    """What one candidate's worker sent, and the parent's secret choices."""

    settings: EvalSettings
    pool_seeds: list[int]
    pool_positions: list[list[torch.Tensor]]
    outputs: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    out_shapes: dict[str, list[list[int]]] = field(default_factory=dict)
    event_ms: list[float] = field(default_factory=list)
    host_ms: list[float] = field(default_factory=list)
    checked: dict[int, int] = field(default_factory=dict)  # timed index -> pool index
    timed_values: dict[int, list[torch.Tensor]] = field(default_factory=dict)  # pool index -> values
    timed_shapes: dict[int, list[list[int]]] = field(default_factory=dict)
    ops: dict[str, int] = field(default_factory=dict)
    report: dict[str, Any] | None = None
    # Where a run under ops_policy="kernels" would have stopped (runs judged under both op rules):
    # {"kind": "tripwire" | "forbidden", "op": name, "ops": the ops received until then}.
    strict_stop: dict[str, Any] | None = None
    violation: str | None = None
    stopped: bool = False
    _rng: random.Random = field(
        default_factory=lambda: random.Random(int.from_bytes(os.urandom(16), "little"))
    )
    _seeds_given: set[int] = field(default_factory=set)
    _pending: dict[str, Any] | None = None
    _t0: float = 0.0
    _deadline: float | None = None
    # The candidate's turn at its device (`gpugate.Turn`): exclusive from the worker's "timing" message
    # until the parent stops the timing; the time it waits there or is stopped extends the deadline.
    turn: Any = None
    timing_begun: bool = False

    def __post_init__(self) -> None:
        s = self.settings
        n_pool = len(self.pool_seeds)
        first = min(s.timed_output_checks, s.min_timing_iters, n_pool)
        self._plan = dict(zip(self._rng.sample(range(s.min_timing_iters), first), range(first), strict=True))
        self._next_pool = first
        # Past min_iters, keep checking at the same rate while the pool lasts.
        self._rate = s.timed_output_checks / max(1, s.min_timing_iters)

    # --- the protocol ------------------------------------------------------------------------------

    def __call__(self, ch: channel.Channel, deadline: float) -> None:
        self._deadline = deadline
        try:
            while self.report is None:
                try:
                    kind, header, payload = ch.recv(self.deadline)
                except TimeoutError:
                    if time.monotonic() < self.deadline:
                        continue  # extended meanwhile (it waited at the gate, or was stopped)
                    raise
                handler = getattr(self, f"_on_{kind}", None)
                if handler is None:
                    raise ProtocolViolation(f"an unknown message {kind!r}")
                try:
                    handler(ch, header, payload)
                except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
                    raise ProtocolViolation(f"a malformed {kind!r} message ({type(exc).__name__})") from None
        except channel.ChannelError as exc:
            if "closed" not in str(exc):
                self.violation = str(exc)
        except ProtocolViolation as exc:
            self.violation = str(exc)
        except BrokenPipeError:
            pass  # the worker is gone; what it sent so far is judged

    @property
    def deadline(self) -> float:
        """The deadline given, plus the time this candidate waited at its device's gate or was stopped
        there while another candidate was timed."""
        assert self._deadline is not None
        return self._deadline + (self.turn.member.extra_s if self.turn is not None else 0.0)

    def _on_timing(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        if self.timing_begun or self._pending is not None or self.stopped:
            raise ProtocolViolation("timing begun twice, or out of turn")
        self.timing_begun = True
        if self.turn is not None:
            self.turn.timing_begin()
        ch.send("timing", {}, deadline=self.deadline)

    def _on_output(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        key = h.get("key")
        if not isinstance(key, str) or key in self.outputs or self._pending is not None:
            raise ProtocolViolation("an output sent twice, or out of turn")
        values = channel.unpack_tensors(h["values"], payload[: sum(m[2] for m in h["values"])])
        positions = channel.unpack_tensors(h["positions"], payload[sum(m[2] for m in h["values"]) :])
        self.outputs[key] = values
        if any(p.numel() for p in positions):
            self.outputs[f"{key}@positions"] = positions
        self.out_shapes[key] = h["shapes"]

    def _on_op(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        name = h.get("name")
        if type(name) is not str or self._pending is not None:
            raise ProtocolViolation("an op record out of turn")
        self.ops[name] = self.ops.get(name, 0) + 1

    def _on_strict_stop(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        kind, op = h.get("kind"), h.get("op", "")
        if kind not in ("tripwire", "forbidden") or type(op) is not str or self.strict_stop is not None:
            raise ProtocolViolation("a strict-rules stop sent twice or malformed")
        if self.settings.ops_policy != "any" or self._pending is not None:
            raise ProtocolViolation("a strict-rules stop out of turn")
        self.strict_stop = {"kind": kind, "op": op, "ops": dict(self.ops)}

    def _on_seed(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        i = h.get("i")
        if (type(i) is not int or i in self._seeds_given or self._pending is not None or self.stopped
                or not self.timing_begun):  # fmt: skip
            raise ProtocolViolation("a seed asked for out of turn")
        self._seeds_given.add(i)
        self._t0 = self._t0 or time.monotonic()
        ti = i - self.settings.warmup
        pool = self._pool_for(ti)
        seed = self.pool_seeds[pool] if pool is not None else int.from_bytes(os.urandom(8), "little") >> 1
        ch.send("seed", {"seed": seed}, deadline=self.deadline)

    def _pool_for(self, ti: int) -> int | None:
        if ti < 0:
            return None
        if ti in self._plan:
            self.checked[ti] = self._plan[ti]
        elif (
            ti >= self.settings.min_timing_iters
            and self._next_pool < len(self.pool_seeds)
            and self._rng.random() < self._rate
        ):
            self.checked[ti] = self._next_pool
            self._next_pool += 1
        return self.checked.get(ti)

    def _on_sample(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        ti = h.get("i")
        if type(ti) is not int or ti != len(self.event_ms) or self._pending is not None:
            raise ProtocolViolation("a timed iteration reported out of turn")
        ev, host, shapes = h.get("event_ms"), h.get("host_ms"), h.get("shapes")
        if type(ev) is not float or type(host) is not float or not isinstance(shapes, list):
            raise ProtocolViolation("a malformed timed-iteration report")
        self.event_ms.append(ev)
        self.host_ms.append(host)
        pool = self.checked.get(ti)
        positions = []
        for k, shape in enumerate(shapes):
            n = 1
            for d in shape:
                n *= int(d)
            theirs = (
                self.pool_positions[pool][k]
                if pool is not None and k < len(self.pool_positions[pool])
                else None
            )
            if theirs is not None and theirs.numel() and int(theirs.max()) < n:
                positions.append(theirs)
            elif n <= TIMED_FULL_MAX:
                positions.append(torch.empty(0, dtype=torch.int64))
            else:
                positions.append(_random_positions(n))
        self._pending = {"ti": ti, "shapes": shapes}
        meta, raw = channel.pack_tensors(positions)
        ch.send("positions", {"meta": meta}, raw, deadline=self.deadline)

    def _on_values(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        if self._pending is None:
            raise ProtocolViolation("sampled values sent out of turn")
        ti, shapes = self._pending["ti"], self._pending["shapes"]
        self._pending = None
        pool = self.checked.get(ti)
        if pool is not None:
            self.timed_values[pool] = channel.unpack_tensors(h["meta"], payload)
            self.timed_shapes[pool] = shapes
        s = self.settings
        rule = timing.StopRule(s.min_timing_iters, s.timing_iters, s.target_rel_ci, s.max_timing_s)
        self.stopped = rule.done(self.event_ms, time.monotonic() - self._t0)
        if self.stopped and self.turn is not None:
            self.turn.timing_end()  # back to a shared turn before the worker goes on
        ch.send("next", {"stop": self.stopped}, deadline=self.deadline)

    def _on_report(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        report = h.get("report")
        if not isinstance(report, dict):
            raise ProtocolViolation("a malformed report")
        if report.get("status") == "done" and self.event_ms and not self.stopped:
            raise ProtocolViolation("a report claiming success before the parent stopped the timing")
        self.report = report

    # --- what the parent concludes ------------------------------------------------------------------

    def timing_summary(self, device: str) -> dict[str, Any]:
        """Median and spread of the raw times received, with the side-work rule applied here."""
        clock_cls = timing.CudaClock if device == "cuda" else timing.HostClock
        res = timing.TimingResult(samples_ms=[], event_ms=list(self.event_ms), host_ms=list(self.host_ms),
                                  method=clock_cls.method)  # fmt: skip
        return timing.finish(res, device_wide=clock_cls.device_wide).summary()


def _random_positions(n: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
    edge = min(TIMED_EDGE, n)
    return torch.cat([
        torch.arange(0, edge, dtype=torch.int64),
        torch.arange(n - edge, n, dtype=torch.int64),
        torch.randint(0, n, (TIMED_POSITIONS,), generator=gen, dtype=torch.int64),
    ])  # fmt: skip
