"""The device-busy benchmark's CPU-side behaviour: clear refusals without a GPU, and no NVML reader where
the driver's library is missing."""

from __future__ import annotations

import ctypes.util

import pytest
import torch

from repro.bench import devicebusy, gpm


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_refuses_without_a_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert devicebusy.main([]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


def test_a_bad_repeat_count_is_refused_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        devicebusy.main(["--repeats", "0"])
    assert exc.value.code == 2 and "--repeats must be at least 1 (got 0)" in capsys.readouterr().err


@pytest.mark.skipif(ctypes.util.find_library("nvidia-ml") is not None, reason="NVML is installed here")
def test_no_reader_where_nvml_is_missing() -> None:
    assert gpm.open_device("GPU-00000000-0000-0000-0000-000000000000") is None
