"""Device peaks for speed-of-light fractions: copy bandwidth and dense matmul rates, measured once.

Timed with the harness's own timer (CUDA events, GPU pre-roll, L2 flushed), the clock the kernels
they bound are timed with: a host clock around a synchronize read the 1 GiB copy 2.4% slower on an
H200 (launch and synchronize cost, and dirty lines left by the previous copy), which inflated every
memory-bound SOL fraction by as much. Stored as JSON with provenance
under the harness cache (`<cache>/peaks/<device>-v<METHOD_VERSION>.json`, so peaks measured the
older way are not reused); the environment variable KERNELATLAS_PEAKS may name a JSON file to use
instead (same keys).
"""

from __future__ import annotations

import json
import os
import re
import statistics
from pathlib import Path
from typing import Any

from repro.harness import cache

METHOD_VERSION = 2  # 1: host clock around a synchronize; 2: the harness's timer


def device_slug(device_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", device_name).strip("-").lower() or "unknown"


def peaks_path(device_name: str) -> Path:
    override = os.environ.get("KERNELATLAS_PEAKS")
    if override:
        return Path(override)
    return cache.cache_dir() / "peaks" / f"{device_slug(device_name)}-v{METHOD_VERSION}.json"


def load(device_name: str) -> dict[str, Any] | None:
    path = peaks_path(device_name)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); delete it to re-measure the peaks") from None
    for key in ("copy_bytes_per_s", "flops_per_s"):
        if key not in data:
            raise ValueError(f"{path}: missing key {key!r}; delete it to re-measure the peaks")
    return data


def _median_s(fn: Any, device: str, reps: int) -> float:
    """Median seconds of `fn()` over `reps` timed calls of the harness's timer."""
    from repro.harness import timing

    res = timing.measure(
        fn, lambda i: [], device, warmup=2, min_iters=reps, max_iters=reps, target_rel_ci=1.0,
        max_time_s=120.0,
    )  # fmt: skip
    return statistics.median(res.samples_ms) / 1e3


def copy_bandwidth(device: str) -> float:
    """Bytes read + written per second by a 1 GiB copy (64 MiB on CPU)."""
    import torch

    big = device == "cuda"
    src = torch.randn((1 << 28) if big else (1 << 24), device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    return 2 * src.numel() * src.element_size() / _median_s(lambda: dst.copy_(src), device, 10 if big else 5)


def measure_and_store(path: Path, device: str) -> dict[str, Any]:
    """Measure copy bandwidth (bytes read + written) and fp32/bf16 matmul rates on `device`; write JSON."""
    import torch

    from repro.records.provenance import provenance

    big = device == "cuda"
    copy_bw = copy_bandwidth(device)
    n = 8192 if big else 512
    flops: dict[str, float] = {}
    for dtype in (torch.float32, torch.bfloat16):
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        a @ b
        flops[str(dtype).removeprefix("torch.")] = (
            2 * n**3 / _median_s(lambda a=a, b=b: a @ b, device, 10 if big else 3)
        )
    flops["float16"] = flops["bfloat16"]
    data = {
        "copy_bytes_per_s": copy_bw,
        "flops_per_s": flops,
        "method": f"v{METHOD_VERSION}: median of the harness's timer over repeated calls",
        "provenance": provenance(device),
    }
    cache.write_json_atomic(path, data)
    return data


def device_clocks() -> dict[str, str]:
    """Current and maximum SM and memory clocks from nvidia-smi (empty where it cannot be read): a GPU
    held at a lower clock times slower, so results record it."""
    import subprocess

    fields = ["clocks.sm", "clocks.mem", "clocks.max.sm", "clocks.max.mem"]
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip() or "0"
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader", "-i", visible],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {}
    if out.returncode != 0 or not out.stdout.strip():
        return {}
    values = [v.strip() for v in out.stdout.strip().splitlines()[0].split(",")]
    return dict(zip(fields, values, strict=False))


def sol_fraction(
    flops: float | None, bytes_moved: float | None, dtype: str, candidate_ms: float | None, peaks: dict | None
) -> float | None:
    """SOL time = max(flops / peak rate, bytes / peak bandwidth); fraction = SOL time / candidate time."""
    if peaks is None or candidate_ms is None or candidate_ms <= 0 or (flops is None and bytes_moved is None):
        return None
    rate = peaks["flops_per_s"].get(dtype or "float32", peaks["flops_per_s"]["float32"])
    sol_s = max((flops or 0.0) / rate, (bytes_moved or 0.0) / peaks["copy_bytes_per_s"])
    return sol_s / (candidate_ms / 1e3)
