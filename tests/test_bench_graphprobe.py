"""`python -m repro.bench.graphprobe`: CUDA only; without a GPU it says so and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from repro.bench import graphprobe


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without a GPU")
def test_without_a_gpu_it_refuses_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "probe.json"
    assert graphprobe.main(["--out", str(out)]) == 2
    assert "needs a CUDA GPU" in capsys.readouterr().err and not out.exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_graph_drawn_inputs_equal_eager_ones_and_a_triton_kernel_is_captured(tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    assert graphprobe.main(["--out", str(out)]) == 0
    import json

    got = json.loads(out.read_text())
    assert got["rng"]["equal_after_seed_1234"] and got["rng"]["equal_after_seed_99"]
    assert got["rng"]["new_seed_new_values"] and got["capture"]["triton"]["captured"]
    assert got["provenance"]["device"] == "cuda"
