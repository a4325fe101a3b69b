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


def test_the_suite_part_pairs_every_task_with_its_reference_solution() -> None:
    found = {key: (task, solution) for key, task, solution in graphprobe.pairs()}
    assert "level1/01_gelu" in found and "level2/07_swiglu" in found and "level1/11_matmul_fp32" not in found
    for key, (task, solution) in found.items():
        assert task.name == solution.name and task.parent.name == solution.parent.name == key.split("/")[0]
    solutions = list(Path(graphprobe.REPO, "repro", "solutions").glob("level*/*.py"))
    assert len(found) == len(solutions) >= 17  # every solution has its task; tasks without one are left out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_task_replayed_as_one_graph_matches_its_eager_reference(tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    assert graphprobe.main(["--out", str(out), "--suite", "--tasks", "level1/01_gelu", "--calls", "8"]) == 0
    import json

    gelu = json.loads(out.read_text())["suite"]["level1/01_gelu"]
    assert gelu["captured"] and gelu["max_rel_diff_against_eager_reference"] < 1e-3, gelu
    assert gelu["per_call_ms"]["graph"]["device"] > 0 and gelu["median_ms"] > 0


def test_a_round_is_the_same_sequence_after_the_same_seed() -> None:
    """The reference worker's side of a graph-paced round: after one seed, K calls each drawing inputs
    then projection weights from the generator as it stands; the same seed gives the same projections
    (what a replay must equal), another seed others."""
    from repro.harness import problem as prob

    _, task, _ = next(p for p in graphprobe.pairs() if p[0] == "level1/01_gelu")
    problem = prob.load_module(task, "kernelatlas_test_round")
    shape = prob.shapes_for(problem, "cpu")[0]
    model = prob.build_model(problem.Model, problem, shape, 42, "cpu")
    rounds = []
    for seed in (5, 5, 6):
        torch.manual_seed(seed)
        with torch.no_grad():
            rounds.append(graphprobe._round(problem, shape, model, 3, "cpu"))
    assert rounds[0].shape == (3,) and torch.equal(rounds[0], rounds[1])
    assert not torch.equal(rounds[0], rounds[2])


def test_an_unknown_task_is_named_with_the_ones_there_are(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        graphprobe.main(["--suite", "--tasks", "level1/01_gelu,gelu"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--tasks: ['gelu'] not among" in err and "level1/01_gelu" in err
    assert graphprobe.selected("level1/01_gelu", ["01_gelu"]) and not graphprobe.selected(
        "level1/01_gelu", ["gelu"]
    )
