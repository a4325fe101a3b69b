"""The flush benchmark's CPU-side behaviour: a clear refusal without a GPU, and its table."""

from __future__ import annotations

import pytest
import torch

from repro.bench import flush as bench_flush


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_refuses_without_a_gpu(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_flush.main([]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--n", "-4"]])
def test_bad_sizes_are_refused_by_name(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench_flush.main(argv)
    assert exc.value.code == 2 and "--n and --rounds must be at least 1" in capsys.readouterr().err


def test_table_takes_the_median_over_rounds_per_flush() -> None:
    rows = [
        {"round": r, "flush": f, "workload": "row sum", "median_ms": ms, "fraction_of_copy": frac}
        for r, f, ms, frac in [
            (0, "write", 0.072, 0.89),
            (1, "write", 0.071, 0.90),
            (2, "write", 0.090, 0.70),
            (0, "read", 0.063, 1.01),
            (1, "read", 0.062, 1.02),
            (2, "read", 0.064, 1.00),
        ]
    ]
    text = bench_flush.table({"rows": rows})
    assert "| row sum | 0.0720 | 0.0630 | 89.0% | 101.0% |" in text
