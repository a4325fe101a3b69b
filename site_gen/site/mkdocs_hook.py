"""MkDocs hook that renders the knowledge base into the docs directory before every build.

Running the render inside MkDocs (rather than before it) means `mkdocs serve` re-renders when a
paper's YAML changes, and `python -m site_gen build` and `serve` share one code path. The
checkout root is the directory holding the mkdocs.yml being built.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.pages import Page

from site_gen.kb.load import KnowledgeBaseError, load_knowledge_base
from site_gen.site.render import PageFragments, SiteInfo, render_docs

RESULTS_DIR = "repro/results"

# HTML bodies of the pages rendered by the last on_config, filled in by the page events below.
_fragments: dict[str, PageFragments] = {}


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    root = Path(config.config_file_path).resolve().parent
    try:
        kb = load_knowledge_base(root)
    except KnowledgeBaseError as exc:
        raise PluginError(str(exc)) from None
    site = SiteInfo(repo_url=config.repo_url or "")
    rendered = render_docs(kb, Path(config.docs_dir), site, root / RESULTS_DIR)
    _fragments.clear()
    _fragments.update(rendered.fragments)
    config.nav = rendered.nav
    # Malformed result files are shown on the Reproduced results page; they must not fail a
    # strict build, so they are printed outside MkDocs' warning counter.
    for message in rendered.warnings:
        print(f"WARNING (site_gen): {message}", file=sys.stderr)
    return config


def on_page_content(html: str, page: Page, **kwargs: object) -> str:
    """Bodies meant for the search index go in before the search plugin reads the content."""
    parts = _fragments.get(page.file.src_uri)
    return parts.fill("i", html) if parts else html


def on_post_page(output: str, page: Page, **kwargs: object) -> str:
    """The remaining bodies go into the finished page, unseen by Markdown and search."""
    parts = _fragments.get(page.file.src_uri)
    return parts.fill("d", output) if parts else output
