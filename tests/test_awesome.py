"""The awesome list follows the taxonomy tree, lists newest first, and repeats multi-category works."""

from __future__ import annotations

from pathlib import Path

from conftest import ALPHA, write_entry

from site_gen.cli import main
from site_gen.kb.load import load_knowledge_base
from site_gen.outputs.awesome import render_awesome


def test_grouping_order_and_links(kb_root: Path, tmp_path: Path) -> None:
    write_entry(
        kb_root,
        "alpha",
        ALPHA.replace("taxonomy: [iterative-refinement]", "taxonomy: [iterative-refinement, benchmarks]"),
    )
    newer = (
        ALPHA.replace("id: alpha", "id: omega")
        .replace("Alpha:", "Omega:")
        .replace("2502.10517", "2503.00002")
    )
    write_entry(kb_root, "omega", newer.replace('date: "2025-02-14"', 'date: "2025-03-01"'))
    out = tmp_path / "awesome.md"
    assert main(["awesome", "--root", str(kb_root), "--out", str(out)]) == 0
    text = out.read_text()
    lines = text.splitlines()
    assert "    - [Iterative refinement](#iterative-refinement) (2)" in lines  # depth 2 in the contents
    refinement = text.split("#### Iterative refinement")[1].split("\n#")[0]
    assert refinement.index("Omega:") < refinement.index("Alpha:")  # newest first
    benchmarks = text.split("\n## Benchmarks")[1]
    assert "Alpha: generating kernels with feedback" in benchmarks and "BenchSuite" in benchmarks
    assert benchmarks.index("\\[2025-02-14\\]") < benchmarks.index("\\[2024-11\\]")
    assert (
        "- \\[2024-11\\] BenchSuite: measuring generated kernels — [code](https://github.com/example/bench)"
        in lines
    )
    assert (
        text.index("## LLM4Kernel") < text.index("### Supervised fine-tuning") < text.index("## Agent4Kernel")
    )
    assert render_awesome(load_knowledge_base(kb_root)) == text  # deterministic
