"""JSON and CSV exports hold every entry, with category names resolved and lists joined."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from site_gen.cli import main


def test_json_and_csv(kb_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    assert main(["export", "--root", str(kb_root), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "papers.bib", "papers.csv", "papers.json", "results.csv", "results.json"
    ]  # fmt: skip
    data = json.loads((out / "papers.json").read_text())
    assert data["count"] == 2
    alpha = data["entries"][0]
    assert alpha["id"] == "alpha" and alpha["results"][0]["aggregate"] == "fast_p"
    assert alpha["categories"] == [
        {
            "slug": "iterative-refinement",
            "name": "Iterative refinement",
            "path": ["Agent4Kernel", "Learning mechanisms", "Iterative refinement"],
        }
    ]
    rows = list(csv.DictReader((out / "papers.csv").open(newline="")))
    assert [r["id"] for r in rows] == ["alpha", "bench"]
    assert rows[0]["authors"] == "Ada Lovelace; Alan Turing"
    assert rows[0]["categories"] == "Iterative refinement"
    assert rows[0]["paper"] == "https://arxiv.org/abs/2502.10517" and rows[0]["results"] == "1"
    assert rows[1]["code"] == "https://github.com/example/bench" and rows[1]["arxiv"] == ""
    (result,) = csv.DictReader((out / "results.csv").open(newline=""))
    assert (result["entry"], result["aggregate"], result["p"], result["value"]) == (
        "alpha",
        "fast_p",
        "1.0",
        "40.0",
    )
    assert (result["hardware"], result["model"], result["arxiv"], result["source"]) == (
        "nvidia-h100", "Alpha", "2502.10517v1", "Table 2"
    )  # fmt: skip
    assert json.loads((out / "results.json").read_text())["results"][0]["cell"] == result["cell"]
