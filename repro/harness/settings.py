"""Evaluation settings: one frozen value, so a result records exactly how it was produced."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from repro.records.evaluation import BASELINE_NAMES

DEVICES = ("cpu", "cuda")
BASELINES = ("eager", "compile")  # the default set; every name the harness can time is BASELINE_NAMES
# Which PyTorch compute ops a candidate may call: "kernels" refuses any not in the task's ALLOWED_OPS
# (a custom kernel must do the work); "any" records them and lets them run (the rules some published
# benchmarks use, e.g. KernelBench). Tamper checks, fresh inputs and the timer are the same under both.
OPS_POLICIES = ("kernels", "any")
# Settings that change how a candidate is judged but not the reference bundle (outputs, baselines).
JUDGING_ONLY = ("ops_policy", "tolerance")


@dataclass(frozen=True)
class EvalSettings:
    """How one candidate is evaluated.

    `timing_iters` is the most timed iterations; fewer are run once the median is stable
    (`min_timing_iters` at least, and the 95% interval of the median within `target_rel_ci`).
    """

    device: str = "cuda"
    gpu: int | None = None
    timeout_s: float = 300.0
    correctness_trials: int = 5
    timing_iters: int = 200
    min_timing_iters: int = 30
    warmup: int = 5
    target_rel_ci: float = 0.005
    max_timing_s: float = 20.0
    baselines: tuple[str, ...] = BASELINES
    seed: int = 42
    timed_output_checks: int = 3
    ops_policy: str = "kernels"
    # (atol, rtol) for every floating-point output, replacing the task's and the per-dtype defaults.
    tolerance: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"EvalSettings.device must be one of {DEVICES}, got {self.device!r}")
        unknown = [b for b in self.baselines if b not in BASELINE_NAMES]
        if unknown:
            raise ValueError(
                f"EvalSettings.baselines: unknown baseline(s) {unknown}; choose from {BASELINE_NAMES}"
            )
        if self.correctness_trials < 1:
            raise ValueError("EvalSettings.correctness_trials must be at least 1")
        if not 1 <= self.min_timing_iters <= self.timing_iters:
            raise ValueError("EvalSettings needs 1 <= min_timing_iters <= timing_iters")
        for name in ("timeout_s", "max_timing_s", "target_rel_ci"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"EvalSettings.{name} must be a positive, finite number, got {value!r}")
        if self.warmup < 0:
            raise ValueError("EvalSettings.warmup must be >= 0")
        if self.ops_policy not in OPS_POLICIES:
            raise ValueError(
                f"EvalSettings.ops_policy must be one of {OPS_POLICIES}, got {self.ops_policy!r}"
            )
        if self.tolerance is not None and (
            len(self.tolerance) != 2 or any(not isinstance(t, int | float) or t < 0 for t in self.tolerance)
        ):
            raise ValueError(
                f"EvalSettings.tolerance must be (atol, rtol), both >= 0, got {self.tolerance!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["baselines"] = list(self.baselines)
        d["tolerance"] = list(self.tolerance) if self.tolerance is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalSettings:
        d = dict(d)
        if "baselines" in d:
            d["baselines"] = tuple(d["baselines"])
        if d.get("tolerance") is not None:
            d["tolerance"] = tuple(d["tolerance"])
        return cls(**d)

    def fingerprint(self, *, exclude: tuple[str, ...] = ("gpu", "timeout_s")) -> str:
        """Stable hash of the settings that change what is measured (not where or how long we wait)."""
        d = {k: v for k, v in self.to_dict().items() if k not in exclude}
        # Judging settings at their defaults leave the hash as it was before they existed, so files
        # keyed by it stay valid.
        if d.get("ops_policy") == "kernels":
            d.pop("ops_policy")
        if d.get("tolerance", 0) is None:
            d.pop("tolerance")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
