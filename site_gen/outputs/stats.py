"""`python -m site_gen stats`: how much of the knowledge base can be compared.

Prints the number of works, the works that report results, and the comparison cells (same
benchmark, subset, version, metric, aggregate, p/k, baseline and hardware) that hold numbers from
at least two different works, overall and per benchmark. `--json` prints the same as JSON.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from site_gen.kb.load import load_knowledge_base
from site_gen.kb.paths import add_root_argument
from site_gen.kb.results import benchmark_name, stats


def run(args: argparse.Namespace) -> int:
    kb = load_knowledge_base(Path(args.root))
    s = stats(kb)
    if args.json:
        print(json.dumps(asdict(s), indent=2))
        return 0
    print(f"works: {s.works}")
    print(f"works with reported results: {s.works_with_results}")
    print(f"reported results: {s.results}")
    print(f"comparison cells: {s.cells}")
    print(f"comparable cells (>= 2 works): {s.comparable_cells} holding {s.comparable_results} results")
    print()
    print(f"{'benchmark':<28} {'works':>5} {'cells':>5} {'>= 2 works':>10}")
    for bench, works, n_cells, comparable in s.per_benchmark:
        print(f"{benchmark_name(kb, bench)[:28]:<28} {works:>5} {n_cells:>5} {comparable:>10}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats", help="count works, works with results and comparable result cells"
    )
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    add_root_argument(parser)
    parser.set_defaults(func=run)
