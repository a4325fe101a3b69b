"""Where the knowledge base lives inside a checkout; every command takes `--root` to point elsewhere."""

from __future__ import annotations

import argparse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PAPERS_DIR = "papers"
CATEGORIES_FILE = "taxonomy/categories.yaml"
VOCABULARIES_FILE = "taxonomy/vocabularies.yaml"
SCHEMA_FILE = "taxonomy/entry.schema.json"
ORGANIZATIONS_FILE = "taxonomy/organizations.yaml"  # other spellings of organisations (optional)


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    """The `--root DIR` option every command shares: the checkout holding papers/ and taxonomy/."""
    parser.add_argument(
        "--root",
        default=str(REPO_ROOT),
        metavar="DIR",
        help="knowledge-base root holding papers/ and taxonomy/ (default: this checkout)",
    )
