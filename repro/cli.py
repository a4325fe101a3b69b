"""`python -m repro <command>`: one argparse subcommand per module, each exposing `register(subparsers)`.

To add a command, write a module with `register(subparsers)` that adds a subcommand of the same name
and sets `func` (taking the parsed arguments and returning an exit status), and add it to COMMANDS.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from repro.registry import Registry, unknown_message

COMMANDS: Registry[ModuleType] = Registry("command")
COMMANDS.add("eval", "repro.commands.eval", "evaluate one candidate against one problem")
COMMANDS.add("eval-suite", "repro.commands.eval_suite", "evaluate a folder of candidates against a suite")
COMMANDS.add("bench-harness", "repro.bench.harness", "timing repeatability and per-candidate overhead")
COMMANDS.add("run", "repro.commands.run", "run an agentic loop")
COMMANDS.add("export", "repro.commands.export", "trajectories to SFT / RL datasets")
COMMANDS.add("reproduce", "repro.commands.reproduce", "the numbers behind the site's result tables")
COMMANDS.add("audit", "repro.commands.audit", "released kernels under both policies")
COMMANDS.add("kernelbench", "repro.commands.kernelbench", "baselines and SOL of a KernelBench checkout")
COMMANDS.add("gauntlet", "repro.commands.gauntlet", "the harness against its own adversarial candidates")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m repro", description="KernelAtlas evaluation harness and loops."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        COMMANDS.get(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        print(
            f"python -m repro: error: {unknown_message('command', argv[0], COMMANDS.names())}",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
