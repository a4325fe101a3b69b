"""MkDocs hook that renders the knowledge base into the docs directory before every build.

Running the render inside MkDocs (rather than before it) means `mkdocs serve` re-renders when a
paper's YAML changes, and `python -m site_gen build` and `serve` share one code path. The
checkout root is the directory holding the mkdocs.yml being built.
"""

from __future__ import annotations

import functools
import html
import json
import os
import posixpath
import re
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import (
    Page,
    _RelativePathTreeprocessor,  # MkDocs' own link rewriting and checks
)
from mkdocs.structure.toc import get_toc

from site_gen.kb.load import KnowledgeBaseError, load_knowledge_base
from site_gen.site import fastpage, searchcache
from site_gen.site.render import PageFragments, SiteInfo, render_docs, template_cache

RESULTS_DIR = "repro/results"
OVERRIDES_DIR = Path(__file__).with_name("overrides")  # templates that take precedence over the theme's

# HTML bodies of the pages rendered by the last on_config, filled in by the page events below.
_fragments: dict[str, PageFragments] = {}
# Theme fragments that are the same on many pages (see overrides/partials/nav.html), per build.
_shared: dict[tuple[str, ...], Markup] = {}
# What the search plugin made of each page's HTML, kept between builds.
_search_cache: searchcache.SearchCache | None = None


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    root = Path(config.config_file_path).resolve().parent
    try:
        kb = load_knowledge_base(root)
    except KnowledgeBaseError as exc:
        raise PluginError(str(exc)) from None
    if str(OVERRIDES_DIR) not in config.theme.dirs:
        config.theme.dirs.insert(0, str(OVERRIDES_DIR))
    if not getattr(config.theme.get_env, "ka_visible", False):
        config.theme.get_env = _visible_theme_env(config.theme.get_env)  # type: ignore[method-assign]
    site = SiteInfo(repo_url=config.repo_url or "", site_url=config.site_url or "")
    rendered = render_docs(kb, Path(config.docs_dir), site, root / RESULTS_DIR)
    _fragments.clear()
    _fragments.update(rendered.fragments)
    _shared.clear()
    config.nav = rendered.nav
    # Malformed result files are shown on the Reproduced results page; they must not fail a
    # strict build, so they are printed outside MkDocs' warning counter.
    for message in rendered.warnings:
        print(f"WARNING (site_gen): {message}", file=sys.stderr)
    return config


def on_pre_build(config: MkDocsConfig) -> None:
    """The search plugin reuses its reading of pages whose HTML did not change (searchcache.py)."""
    global _search_cache
    _search_cache = searchcache.install(config.plugins, Path(config.config_file_path).resolve().parent)


def on_post_build(config: MkDocsConfig) -> None:
    """Keep what the search plugin read of this build's pages for the next build."""
    if _search_cache is not None:
        _search_cache.save()


class _VisibleTemplates(jinja2.FileSystemLoader):
    """The theme's loader, listing its files without walking hidden folders. MkDocs lists every
    file of the theme to find its static files and then drops every hidden path; Material's
    hidden .icons folder alone holds some 14,000 files (45 ms of every build)."""

    def list_templates(self) -> list[str]:
        found: set[str] = set()
        for searchpath in self.searchpath:
            for dirpath, dirnames, filenames in os.walk(searchpath, followlinks=self.followlinks):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                for filename in filenames:
                    if filename.startswith("."):
                        continue
                    name = os.path.join(dirpath, filename)[len(searchpath) :].strip(os.path.sep)
                    name = name.replace(os.path.sep, "/")
                    found.add(name[2:] if name[:2] == "./" else name)
        return sorted(found)


def _visible_theme_env(get_env: Callable[[], jinja2.Environment]) -> Callable[[], jinja2.Environment]:
    """`Theme.get_env` with the loader above (the same templates; a shorter list of files)."""

    def visible() -> jinja2.Environment:
        env = get_env()
        loader = env.loader
        assert isinstance(loader, jinja2.FileSystemLoader)
        env.loader = _VisibleTemplates(loader.searchpath, loader.encoding, loader.followlinks)
        return env

    visible.ka_visible = True  # type: ignore[attr-defined]
    return visible


@jinja2.pass_context
def _render_shared(context: jinja2.runtime.Context, template: str) -> Markup:
    """`template` rendered once per build and folder of pages (`papers/`, `authors/`), then
    reused. Only for pages outside the navigation, whose output of it is the same for every page
    of one folder (links are relative to the page, so they differ between folders)."""
    page = context.get("page")
    folder = posixpath.dirname(page.url.rstrip("/")) if page is not None else ""
    key = (template, str(context.get("base_url")), folder)
    if key not in _shared:
        _shared[key] = Markup(context.environment.get_template(template).render(context.get_all()))
    return _shared[key]


@jinja2.pass_context
def _render_once(context: jinja2.runtime.Context, name: str, block: object) -> Markup:
    """A theme block (`super`) rendered once per build and page depth, then reused: for blocks
    whose output depends on nothing but `base_url`."""
    key = (f"block:{name}", str(context.get("base_url")))
    if key not in _shared:
        _shared[key] = Markup(block())  # type: ignore[operator]
    return _shared[key]


_TITLE = "\x00ka-page-title\x00"  # stands for the page's title in the shared header


class _Titled:
    """What the theme's header reads from a page: its title, and its URL (which the `url` filter
    makes links relative to; any page at the same depth gives the same links)."""

    meta = {"title": _TITLE}
    title = _TITLE

    def __init__(self, url: str):
        self.url = url


@jinja2.pass_context
def _render_header(context: jinja2.runtime.Context, template: str) -> Markup:
    """The header, rendered once per depth with a stand-in title that each page replaces with
    its own (already escaped, like the theme prints it)."""
    key = (template, str(context.get("base_url")))
    if key not in _shared:
        values = {**context.get_all(), "page": _Titled(context["page"].url)}
        _shared[key] = Markup(context.environment.get_template(template).render(values))
    page = context.get("page")
    title = (page.meta or {}).get("title") or page.title
    # str, not Markup's own replace: that would escape the title a second time (it is escaped already).
    return Markup(str(_shared[key]).replace(_TITLE, str(title)))


def on_env(env: jinja2.Environment, config: MkDocsConfig, files: object) -> jinja2.Environment:
    """Templates under `theme/` are the theme's own, so an override can include the one it
    replaces; `ka_shared` renders a fragment once for many pages."""
    theme_dirs = [d for d in config.theme.dirs if Path(d).resolve() != OVERRIDES_DIR.resolve()]
    assert env.loader is not None  # MkDocs sets the theme's loader before this hook
    env.loader = jinja2.ChoiceLoader(
        [env.loader, jinja2.PrefixLoader({"theme": jinja2.FileSystemLoader(theme_dirs)})]
    )
    env.bytecode_cache = template_cache(Path(config.config_file_path).resolve().parent)
    env.auto_reload = False  # a new environment per build: no need to stat every template on every use
    env.globals["ka_shared"] = _render_shared
    env.globals["ka_once"] = _render_once
    env.globals["ka_header"] = _render_header
    return env


def _render_generated(page: Page, config: MkDocsConfig, files: Files) -> None:
    """`Page.render` for a generated page: its headings and placeholders are converted directly,
    and so are its simple tables (see fastpage.py); any other Markdown goes through Python-Markdown."""
    assert page.markdown is not None
    converted = fastpage.convert(page.markdown)
    if converted is None:
        links = _RelativePathTreeprocessor(page.file, files, config)
        tables = fastpage.extract_tables(page.markdown, links.path_to_url)
        if tables is None:
            Page.render(page, config, files)
            return
        source, page.markdown = page.markdown, tables.markdown
        try:
            Page.render(page, config, files)
        finally:
            page.markdown = source
        page.content = tables.fill(page.content or "")
        page.present_anchor_ids = (page.present_anchor_ids or set()) | tables.anchor_ids
        if page.links_to_anchors is not None:  # MkDocs keeps them only above debug logging
            for target, anchors in links.links_to_anchors.items():
                for anchor, url in anchors.items():
                    page.links_to_anchors.setdefault(target, {}).setdefault(anchor, url)
        return
    page.content = converted.content
    page.toc = get_toc(converted.toc_tokens)  # type: ignore[arg-type]
    page._title_from_render = converted.title
    page.present_anchor_ids = converted.anchor_ids
    page.links_to_anchors = {}  # the subset has no Markdown links


def on_pre_page(page: Page, config: MkDocsConfig, files: Files) -> Page:
    """Generated pages skip Python-Markdown where their Markdown allows (every page in the docs
    directory is generated: the render writes it afresh on each build)."""
    page.render = functools.partial(_render_generated, page)  # type: ignore[method-assign]
    return page


def on_page_content(html: str, page: Page, **kwargs: object) -> str:
    """Bodies meant for the search index go in before the search plugin reads the content."""
    parts = _fragments.get(page.file.src_uri)
    return parts.fill("i", html) if parts else html


# The theme's search dialog has no accessible name; screen readers announce an unnamed dialog.
_SEARCH_DIALOG = 'class="md-search" data-md-component="search" role="dialog"'


def on_post_page(output: str, page: Page, **kwargs: object) -> str:
    """The remaining bodies go into the finished page, unseen by Markdown and search."""
    parts = _fragments.get(page.file.src_uri)
    output = parts.fill("d", output) if parts else output
    return output.replace(_SEARCH_DIALOG, _SEARCH_DIALOG + ' aria-label="Search"', 1)


# The 404 page's links are relative to a <base>: the site's path on the host it is published to
# (static, so the browser's preload scanner fetches the right files there). Served under another
# path (a local preview, a mirror) or opened from disk, a script writes an earlier <base> for the
# server's root or the page's folder, and the first <base> wins.
_BASE_SCRIPT = """<script>(function () {
  var p = %s, l = window.location, r = null;
  if (l.protocol === "file:") r = l.href.replace(/[^/]*([?#].*)?$/, "");
  else if (l.pathname.indexOf(p) !== 0) r = "/";
  if (r) document.write('<base href="' + r.replace(/["<>]/g, encodeURIComponent) + '">');
  window.__kaRoot = r || p;
})();</script>"""
_CONFIG_SCRIPT = """<script>(function () {
  var c = document.getElementById("__config");
  if (c) c.textContent = c.textContent.split(%s).join(JSON.stringify(window.__kaRoot).slice(0, -1));
})();</script>"""


def on_post_template(output: str, template_name: str, config: MkDocsConfig) -> str:
    """Make the 404 page work wherever the site is served.

    MkDocs writes the error page with absolute links under `site_url`'s path (`/kernelatlas/...`)
    because a server returns it for any missing URL, at any depth. Those links break wherever the
    site is served from another path (a local preview, a mirror, opened from disk). Here every
    such link becomes relative to a `<base>` that a script at the top of `<head>` sets to the
    site's root at run time; the theme's configuration (search worker, base URL) follows it."""
    if template_name != "404.html":
        return output
    prefix = urlsplit(config.site_url or "/").path or "/"
    if not prefix.endswith("/"):
        prefix += "/"
    if prefix != "/":
        output = re.sub(r'(\s(?:href|src)=")' + re.escape(prefix), r"\1", output)
    head = _BASE_SCRIPT % json.dumps(prefix) + f'<base href="{html.escape(prefix)}">'
    output = output.replace("<head>", "<head>" + head, 1)
    config_end = output.find("</script>", output.find('id="__config"'))
    if config_end != -1:
        config_end += len("</script>")
        fix = _CONFIG_SCRIPT % json.dumps(json.dumps(prefix)[:-1])
        output = output[:config_end] + fix + output[config_end:]
    return output.replace(_SEARCH_DIALOG, _SEARCH_DIALOG + ' aria-label="Search"', 1)
