"""How long a GPU's engines were busy between two moments, as NVML's GPU performance monitoring says.

A reader of the device's own activity counters (GPM, Hopper and newer), through `libnvidia-ml` with
ctypes and no CUDA context: the parent-clocked batch cannot bound the device time of a short kernel by
the wall clock (the host paces its batch), and a reading the candidate's process cannot influence would.
`python -m repro.bench.devicebusy` measures whether it can serve: on an H200 it cannot (BENCHMARKS.md,
"The device's activity counters"): over windows of 4-26 ms holding 42-200 kernels it read 0 busy time,
and over an idle 40 ms window up to 37 ms, so the harness does not use it. `open_device` returns None
where NVML or GPM is missing.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass

# nvml.h: the metric the busy time is read from ("percentage of time any compute/graphics app was
# active on the GPU", 0.0-100.0) and the structures of nvmlGpmMetricsGet, version 1.
GRAPHICS_UTIL = 1
_METRICS_GET_VERSION = 1
_SUPPORT_VERSION = 1
_METRIC_SLOTS = 477  # nvml.h's NVML_GPM_METRIC_MAX today; only numMetrics entries are read or written
_NVML_SUCCESS = 0


class _MetricInfo(ctypes.Structure):
    _fields_ = [("shortName", ctypes.c_char_p), ("longName", ctypes.c_char_p), ("unit", ctypes.c_char_p)]


class _Metric(ctypes.Structure):
    _fields_ = [("metricId", ctypes.c_uint), ("nvmlReturn", ctypes.c_int), ("value", ctypes.c_double),
                ("metricInfo", _MetricInfo)]  # fmt: skip


class _MetricsGet(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("numMetrics", ctypes.c_uint), ("sample1", ctypes.c_void_p),
                ("sample2", ctypes.c_void_p), ("metrics", _Metric * _METRIC_SLOTS)]  # fmt: skip


class _Support(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint), ("isSupportedDevice", ctypes.c_uint)]


class NvmlError(RuntimeError):
    pass


_lib: ctypes.CDLL | None = None


def _nvml() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        lib = ctypes.CDLL("libnvidia-ml.so.1")
        _check(lib, lib.nvmlInit_v2(), "nvmlInit_v2")
        _lib = lib
    return _lib


def _check(lib: ctypes.CDLL, rc: int, what: str) -> None:
    if rc != _NVML_SUCCESS:
        lib.nvmlErrorString.restype = ctypes.c_char_p
        raise NvmlError(f"{what}: {lib.nvmlErrorString(rc).decode(errors='replace')} (NVML error {rc})")


@dataclass(frozen=True)
class Mark:
    """One GPM sample and the host time it was taken at (the midpoint of the call, ns)."""

    sample: int  # the nvmlGpmSample_t handle
    at_ns: int
    took_ns: int  # how long taking it took: the uncertainty of at_ns is half of it


class DeviceBusy:
    """Busy time of one GPU between marks. `mark()` takes a sample; `busy_ms(a, b)` reads the share of
    the time between them any kernel was running, times that time. Marks are freed with `release`."""

    def __init__(self, handle: ctypes.c_void_p, name: str) -> None:
        self._handle = handle
        self.name = name

    def mark(self) -> Mark:
        lib = _nvml()
        sample = ctypes.c_void_p()
        _check(lib, lib.nvmlGpmSampleAlloc(ctypes.byref(sample)), "nvmlGpmSampleAlloc")
        t0 = time.perf_counter_ns()
        rc = lib.nvmlGpmSampleGet(self._handle, sample)
        t1 = time.perf_counter_ns()
        if rc != _NVML_SUCCESS:
            lib.nvmlGpmSampleFree(sample)
            _check(lib, rc, "nvmlGpmSampleGet")
        return Mark(int(sample.value or 0), (t0 + t1) // 2, t1 - t0)

    def utilization(self, a: Mark, b: Mark) -> float:
        """The share (0-1) of the time between marks `a` and `b` that any kernel was running."""
        lib = _nvml()
        req = _MetricsGet()
        req.version = _METRICS_GET_VERSION
        req.numMetrics = 1
        req.sample1, req.sample2 = a.sample, b.sample
        req.metrics[0].metricId = GRAPHICS_UTIL
        _check(lib, lib.nvmlGpmMetricsGet(ctypes.byref(req)), "nvmlGpmMetricsGet")
        _check(lib, req.metrics[0].nvmlReturn, "GPM metric GRAPHICS_UTIL")
        return max(0.0, min(1.0, req.metrics[0].value / 100.0))

    def busy_ms(self, a: Mark, b: Mark) -> float:
        """Milliseconds any kernel was running between marks `a` and `b`."""
        return self.utilization(a, b) * (b.at_ns - a.at_ns) / 1e6

    @staticmethod
    def release(*marks: Mark) -> None:
        lib = _nvml()
        for m in marks:
            lib.nvmlGpmSampleFree(ctypes.c_void_p(m.sample))


def open_device(uuid: str) -> DeviceBusy | None:
    """The GPU with this UUID ("GPU-…", as `torch.cuda.get_device_properties(i).uuid` gives it, with or
    without the prefix), or None where NVML or GPM is not there (no driver, a GPU before Hopper)."""
    try:
        lib = _nvml()
    except (OSError, NvmlError):
        return None
    text = uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
    handle = ctypes.c_void_p()
    if lib.nvmlDeviceGetHandleByUUID(text.encode(), ctypes.byref(handle)) != _NVML_SUCCESS:
        return None
    support = _Support(version=_SUPPORT_VERSION)
    if lib.nvmlGpmQueryDeviceSupport(handle, ctypes.byref(support)) != _NVML_SUCCESS:
        return None
    if not support.isSupportedDevice:
        return None
    return DeviceBusy(handle, text)
