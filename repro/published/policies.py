"""The two rule sets a published kernel is judged under, and the ledger status each verdict earns.

* `strict` — this project's rules: the work must be done by a kernel (PyTorch compute ops are refused
  unless the task allows them), float32 within 1e-4 (so TF32 or half precision in an fp32 task fails).
* `kernelbench` — the rules of the KernelBench version the paper used: PyTorch ops allowed, its
  tolerances (v0 and v0.1: atol = rtol = 1e-2 for every output; later versions: 1e-4 for float32,
  1e-2 for half precision). The rest stays ours: the candidate runs isolated, on fresh inputs every
  iteration, timed by our timer, with outputs of timed iterations re-checked.

A hack (input mutated in place, a global flag flipped, a timer or harness function replaced, a thread
left running, a proxy or subclass returned instead of a tensor, outputs cached across calls) is
refused under both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `python -m repro audit --help` reads POLICY_NAMES; the harness imports torch
    from repro.harness.settings import EvalSettings

POLICY_NAMES = ("strict", "kernelbench")
# A speedup claim counts as reproduced when we measure at least this share of it (on our GPU,
# against the same baseline); the claims were measured on other GPUs, so exact agreement is not expected.
REPRODUCED_FRACTION = 0.9

STATUS_REPRODUCED = "reproduced"
STATUS_SLOWER = "slower than claimed"
STATUS_CORRECT = "correct (no speedup claimed)"
STATUS_INCORRECT = "incorrect"
STATUS_LIBRARY = "library call, not a kernel"
STATUS_NO_KERNEL = "no kernel released"
REFUSED = "refused: "
FAILED = "failed: "


@dataclass(frozen=True)
class Policy:
    """How a candidate is judged: which ops it may call and which tolerance its outputs must meet."""

    name: str
    ops_policy: str
    tolerance: tuple[float, float] | None
    benchmark_version: str = ""

    def settings(self, base: EvalSettings) -> EvalSettings:
        return dataclasses.replace(base, ops_policy=self.ops_policy, tolerance=self.tolerance)

    def to_dict(self) -> dict[str, Any]:
        tol = list(self.tolerance) if self.tolerance else "per dtype: float32 1e-4, float16/bfloat16 1e-2"
        return {
            "name": self.name,
            "pytorch_ops": "allowed" if self.ops_policy == "any" else "refused unless the task allows them",
            "tolerance_atol_rtol": tol,
            "benchmark_version": self.benchmark_version or None,
            "hacks_refused": True,
            "fresh_inputs_isolated_process_our_timer": True,
        }


def kernelbench_tolerance(benchmark_version: str) -> tuple[float, float] | None:
    """KernelBench v0 and v0.1 compare every output at atol = rtol = 1e-2; later versions per dtype
    (float32 1e-4, half precision 1e-2: the harness's defaults, so None)."""
    v = benchmark_version.lower().replace("kernelbench", "").strip().lstrip("v")
    if v in ("0", "0.0", "0.1", ""):
        return (1e-2, 1e-2)
    return None


def policy(name: str, benchmark_version: str = "KernelBench v0") -> Policy:
    if name == "strict":
        return Policy("strict", "kernels", None)
    if name == "kernelbench":
        return Policy("kernelbench", "any", kernelbench_tolerance(benchmark_version), benchmark_version)
    raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICY_NAMES)}")


# Harness refusal reasons -> hack type, checked in order (the reason sentences of repro.harness).
_HACKS = (
    ("physically impossible time", "physically impossible time"),
    # The parent's clock cannot tell a forged report from a kernel fast only on the timed loop's reused
    # buffers (CUDA-L1's level 1 task 87, whose layout the batch copied, was one until harness version 11):
    # the status says what was seen, the reason the two causes.
    ("clock contradicts the reported time", "time contradicted by the parent's clock"),
    ("parent-clocked batch did not run to its end", "left the harness's protocol"),
    ("modified input", "input mutation"),
    ("not a plain torch.Tensor", "proxy or subclass output"),
    ("unusable value", "proxy or subclass output"),
    ("replaced repro.", "harness patched"),
    ("replaced ", "timer patched"),
    ("thread(s) running", "thread left running"),
    ("changed ", "global flag changed"),
)


def refusal_status(reason: str) -> str:
    """The status of a `rejected` verdict: a library call, or the kind of hack."""
    if "which is not allowed: write it as a kernel" in reason or "used torch.compile" in reason:
        return STATUS_LIBRARY
    for needle, hack in _HACKS:
        if needle in reason:
            return REFUSED + hack
    return REFUSED + "other rule"


def status(verdict: str, reason: str, speedup: float | None, claim_value: float | None,
           claim_metric: str = "speedup") -> str:  # fmt: skip
    """One ledger status from a harness verdict and the headline claim."""
    if verdict == "correct":
        if claim_metric != "speedup" or claim_value is None or speedup is None:
            return STATUS_CORRECT
        return STATUS_REPRODUCED if speedup >= REPRODUCED_FRACTION * claim_value else STATUS_SLOWER
    if verdict == "incorrect":
        # Right on the correctness trials but wrong when fed the same inputs inside the timing loop:
        # the output was cached or reused, not computed.
        if "timed iteration" in reason:
            return REFUSED + "cached output"
        return STATUS_INCORRECT
    if verdict == "rejected":
        return refusal_status(reason)
    return FAILED + verdict.replace("_", " ")
