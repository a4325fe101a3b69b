"""`python -m site_gen build` and `python -m site_gen serve`: the static site.

Both run MkDocs on the checkout's mkdocs.yml with the render hook, which validates the knowledge
base and renders it into build/docs/ first. The build is strict: a broken internal link or any
other MkDocs warning fails it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import MkDocsException

from site_gen.kb.paths import add_root_argument

HOOK = Path(__file__).with_name("mkdocs_hook.py")
DOCS_DIR = "build/docs"
SITE_DIR = "site"
WATCHED = ["papers", "taxonomy", "repro/results"]


def site_config(
    root: Path, site_dir: Path | None = None, *, strict: bool = True, **overrides: object
) -> MkDocsConfig:
    """Load `root/mkdocs.yml` with the render hook and directories anchored at `root`."""
    docs_dir = root / DOCS_DIR
    docs_dir.mkdir(parents=True, exist_ok=True)  # MkDocs refuses a docs_dir that does not exist
    return load_config(
        str(root / "mkdocs.yml"),
        hooks=[str(HOOK)],
        docs_dir=str(docs_dir),
        site_dir=str(site_dir or root / SITE_DIR),
        strict=strict,
        **overrides,
    )


def build_site(root: Path, site_dir: Path | None = None, *, strict: bool = True) -> Path:
    """Validate, render and build; return the directory holding the built site."""
    config = site_config(root, site_dir, strict=strict)
    mkdocs_build(config)
    return Path(config.site_dir)


def _run_build(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    try:
        out = build_site(
            root, Path(args.site_dir).resolve() if args.site_dir else None, strict=not args.no_strict
        )
    except MkDocsException as exc:
        print(f"site build failed: {exc}", file=sys.stderr)
        return 1
    print(f"site built in {out}")
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from mkdocs.commands.serve import serve

    root = Path(args.root).resolve()
    (root / DOCS_DIR).mkdir(parents=True, exist_ok=True)
    watch = [str(root / p) for p in WATCHED if (root / p).exists()]
    watch += [str(Path(__file__).parent / "templates"), str(Path(__file__).parent / "assets")]
    try:
        serve(
            str(root / "mkdocs.yml"),
            livereload=True,
            watch=watch,
            hooks=[str(HOOK)],
            docs_dir=str(root / DOCS_DIR),
            dev_addr=args.dev_addr,
        )
    except MkDocsException as exc:
        print(f"site preview failed: {exc}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser("build", help="validate, render and build the static site into site/")
    add_root_argument(build)
    build.add_argument("--site-dir", metavar="DIR", help="where to write the site (default: ROOT/site)")
    build.add_argument("--no-strict", action="store_true", help="do not fail on MkDocs warnings")
    build.set_defaults(func=_run_build)

    serve = subparsers.add_parser(
        "serve", help="preview the site with live reload (re-renders on YAML edits)"
    )
    add_root_argument(serve)
    serve.add_argument(
        "--dev-addr", default="127.0.0.1:8000", metavar="HOST:PORT", help="address to serve on"
    )
    serve.set_defaults(func=_run_serve)
