"""One-off migration of papers/*.yaml `results:` to the comparable results schema (December 2026).

Run once from the repository root; its effect is committed with it, so the script is kept only as
the record of what was changed mechanically:

    python scripts/migrate_results_schema.py

What it does to every result row:
- splits the old combined metric slugs into `metric` + `aggregate` (`mean-speedup` becomes
  `speedup` + `mean`, `faster-rate` becomes `speedup` + `fast_p` with p = 1, `pass-at-k` moves
  its k from `p` to `k`, ...);
- names baseline variants (`torch-compile` becomes `compile-default` or
  `compile-reduce-overhead` as the row's notes say; an `eager` row whose notes say the
  reference ran as a CUDA graph becomes `cuda-graph`);
- turns free-text subsets and hardware into the controlled slugs (`Level 1 (100 tasks)` becomes
  `level1`, `NVIDIA A100` becomes `nvidia-a100`);
- records the paper version the number comes from where it is known (`PAPER_VERSIONS`);
- drops rows that the new schema refuses and that cannot be completed from what the row
  holds (a speed or correctness number without the hardware it was measured on), printing each.

Benchmark blocks get the same baseline renaming. The rest of each file is left byte for byte.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

METRICS = {  # old slug -> (metric, aggregate)
    "mean-speedup": ("speedup", "mean"),
    "geomean-speedup": ("speedup", "geomean"),
    "median-speedup": ("speedup", "median"),
    "max-speedup": ("speedup", "max"),
    "fast_p": ("speedup", "fast_p"),
    "faster-rate": ("speedup", "fast_p"),
    "correctness": ("correctness", "share"),
    "accuracy": ("correctness", "share"),
    "compile-rate": ("compile-rate", "share"),
    "pass-at-k": ("correctness", "pass-at-k"),
    "pct-peak": ("pct-peak", "mean"),
    "sol-score": ("sol-score", "mean"),
    "score": ("score", "mean"),
}
DEVICES = {
    "nvidia a100": "nvidia-a100",
    "nvidia h100": "nvidia-h100",
    "nvidia h20": "nvidia-h20",
    "nvidia rtx 4090": "nvidia-rtx-4090",
    "aws trainium 1": "aws-trainium1",
    "aws trainium 2": "aws-trainium2",
}
# Where a row's number comes from, when the old row said it only in prose.
PAPER_VERSIONS = {"cuda-l1": "2507.14111v8", "accelopt": "2511.15915v1"}
# The method itself produced the kernels of these rows; the old rows left `model` empty.
SYSTEM_MODELS = {"accelopt": "AccelOpt", "kernelband": "KernelBand"}
# Benchmarks that lived inside another entry and now have their own.
MOVED = {("accelopt", "accelopt"): "nkibench"}
SPEED_OR_CORRECTNESS = {"speedup", "correctness", "compile-rate", "pct-peak", "sol-score"}
ORDER = (
    "benchmark", "subset", "benchmark_version", "metric", "aggregate", "p", "k", "value",
    "baseline", "model", "hardware", "arxiv", "url", "source", "notes",
)  # fmt: skip


def subset_slug(entry: str, benchmark: str, text: str | None) -> tuple[str, str | None]:
    """(benchmark, subset slug) for the old free-text subset; the benchmark may change."""
    t = (text or "").lower()
    if benchmark == "kernelbench":
        if "kernelbench-triton" in t:
            return "kernelbench-triton", "level1"
        if "held-out" in t:
            return benchmark, f"holdout:{entry}"
        if t.startswith("levels 1-3"):
            return benchmark, "levels1-3"
        match = re.match(r"level (\d)", t)
        if match:
            return benchmark, f"level{match[1]}"
    if benchmark == "tritonbench" and "tritonbench-g" in t:
        return benchmark, "g"
    if benchmark == "cuda-l2":
        return benchmark, "offline" if "offline" in t else "server" if "server" in t else None
    return MOVED.get((entry, benchmark), benchmark), None


def migrate_row(entry: str, row: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The row in the new schema, or None and why it was dropped."""
    metric, aggregate = METRICS[row["metric"]]
    notes = row.get("notes") or ""
    new: dict[str, Any] = {}
    new["benchmark"], subset = subset_slug(entry, row["benchmark"], row.get("subset"))
    if subset:
        new["subset"] = subset
    new["metric"], new["aggregate"] = metric, aggregate
    if row["metric"] == "pass-at-k":
        new["k"] = int(row["p"])
    elif row["metric"] == "faster-rate":
        new["p"] = 1.0
    elif row.get("p") is not None:
        new["p"] = float(row["p"])
    new["value"] = row["value"]
    baseline = row["baseline"]
    if baseline == "torch-compile":
        baseline = "compile-reduce-overhead" if "reduce-overhead" in notes else "compile-default"
    if baseline == "eager" and "CUDA Graph" in notes:
        baseline = "cuda-graph"
    if metric in ("correctness", "compile-rate", "pct-peak") and aggregate != "fast_p":
        baseline = "none"
    new["baseline"] = baseline
    if row.get("model") or entry in SYSTEM_MODELS:
        new["model"] = row.get("model") or SYSTEM_MODELS[entry]
    hardware = DEVICES.get((row.get("hardware") or "").lower())
    if hardware:
        new["hardware"] = hardware
    if entry in PAPER_VERSIONS and "README" not in row["source"]:
        new["arxiv"] = PAPER_VERSIONS[entry]
    new["source"] = row["source"]
    if notes:
        new["notes"] = notes
    if metric in SPEED_OR_CORRECTNESS and "hardware" not in new:
        return None, "the hardware it was measured on is not recorded"
    if metric in SPEED_OR_CORRECTNESS and "model" not in new:
        return None, "the model or system that produced the kernels is not recorded"
    return {k: new[k] for k in ORDER if k in new}, ""


def dump_results(rows: list[dict[str, Any]]) -> str:
    out = ["results:\n"]
    for row in rows:
        text = yaml.safe_dump(row, sort_keys=False, allow_unicode=True, width=10**6)
        lines = text.splitlines()
        out.append("  - " + lines[0] + "\n")
        out.extend("    " + line + "\n" for line in lines[1:])
    return "".join(out)


def replace_block(text: str, key: str, block: str) -> str:
    """Replace the top-level `key:` block (up to the next top-level key) with `block`."""
    match = re.search(rf"^{key}:.*\n(?:(?:[ \t].*|)\n)*", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no top-level {key}: block")
    return text[: match.start()] + block + text[match.end() :]


def migrate_file(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    dropped = []
    new_text = text
    if data.get("results"):
        kept = []
        for i, row in enumerate(data["results"]):
            new, why = migrate_row(data["id"], row)
            if new is None:
                dropped.append(f"{path.name}: results[{i}] {row['metric']} = {row['value']} dropped: {why}")
            else:
                kept.append(new)
        new_text = replace_block(new_text, "results", dump_results(kept) if kept else "")
    bench = data.get("benchmark")
    if isinstance(bench, dict) and "torch-compile" in (bench.get("baselines") or []):
        new_text = re.sub(
            r"^(  baselines: \[.*)\btorch-compile\b", r"\1compile-default", new_text, flags=re.MULTILINE
        )
    if new_text != text:
        path.write_text(new_text, encoding="utf-8")
    return dropped


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
    for path in sorted((root / "papers").glob("*.yaml")):
        for line in migrate_file(path):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
