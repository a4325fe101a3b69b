"""The one-off results migration (scripts/migrate_results_schema.py) maps old rows as documented."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from conftest import TODAY

from site_gen.kb.check import check_knowledge_base
from site_gen.kb.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "migrate_results_schema.py"
OLD_ENTRY = """\
id: old
title: "Old: an entry in the first results format"
authors: [Ada Lovelace]
date: "2025-07"
arxiv: "2507.14111"
kind: method
taxonomy: [rl]
summary: A method whose numbers were recorded before results named aggregates and devices.
results:
  - benchmark: kernelbench
    subset: Level 1 (100 tasks)
    metric: faster-rate
    value: 92
    baseline: torch-compile
    model: Old
    hardware: NVIDIA H100
    source: Table 3
    notes: Against torch.compile in reduce-overhead mode.
  - benchmark: kernelbench
    subset: Levels 1-3 (250 tasks)
    metric: mean-speedup
    value: 2.81
    baseline: eager
    model: Old
    hardware: NVIDIA A100
    source: Abstract
    notes: Against the reference captured as a CUDA Graph.
  - benchmark: kernelbench
    subset: Level 2
    metric: correctness
    value: 80
    baseline: none
    model: Old
    source: Abstract
added: "2026-11-21"
"""
KERNELBENCH = """\
id: kernelbench
title: "KernelBench: can LLMs write GPU kernels?"
authors: [Anne Ouyang]
date: "2025-02"
kind: benchmark
taxonomy: [benchmarks]
summary: A benchmark of PyTorch workloads to be rewritten as fast, correct GPU kernels.
benchmark:
  baselines: [eager, torch-compile]
  subsets: {level1: {name: Level 1}, level2: {name: Level 2}, levels1-3: {name: Levels 1-3}}
"""


def _migrate_module():
    spec = importlib.util.spec_from_file_location("migrate_results_schema", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_old_rows_become_comparable_rows_and_incomplete_ones_are_dropped(tmp_path: Path) -> None:
    shutil.copytree(REPO_ROOT / "taxonomy", tmp_path / "taxonomy")
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "old.yaml").write_text(OLD_ENTRY)
    (papers / "kernelbench.yaml").write_text(KERNELBENCH)
    migrate = _migrate_module()
    migrate.PAPER_VERSIONS["old"] = "2507.14111v8"
    dropped = migrate.migrate_file(papers / "old.yaml") + migrate.migrate_file(papers / "kernelbench.yaml")
    assert dropped == [
        "old.yaml: results[2] correctness = 80 dropped: the hardware it was measured on is not recorded"
    ]
    text = (papers / "old.yaml").read_text()
    assert "aggregate: fast_p\n    p: 1.0" in text and "baseline: compile-reduce-overhead" in text
    assert "subset: level1" in text and "hardware: nvidia-h100" in text
    assert "baseline: cuda-graph" in text and "subset: levels1-3" in text and "arxiv: 2507.14111v8" in text
    assert text.endswith('added: "2026-11-21"\n') and text.startswith(OLD_ENTRY.split("results:")[0])
    assert "baselines: [eager, compile-default]" in (papers / "kernelbench.yaml").read_text()
    assert [str(p) for p in check_knowledge_base(tmp_path, today=TODAY).problems] == []
