"""The page "What each harness catches": the gauntlet's hack types against each harness's verdicts,
read from the scorecard files under repro/results/gauntlet/ (format reader in `repro.records`)."""

from __future__ import annotations

from pathlib import Path

from repro.records.scorecards import Scorecards, read_scorecards
from site_gen.kb.paths import REPO_ROOT

PAGE = "results/harnesses.md"
CATEGORY_LABELS = {
    "control": "Control (an honest kernel)",
    "timing": "Timing",
    "semantic": "Semantics",
    "library": "Library calls instead of kernels",
    "isolation": "Escaping the sandbox",
    "reference": "The reference",
    "input": "Malformed candidates and process failures",
}


def load(results_dir: Path) -> Scorecards:
    """Scorecards under `results_dir`/gauntlet; a malformed file is named in `errors` and skipped."""
    root = REPO_ROOT if results_dir.resolve().is_relative_to(REPO_ROOT) else results_dir.parent
    return read_scorecards(results_dir / "gauntlet", root)


def groups(cards: Scorecards) -> list[tuple[str, list]]:
    """Cases grouped by category, in the catalogue's order."""
    out: dict[str, list] = {}
    for case in cards.cases:
        out.setdefault(case.category, []).append(case)
    order = list(CATEGORY_LABELS)
    return [(CATEGORY_LABELS.get(k, k), v) for k, v in sorted(out.items(), key=lambda kv: (
        order.index(kv[0]) if kv[0] in order else len(order), kv[0]))]  # fmt: skip
