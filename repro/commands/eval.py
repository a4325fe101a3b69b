"""`python -m repro eval --problem P.py --candidate C.py`: evaluate one candidate, print and write the result.

Exit status 0 whenever an evaluation completed, whatever the verdict; 2 when the harness cannot run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from repro.commands.options import add_settings_arguments, missing_file, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="evaluate one candidate kernel against one problem")
    p.add_argument("--problem", required=True, type=Path, help="KernelBench-format problem file")
    p.add_argument("--candidate", required=True, type=Path, help="file defining ModelNew")
    p.add_argument("--json", type=Path, default=None, help="write the result JSON here")
    add_settings_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if error := missing_file(problem=args.problem, candidate=args.candidate):
        print(error, file=sys.stderr)
        return 2
    from repro.harness import HarnessError, evaluate  # imports torch: after the arguments are checked
    from repro.records.evaluation import stamp
    from repro.records.files import write_json_atomic

    try:
        source = args.candidate.read_bytes()  # not UTF-8: a compile_error verdict, not a crash
        settings = settings_from_args(args)
        result = evaluate(args.problem, source, settings, last=True)  # nothing follows: no standby process
    except (HarnessError, ValueError, OSError, UnicodeDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.summary_text())
    record = result.to_dict()
    if args.json:
        write_json_atomic(args.json, stamp(record))
    else:
        print(json.dumps({k: record[k] for k in ("correct", "verdict", "reason", "speedup")}))
    return 0
