"""Comparing candidate outputs with reference outputs, in the parent process."""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Outputs up to this many elements are compared in full. For larger ones the worker sends, after
# each run, SAMPLED_POSITIONS positions drawn from os.urandom once the candidate's forward has returned
# and the device is synchronised, plus the first and last EDGE_POSITIONS elements (where tail and
# boundary bugs live), with their values. A shape is run at least 8 times (trials, repeat,
# after-reference, timed-loop checks), each with fresh positions, so a wrong region of k elements in a
# 64M-element output escapes all of them with probability about exp(-k / 8): k = 64 is caught with
# probability 0.9997. Shipping a full 256 MB output instead cost ~1 s per candidate.
FULL_COMPARE_MAX = 1 << 22
SAMPLED_POSITIONS = 1 << 20
EDGE_POSITIONS = 1 << 15

# Outputs of timed iterations: up to TIMED_FULL_MAX elements travel in full; larger ones at the positions
# the parent names once the call has returned (TIMED_POSITIONS random ones plus TIMED_EDGE at each end).
TIMED_FULL_MAX = 1 << 16
TIMED_POSITIONS = 1 << 16
TIMED_EDGE = 1 << 12
# Unseen inputs whose reference outputs the reference worker computes (the cache keeps them out of the
# candidate's reach); the parent feeds some of them to timed iterations and checks those outputs.
POOL_SIZE = 16


@dataclass
class Mismatch:
    reason: str


def compare_one(
    cand: list[torch.Tensor],
    ref: list[torch.Tensor],
    tols: list[list[float]],
    where: str,
    positions: list[torch.Tensor | None] | None = None,
    shapes: list[tuple[int, ...]] | None = None,
) -> tuple[Mismatch | None, float]:
    """None when every output matches within tolerance; also the largest absolute error seen.

    Where `positions[k]` is given, `cand[k]` holds only the values at those flat positions of an
    output whose full shape is `shapes[k]`.
    """
    if len(cand) != len(ref):
        return Mismatch(f"{where}: returned {len(cand)} output(s), the reference returns {len(ref)}"), float(
            "inf"
        )
    worst = 0.0
    for k, (c, r, (atol, rtol)) in enumerate(zip(cand, ref, tols, strict=True)):
        name = f"{where}, output {k}"
        pos = positions[k] if positions else None
        shape = tuple(shapes[k]) if pos is not None and shapes else tuple(c.shape)
        if shape != tuple(r.shape):
            return Mismatch(f"{name}: shape {shape}, expected {tuple(r.shape)}"), float("inf")
        if c.dtype != r.dtype:
            return Mismatch(f"{name}: dtype {c.dtype}, expected {r.dtype}"), float("inf")
        if pos is not None:
            if pos.shape != c.shape or pos.numel() == 0 or int(pos.max()) >= r.numel() or int(pos.min()) < 0:
                return Mismatch(f"{name}: the sampled positions are malformed"), float("inf")
            r = r.reshape(-1).index_select(0, pos.long())
            name += f" ({pos.numel()} sampled positions, indices flattened)"
        if c.is_floating_point() or c.is_complex():
            bad_c = ~torch.isfinite(c)
            if bad_c.any():
                bad_c &= torch.isfinite(r)
                if bad_c.any():
                    n = int(bad_c.sum())
                    return Mismatch(f"{name}: {n} NaN/Inf value(s) where the reference is finite"), float(
                        "inf"
                    )
            # float32 arithmetic is exact enough for tolerances >= 1e-7; float64 only for float64 outputs.
            wide = torch.float64 if r.dtype == torch.float64 else torch.float32
            r32 = r.to(wide)
            err = torch.sub(c.to(wide), r32).abs_()  # new tensors: inputs are cached and reused
            err.nan_to_num_(nan=0.0, posinf=0.0)  # non-finite reference values are not judged
            limit = torch.abs(r32).mul_(rtol).add_(atol)
            bad = err > limit
            worst = max(worst, float(err.max()) if err.numel() else 0.0)
            if bad.any():
                idx = tuple(int(i) for i in torch.nonzero(bad)[0])
                at = (int(pos[idx[0]]),) if pos is not None else idx
                return Mismatch(
                    f"{name}: max abs error {float(err.max()):.3g} exceeds atol={atol:g}, rtol={rtol:g} "
                    f"at {int(bad.sum())} of {bad.numel()} elements (first at index {at}: "
                    f"got {float(c[idx]):.6g}, expected {float(r[idx]):.6g})"
                ), worst
        elif not torch.equal(c, r):
            n = int((c != r).sum())
            return Mismatch(
                f"{name}: {n} of {c.numel()} elements differ (exact match required for {c.dtype})"
            ), worst
    return None, worst
