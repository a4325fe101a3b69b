"""The `python -m repro` commands: argument parsing, then one call into the library.

One module per command (`eval`, `eval_suite`, `run`, `export`, `reproduce`), each with
`register(subparsers)`; `options` holds the flags several commands share. Commands may import
anything in repro; nothing in the library imports a command.
"""
