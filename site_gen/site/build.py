"""`python -m site_gen build` and `python -m site_gen serve`: the static site.

Both run MkDocs on the checkout's mkdocs.yml with the render hook, which validates the knowledge
base and renders it into build/docs/ first. The build is strict: a broken internal link or any
other MkDocs warning fails it.

A build never deletes what it did not write and never leaves a half-built site: it builds into a
fresh folder beside the site directory and swaps it in only when complete. Every build carries a
marker file; a non-empty directory without one is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import logging
import os
import re
import shutil
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import MkDocsException

from site_gen.kb.check import check_knowledge_base, print_report
from site_gen.kb.load import use_report_once
from site_gen.kb.paths import add_root_argument
from site_gen.outputs.write import OutputError, write_failure

HOOK = Path(__file__).with_name("mkdocs_hook.py")
DOCS_DIR = "build/docs"
SITE_DIR = "site"
WATCHED = ["papers", "taxonomy", "repro/results"]
_CANNOT_WRITE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
SITE_MARKER = ".kernelatlas-site"  # in every built site: the next build may replace that directory
_MARKER_TEXT = "Built by `python -m site_gen build`; the next build replaces this whole directory.\n"
# Files every KernelAtlas site has: a site built before the marker existed is recognised by them.
_EARLIER_SITE_FILES = ("404.html", "search/search_index.json", "downloads/papers.json")


def is_built_site(path: Path) -> bool:
    """Whether `path` holds a site a build wrote (marked, or from before the marker existed)."""
    return (path / SITE_MARKER).is_file() or all((path / name).is_file() for name in _EARLIER_SITE_FILES)


def site_config(
    root: Path, site_dir: Path | None = None, *, strict: bool = True, **overrides: Any
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


def check_site_dir(site_dir: Path) -> None:
    """OutputError unless `site_dir` is absent, empty, or a site an earlier build wrote."""
    if site_dir.exists() and not site_dir.is_dir():
        raise OutputError(f"{site_dir} is a file (name a directory for the site, e.g. --site-dir site)")
    if site_dir.is_dir() and not is_built_site(site_dir) and any(site_dir.iterdir()):
        raise OutputError(
            f"{site_dir} is not empty and was not written by `python -m site_gen build` (it has no"
            f" {SITE_MARKER} file): choose an empty or new --site-dir, or empty {site_dir} yourself"
        )


def _scratch_pattern(site_dir: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(site_dir.name)}\.(building|old)-(\d+)-[0-9a-f]+$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_leftovers(site_dir: Path) -> None:
    """Remove what killed builds left beside `site_dir`: scratch folders carrying our marker whose
    process is gone (a build still running keeps its own)."""
    pattern = _scratch_pattern(site_dir)
    if not site_dir.parent.is_dir():
        return
    for path in site_dir.parent.iterdir():
        match = pattern.match(path.name)
        if match and path.is_dir() and (path / SITE_MARKER).is_file() and not _alive(int(match[2])):
            shutil.rmtree(path, ignore_errors=True)


def _scratch(site_dir: Path, kind: str) -> Path:
    return site_dir.with_name(f".{site_dir.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _swap_in(new: Path, site_dir: Path) -> None:
    """Put the finished build `new` at `site_dir`, with Ctrl-C held back for the two renames so
    that `site_dir` is always either the old site or the new one."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    old = None
    try:
        if site_dir.exists():
            old = _scratch(site_dir, "old")
            os.rename(site_dir, old)
        try:
            os.rename(new, site_dir)
        except BaseException:
            if old is not None:
                os.rename(old, site_dir)
            raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused for the build: it walked every object of the knowledge
    base again and again (a tenth of the CPU time of a build, real or of 10,000 entries), while
    what a build makes lives until it ends and reference counting frees the rest. The cycles it
    leaves (about 12 KB per page) are collected once the collector runs again after the build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_site(root: Path, site_dir: Path | None = None, *, strict: bool = True) -> Path:
    """Validate, render and build into a scratch folder, then swap it in at `site_dir` (default
    ROOT/site); return `site_dir`. On any failure or interrupt `site_dir` is left as it was."""
    target = Path(os.path.abspath(site_dir or root / SITE_DIR))
    check_site_dir(target)
    docs_fix = f"the build renders the pages there first: make {root} writable"
    try:
        (root / DOCS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_failure("write", Path(exc.filename or root / DOCS_DIR), exc, docs_fix) from None
    writable_fix = f"choose a writable --site-dir, or make {target.parent} writable"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clear_leftovers(target)
        scratch = _scratch(target, "building")
        scratch.mkdir()
    except OSError as exc:
        raise write_failure("write", target, exc, writable_fix) from None
    try:
        (scratch / SITE_MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        with _no_cycle_collection():
            mkdocs_build(site_config(root, scratch, strict=strict))  # keeps hidden files: the marker stays
        _swap_in(scratch, target)
    except OSError as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        if exc.errno not in _CANNOT_WRITE or not exc.filename:
            raise
        where = Path(exc.filename)
        fix = docs_fix if where.is_relative_to(root / DOCS_DIR) else writable_fix
        raise write_failure("write", where, exc, fix) from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return target


def _show_mkdocs_warnings() -> logging.Handler:
    """Print MkDocs' warnings (a broken link or anchor, a page outside the nav) to stderr as they come.
    Called as a library, MkDocs only counts them, and strict mode would fail naming how many, not which."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s - %(message)s"))
    logging.getLogger("mkdocs").addHandler(handler)
    return handler


def _run_build(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve()
    started = time.perf_counter()
    with _no_cycle_collection():
        report = check_knowledge_base(root)
    if report.problems:  # the same list `check` prints, before MkDocs starts
        return print_report(report, started)
    use_report_once(root, report)  # the render hook loads the knowledge base without checking again
    site_dir = Path(args.site_dir).resolve() if args.site_dir else root / SITE_DIR
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` cleans up like Ctrl-C
    shown = _show_mkdocs_warnings()
    try:
        out = build_site(root, site_dir, strict=not args.no_strict)
    except MkDocsException as exc:
        print(f"site build failed: {exc} ({site_dir} is left as it was)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"build interrupted: {site_dir} is left as it was", file=sys.stderr)
        return 130
    finally:
        logging.getLogger("mkdocs").removeHandler(shown)
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
