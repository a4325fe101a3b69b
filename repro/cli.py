"""`python -m repro <command>`: one argparse subcommand per module, each exposing `register(subparsers)`.

To add a command, write a module with `register(subparsers)` that sets `func` (taking the parsed
arguments and returning an exit status) and add its dotted name to COMMAND_MODULES. Modules are
imported only when present, so a command whose module is not written yet is simply absent.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

COMMAND_MODULES = [
    "repro.commands.eval",  # eval
    "repro.commands.eval_suite",  # eval-suite
    "repro.bench.harness",  # bench-harness
    "repro.commands.run",  # run (agentic loops)
    "repro.commands.export",  # export (trajectories to SFT / RL datasets)
    "repro.commands.reproduce",  # reproduce
    "repro.commands.audit",  # audit (released kernels under both policies)
    "repro.commands.kernelbench",  # kernelbench (baselines and SOL of a KernelBench checkout)
    "repro.commands.gauntlet",  # gauntlet (the harness against its own adversarial candidates)
]


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m repro", description="KernelAtlas evaluation harness and loops."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        if _module_exists(name):
            module = importlib.import_module(name)
            if hasattr(module, "register"):
                module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
