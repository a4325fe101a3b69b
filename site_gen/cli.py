"""The `python -m site_gen` command line.

Each subcommand lives in its own module exposing `register(subparsers)`, which adds its parser
and sets `func` (taking the parsed arguments, returning an exit code). To add a command, write
such a module and list it in SUBCOMMANDS (a module that is missing is an error, not a silently absent command).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from site_gen.kb.load import KnowledgeBaseError
from site_gen.outputs.write import OutputError

SUBCOMMANDS = [
    "site_gen.kb.check",
    "site_gen.outputs.add",
    "site_gen.outputs.bib",
    "site_gen.outputs.awesome",
    "site_gen.outputs.export",
    "site_gen.outputs.schema",
    "site_gen.outputs.stats",
    "site_gen.site.build",  # build, serve
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m site_gen", description="KernelAtlas knowledge-base tools."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KnowledgeBaseError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly. Standard output now points at
        # /dev/null so that the interpreter's last flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
