"""The evaluating process's side of a candidate worker's channel.

The parent, not the candidate's process, decides everything a candidate could steer:
- each timed iteration's seed (unseen inputs: os.urandom, or a reference-pool seed whose outputs
  the reference worker computed and the cache keeps out of the candidate's reach);
- which timed iterations are checked (chosen here, never sent: every iteration looks the same);
- which positions of each output are sampled (named only after the call has returned);
- when timing stops (the stopping rule runs here, on the raw times received);
- the parent-clocked batch after the timed loop (`clockcheck`): K unseen seeds, timed on this clock
  from the moment they are sent until their outputs' projections arrive;
and it keeps the raw times and values as they arrive, so nothing the worker writes later counts.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from repro.harness import channel, clockcheck, timing
from repro.harness.compare import TIMED_EDGE, TIMED_FULL_MAX, TIMED_POSITIONS
from repro.harness.settings import EvalSettings

# While a parent-clocked batch is in flight, this process's threads hand over the interpreter lock this
# often (seconds; Python's default is 0.005): the arrival of the batch's result is noted by a thread that
# needs the lock after its `select` returns, and another thread busy in Python (a sibling candidate's
# comparison, a reference bundle loading) would otherwise add up to the default interval to the parent's
# clock, a quarter of a 20 ms batch.
BATCH_SWITCH_INTERVAL_S = 0.0002
_switch_lock = threading.Lock()
_switch_users = 0
_switch_default = sys.getswitchinterval()


def _short_switch_interval(on: bool) -> None:
    """Enter (True) or leave (False) the short interval; the default returns when no batch is in flight."""
    global _switch_users, _switch_default
    with _switch_lock:
        if on:
            if _switch_users == 0:
                _switch_default = sys.getswitchinterval()
                sys.setswitchinterval(BATCH_SWITCH_INTERVAL_S)
            _switch_users += 1
        else:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_default)


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
    # The reference's batch pool (`clockcheck`: seeds, projections, overhead); None: no batch is run.
    batch: dict[str, Any] | None = None
    # Per round: the pool indices sent, and once they arrive, "ms" on this clock and "projections".
    batch_rounds: list[dict[str, Any]] = field(default_factory=list)
    batch_over: bool = False
    # How the rounds run (`clockcheck.judge_time`): "graph" (one replay each, `graphbatch`), "eager", or
    # "fallback" (eager where graph rounds were offered and the worker declined them: `graph_declined`).
    batch_mode: str = "eager"
    graph_declined: bool = False
    # The candidate's process (its warden: the worker and whatever it starts are below it), whose CPU time
    # the CPU path's batch also reads.
    pid: int | None = None
    _rng: random.Random = field(
        default_factory=lambda: random.Random(int.from_bytes(os.urandom(16), "little"))
    )
    _seeds_given: set[int] = field(default_factory=set)
    _pending: dict[str, Any] | None = None
    _t0: float = 0.0
    _deadline: float | None = None
    _received_ns: int = 0
    _go_ns: int = 0
    _go_cpu: clockcheck.CpuReading | None = None
    _switching: bool = False  # the short switch interval held: from a batch round's seeds to its result
    # The candidate's turn at its device (`gpugate.Turn`): exclusive from the worker's "timing" message
    # until the parent-clocked batch is over; the time it waits there or is stopped extends the deadline.
    turn: Any = None
    timing_begun: bool = False
    # Called with each trial output's key as it arrives (`prejudge`: compared while the candidate runs),
    # and before the first parent-clocked batch round (that work is waited for: the batch is clocked here).
    on_output: Callable[[str], None] | None = None
    before_batch: Callable[[], None] | None = None
    prejudge: Any = None  # the comparisons made on arrival (`prejudge.Prejudge`), which the judge takes

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
                    if time.monotonic() < (self.deadline or 0.0):
                        continue  # extended meanwhile (it waited at the gate, or was stopped)
                    raise
                self._received_ns = time.perf_counter_ns()
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
        finally:
            self._hold_switch(False)

    def _hold_switch(self, on: bool) -> None:
        if on != self._switching:
            self._switching = on
            _short_switch_interval(on)

    @property
    def deadline(self) -> float | None:
        """The deadline given, plus the time this candidate waited at its device's gate or was stopped
        there while another candidate was timed (None before one is given: no limit)."""
        if self._deadline is None:
            return None
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
        if self.on_output is not None:
            self.on_output(key)

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
        ch.send("next", {"stop": self.stopped}, deadline=self.deadline)

    def _on_batch(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        """The worker asks for round `r` of the parent-clocked batch: K seeds it has never seen, or none
        (no further round: the first agreed with the report, or the rounds are used up)."""
        r = h.get("r")
        if type(r) is not int or r != len(self.batch_rounds) or not self.stopped or self.batch_over:
            raise ProtocolViolation("a parent-clocked batch asked for out of turn")
        if self._pending is not None or (self.batch_rounds and "ms" not in self.batch_rounds[-1]):
            raise ProtocolViolation("a parent-clocked batch asked for out of turn")
        ref = self.batch or {}
        pool, seeds = ref.get("pool") or [], ref.get("seeds") or []
        graph = ref.get("graph") if self.settings.device == "cuda" else None
        wants_graph = h.get("graph") is True
        if r == 0:
            self.graph_declined = bool(graph) and not wants_graph
            self.batch_mode = "graph" if graph and wants_graph else "fallback" if graph else "eager"
        elif wants_graph != (self.batch_mode == "graph"):
            raise ProtocolViolation("a parent-clocked batch round asked for in another mode than the first")
        median = self.timing_summary(self.settings.device).get("median") or 0.0
        if self.batch_rounds:
            calls = len(self.batch_rounds[0]["pool"])
            last = self.batch_rounds[-1]
            v = clockcheck.judge_time([last["ms"]], calls, median, ref, self.settings.device,
                                      [last.get("cpu_ms")], [last.get("call_ms")], self.batch_mode)  # fmt: skip
            again = v.contradicts and r < clockcheck.ROUNDS
        elif graph and self.batch_mode == "graph":
            calls, again = int(graph["calls"]), True
        else:
            calls = (
                clockcheck.calls_for(median, ref["gen_ms"], len(pool), self.settings.device) if pool else 0
            )
            again = calls > 0
        if graph and self.batch_mode == "graph" and r >= len(graph.get("seeds") or []):
            again = False  # one round per round seed of the pool
        if not again:
            self.batch_over = True
            if self.turn is not None:
                self.turn.timing_end()  # back to a shared turn before the worker goes on
            ch.send("batch", {"seeds": []}, deadline=self.deadline)
            return
        if r == 0 and self.before_batch is not None:
            self.before_batch()
        picked = list(range(r * calls, (r + 1) * calls))
        pause = clockcheck.CONFIRM_PAUSE_S.get(self.settings.device, 0.0) * r
        if pause:  # a round that confirms a contradiction: a burst of load on the machine may pass meanwhile
            time.sleep(pause)
        self.batch_rounds.append({"pool": picked, "pause_s": pause})
        self._go_cpu = clockcheck.tree_cpu(self.pid) if self.settings.device != "cuda" else None
        self._hold_switch(True)
        self._go_ns = time.perf_counter_ns()
        if graph and self.batch_mode == "graph":
            ch.send("batch", {"seed": int(graph["seeds"][r]), "calls": calls}, deadline=self.deadline)
            return
        ch.send("batch", {"seeds": [int(seeds[j]) for j in picked]}, deadline=self.deadline)

    def _on_batch_done(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        received = self._received_ns
        self._hold_switch(False)
        r, projections, orders = h.get("r"), h.get("projections"), h.get("orders")
        call_ms = h.get("call_ms", [])
        if type(r) is not int or r != len(self.batch_rounds) - 1 or "ms" in self.batch_rounds[r]:
            raise ProtocolViolation("a parent-clocked batch's result out of turn")
        rnd = self.batch_rounds[r]
        if (
            not isinstance(projections, list)
            or len(projections) != len(rnd["pool"])
            or not all(isinstance(p, list) and all(type(x) is float for x in p) for p in projections)
            or not isinstance(orders, list)
            or len(orders) != len(projections)
            or not all(
                isinstance(o, list) and len(o) == len(p) and all(x in clockcheck.ORDERS for x in o)
                for o, p in zip(orders, projections, strict=True)
            )
            or not isinstance(call_ms, list)
            or len(call_ms) not in (0, len(projections))
            or not all(type(x) is float and math.isfinite(x) and x >= 0 for x in call_ms)
        ):
            raise ProtocolViolation("a malformed parent-clocked batch result")
        rnd["ms"] = (received - self._go_ns) / 1e6
        cpu = clockcheck.tree_cpu(self.pid) if self._go_cpu is not None else None
        rnd["cpu_ms"] = (
            clockcheck.cpu_between(self._go_cpu, cpu)
            if cpu is not None and self._go_cpu is not None
            else None
        )
        rnd["projections"] = projections
        rnd["orders"] = orders
        # The round's own calls' median as the worker timed them (CPU path; see `clockcheck.judge_time`).
        rnd["call_ms"] = statistics.median(call_ms) if call_ms else None

    def _on_report(self, ch: channel.Channel, h: dict[str, Any], payload: bytes) -> None:
        report = h.get("report")
        if not isinstance(report, dict):
            raise ProtocolViolation("a malformed report")
        if report.get("status") == "done" and self.event_ms and not self.stopped:
            raise ProtocolViolation("a report claiming success before the parent stopped the timing")
        if report.get("status") == "done" and self.event_ms and self.batch and not self.batch_over:
            raise ProtocolViolation("a report claiming success before the parent-clocked batch")
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
