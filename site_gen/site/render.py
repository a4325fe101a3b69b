"""Render the knowledge base into the Markdown, JSON, BibTeX and SVG files MkDocs builds the site from.

Everything here is deterministic and writes only into the generated docs directory. Text that
comes from YAML is never trusted: templates autoescape HTML, and the `md` filter additionally
neutralises Markdown syntax, so a title such as `<script>` or `*bold*` shows as typed.
"""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import jinja2
from markupsafe import Markup, escape

from repro.records.provenance import HARNESS_VERSION
from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry
from site_gen.kb.results import stats as results_stats
from site_gen.outputs.bib import bibtex_by_id
from site_gen.outputs.export import export_files
from site_gen.outputs.schema import schema_text
from site_gen.site import (
    charts,
    compare,
    feed,
    history,
    home,
    leaderboards,
    people,
    published,
    reported,
    reproduced,
    scorecard,
    search,
    works,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
ASSETS_DIR = Path(__file__).parent / "assets"

# Characters Python-Markdown (with the tables and attr_list extensions) gives a meaning to.
_MD_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


_ABS_PATH = re.compile(r"(?<![\w.])/(?:[\w.+-]+/)+([\w.+-]+)")


def file_names(text: str) -> str:
    """Absolute paths in a recorded reason (where the run wrote its files on its machine) shown as their
    file names: the folder says nothing to a reader and is one unbreakable word in a table cell."""
    return _ABS_PATH.sub(r"\1", text)


def md_escape(text: object) -> Markup:
    """Make YAML text safe and literal inside Markdown: HTML-escape it, then backslash-escape
    Markdown syntax, and fold whitespace so it cannot start a list, heading or table row."""
    folded = " ".join(str(text).split())
    # Apostrophes stay as typed: html.escape's `&#x27;` would have its `#` backslash-escaped below, an
    # entity Python-Markdown then shows escaped twice in the table of contents ("O&amp;#x27;Boyle").
    # Double quotes are escaped, since the text may also sit in a double-quoted attribute.
    return Markup(_MD_SPECIALS.sub(r"\\\1", html.escape(folded, quote=False).replace('"', "&quot;")))


def _attr_text(text: str) -> str:
    return html.escape(" ".join(text.split()), quote=True)


def front_matter(title: str, description: str | None = None, **extra: object) -> Markup:
    """YAML front matter with `title` and `description` HTML-escaped: MkDocs-Material prints
    `page.meta.title` and `.description` unescaped (in <title>, the header, a <meta> attribute),
    so the escaping has to happen here. `tags` reach the search index and its results the same way."""
    if "tags" in extra:
        extra["tags"] = [_attr_text(str(tag)) for tag in cast("Iterable[object]", extra["tags"])]
    meta = {"title": _attr_text(title), **extra}
    if description is not None:
        meta["description"] = _attr_text(description)
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in meta.items()]
    return Markup("---\n" + "\n".join(lines) + "\n---\n")


def safe_url(url: str | None) -> str | None:
    """Only http(s) links reach the page (the checker enforces this; the site does not rely on it)."""
    return url if url and re.match(r"^https?://[^\s]+$", url) else None


def code_fence(text: str) -> Markup:
    """A fence longer than any backtick run inside `text`, so BibTeX cannot close it early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return Markup("`" * max(3, longest + 1))


def number(value: object) -> str:
    """A measured number for a table cell; a {median, ...} mapping shows its median."""
    if isinstance(value, dict):
        value = value.get("median")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.3g}"
    return "—"


def template_cache(root: Path) -> jinja2.BytecodeCache | None:
    """Compiled templates kept under the checkout's build/ folder between builds: compiling the
    site's and the theme's templates is a seventh of a build of the real knowledge base. Keyed by
    each template's source, so an edited template is compiled again."""
    folder = root / "build" / "jinja-cache"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def make_environment(kb: KnowledgeBase) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every {{ }} is HTML-escaped unless a filter returns Markup
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # one environment per render: no need to stat templates on every use
        bytecode_cache=template_cache(kb.root),
    )
    env.filters.update(
        md=md_escape,
        safe_url=safe_url,
        fence=code_fence,
        front_matter=front_matter,
        number=number,
        percent=reproduced.percent,
        times=reproduced.times,
        ms=reproduced.milliseconds,
        file_names=file_names,
    )
    env.filters["vocab_name"] = lambda slug, vocab: kb.vocab[vocab][slug].name
    facets: dict[str, list[works.Facet]] = {}  # an entry is listed on several pages

    def facets_of(entry: Entry) -> list[works.Facet]:
        if entry.id not in facets:
            facets[entry.id] = works.entry_facets(kb, entry)
        return facets[entry.id]

    env.globals["facets_of"] = facets_of
    items: dict[tuple[str, str, bool], str] = {}
    kind_names = {slug: str(escape(term.name)) for slug, term in kb.vocab["kinds"].items()}

    def work_item(entry: Entry, url_prefix: str, with_chips: bool) -> str:
        """One work of a list, as the list's HTML shows it (built once per prefix and build)."""
        key = (entry.id, url_prefix, with_chips)
        if key not in items:
            parts = [
                f'<li><a href="{escape(url_prefix)}papers/{escape(entry.id)}/"><strong>{escape(entry.title)}</strong></a>'
            ]
            if entry.aliases:
                parts.append(f" ({escape(', '.join(entry.aliases))})")
            parts.append(f" · {escape(entry.date)} · {kind_names[entry.kind]}")
            code = safe_url(entry.links.code)
            if code:
                parts.append(f' · <a href="{escape(code)}">code</a>')
            if with_chips:
                parts.append("<br>")
                parts += [
                    f'<a class="md-tag" href="{escape(url_prefix)}works/?{escape(f.param)}={escape(f.slug)}">{escape(f.name)}</a> '
                    for f in facets_of(entry)
                ]
            parts.append("</li>\n")
            items[key] = "".join(parts)
        return items[key]

    def work_list_html(entries: Iterable[Entry], url_prefix: str, with_chips: bool = False) -> Markup:
        body = "".join(work_item(e, url_prefix, with_chips) for e in entries)
        return Markup(f'<ul class="ka-worklist">\n{body}</ul>')

    env.globals["work_list_html"] = work_list_html
    env.globals["short_title"] = home.short_title
    env.globals["search_tags"] = search.search_tags
    env.globals["kinds"] = {slug: term.name for slug, term in kb.vocab["kinds"].items()}
    return env


class DocsWriter:
    """Writes generated files atomically, leaves unchanged files untouched (so `mkdocs serve`
    does not rebuild in a loop), and removes files a previous render left behind."""

    def __init__(self, docs_dir: Path):
        self.docs_dir = docs_dir
        self.written: set[str] = set()

    def write(self, rel: str, content: str | bytes) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = self.docs_dir / rel
        self.written.add(rel)
        if path.is_file() and path.read_bytes() == data:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def copy_tree(self, src: Path, rel_prefix: str) -> None:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            self.write(f"{rel_prefix}/{path.relative_to(src).as_posix()}", path.read_bytes())

    def prune(self) -> None:
        for path in sorted(self.docs_dir.rglob("*"), reverse=True):
            rel = path.relative_to(self.docs_dir).as_posix()
            if path.is_file() and rel not in self.written:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


_PLACEHOLDER = re.compile(r"<!--ka:([id])(\d+)-->")


class PageFragments:
    """HTML bodies of one page that bypass Python-Markdown.

    The template leaves a placeholder comment in the Markdown for each body; the render hook puts
    `indexed` bodies back into the converted page content (before the search plugin reads it) and
    `deferred` bodies into the finished HTML page (so they are neither parsed by Markdown nor
    indexed for search). Markdown adds nothing to pre-rendered HTML but costs time on every page.
    """

    def __init__(self) -> None:
        self.bodies: dict[str, list[str]] = {"i": [], "d": []}

    def _keep(self, stage: str, html: str) -> Markup:
        self.bodies[stage].append(str(html))
        return Markup(f"<!--ka:{stage}{len(self.bodies[stage]) - 1}-->")

    def indexed(self, html: str) -> Markup:
        return self._keep("i", html)

    def deferred(self, html: str) -> Markup:
        return self._keep("d", html)

    def fill(self, stage: str, text: str) -> str:
        """`text` with this page's placeholders of `stage` ('i' or 'd') replaced by their bodies."""
        bodies = self.bodies[stage]
        return _PLACEHOLDER.sub(lambda m: bodies[int(m[2])] if m[1] == stage else m[0], text)


@dataclass
class SiteInfo:
    """What pages need to know about where the site and its sources live."""

    repo_url: str
    branch: str = "main"
    site_url: str = ""  # where the site is published: absolute links in the Atom feed

    def edit_url(self, rel_path: str) -> str:
        return f"{self.repo_url.rstrip('/')}/edit/{self.branch}/{rel_path}"

    def source_url(self, rel_path: str) -> str:
        return f"{self.repo_url.rstrip('/')}/blob/{self.branch}/{rel_path}"


def _entry_context(
    kb: KnowledgeBase,
    entry: Entry,
    bib: str,
    related: list[Entry],
    evaluated_on_it: list[Entry],
    boards: leaderboards.Section | None = None,
    reproduction: dict | None = None,
    facets: list[works.Facet] | None = None,
) -> dict:
    vocab = kb.vocab
    return {
        "leaderboards": boards,
        "leaderboard_options": leaderboards.filter_options([boards]) if boards else {},
        "entry": entry,
        "kind": vocab["kinds"][entry.kind],
        "paths": [kb.category_path(slug) for slug in entry.taxonomy],
        "facets": works.entry_facets(kb, entry) if facets is None else facets,
        "results": reported.entry_results(kb, entry),
        "bib": bib,
        "related": related,
        "benchmark_of": evaluated_on_it,
        "reproduction": reproduction,
    }


def build_nav(kb: KnowledgeBase, gpu_pages: Sequence[tuple[str, str]] = ()) -> list:
    """The site navigation; categories become nested sections, entry pages stay out.
    `gpu_pages` are (title, path) of the reproduced-results page of each GPU."""

    def category_item(slug: str) -> dict:
        category = kb.categories[slug]
        title = html.escape(category.name)
        page = f"taxonomy/{slug}/index.md"
        if not category.children:
            return {title: page}
        return {title: [page, *(category_item(child) for child in category.children)]}

    streams = [slug for slug, c in kb.categories.items() if c.parent is None]
    return [
        {"Home": "index.md"},
        {"All works": "works.md"},
        {"Compare works": "compare.md"},
        {"Taxonomy": ["taxonomy/index.md", *(category_item(s) for s in streams)]},
        {"Timeline": "timeline.md"},
        {"Benchmark comparison": "benchmarks.md"},
        {
            "Results": [
                {"Reported results": "results/reported.md"},
                {"Reproduced results": ["results/reproduced.md", *({t: p} for t, p in gpu_pages)]},
                {"Reproductions of published results": "results/published.md"},
                {"KernelBench baselines": "results/kernelbench.md"},
                {"What each harness catches": scorecard.PAGE},
                {"Reproduction methodology": "results/methodology.md"},
            ]
        },
        {"Authors": "authors/index.md"},
        {"Organisations": "organizations.md"},
        {"Changes": "changes.md"},
        {"Downloads": "downloads.md"},
    ]


@dataclass
class Rendered:
    nav: list  # the navigation, in mkdocs.yml's `nav` format
    warnings: list[str]  # problems the site shows but that must not stop the build
    fragments: dict[str, PageFragments]  # docs-relative .md path -> HTML bodies the hook fills in


def render_docs(kb: KnowledgeBase, docs_dir: Path, site: SiteInfo, results_dir: Path) -> Rendered:
    """Write every generated file into `docs_dir`; return the navigation and any warnings."""
    env = make_environment(kb)
    writer = DocsWriter(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    bibs = bibtex_by_id(kb.entries)
    related = works.related_works(kb)
    who = people.people(kb)
    added = history.added_dates(kb)
    common = {"kb": kb, "site": site, "people": who}

    fragments: dict[str, PageFragments] = {}

    def page(rel: str, template: str, **context: object) -> None:
        parts = PageFragments()
        text = env.get_template(template).render(
            **common, **context, indexed=parts.indexed, deferred=parts.deferred
        )
        writer.write(rel, text)
        if parts.bodies["i"] or parts.bodies["d"]:
            fragments[rel] = parts

    facets_of = cast("Callable[[Entry], list[works.Facet]]", env.globals["facets_of"])
    evaluated_on: dict[str, list[Entry]] = {e.id: [] for e in kb.entries}
    for entry in kb.entries:
        for bench in entry.benchmarks:
            if bench != entry.id:
                evaluated_on[bench].append(entry)
    runs = reproduced.render_reproduced(results_dir)
    pub = published.load_published(results_dir, {e.arxiv: e.id for e in kb.entries if e.arxiv})
    sections = leaderboards.sections(kb, runs)
    boards_of = {s.id: s for s in sections}
    for entry in kb.entries:
        context = _entry_context(
            kb,
            entry,
            bibs[entry.id],
            related[entry.id],
            evaluated_on[entry.id],
            boards_of.get(entry.id),
            pub.for_entry(entry.id),
            facets_of(entry),
        )
        page(f"papers/{entry.id}.md", "entry.md.j2", source=f"papers/{entry.id}.yaml", **context)

    members = works.category_members(kb)
    # A category page lists the works filed in it; those of its sub-categories are on their own
    # pages and together in the filtered table, so long lists are not repeated up the tree.
    filed = {slug: [e for e in works if slug in e.taxonomy] for slug, works in members.items()}
    for slug, category in kb.categories.items():
        page(
            f"taxonomy/{slug}/index.md",
            "category.md.j2",
            category=category,
            works=filed[slug],
            members=members,
        )
    page("taxonomy/index.md", "taxonomy.md.j2", members=members)

    runs = reproduced.render_reproduced(results_dir)
    streams, multi = home.stream_counts(kb)
    version = history.site_version(kb, added)
    page(
        "index.md",
        "home.md.j2",
        total=len(kb.entries),
        with_code=sum(1 for e in kb.entries if e.links.code),
        results=sum(len(e.results) for e in kb.entries),
        authors=len(who.authors),
        organizations=len(who.organizations),
        streams=streams,
        multi=multi,
        headlines=home.headline_results(kb),
        repro=home.reproduction_headline(runs),
        recent=home.recent(kb, added),
        version=version,
        bibtex=home.site_bibtex(version, site.repo_url, len(kb.entries)),
        survey=next((e for e in kb.entries if e.arxiv == home.SURVEY_ARXIV), None),
        survey_arxiv=home.SURVEY_ARXIV,
    )
    page(
        "changes.md",
        "changes.md.j2",
        days=home.changes_by_day(kb, added),
        sources={"yaml": sum(1 for a in added.values() if a.source == "yaml")},
    )
    writer.write(
        feed.FEED_PATH,
        feed.atom_feed(kb, home.recent(kb, added, feed.FEED_ENTRIES), site.site_url, "KernelAtlas"),
    )
    page("authors/index.md", "authors.md.j2")
    for letter, persons in who.letters.items():
        page(f"authors/{letter}.md", "author_letter.md.j2", letter=letter, persons=persons)
    page("organizations.md", "organizations.md.j2")
    page("works.md", "works.md.j2")
    page("compare.md", "compare.md.j2", names=compare.names_script(kb))
    writer.write(compare.DATA_PATH, compare.data_json(kb))
    writer.write("assets/works-data.js", works.works_data_script(kb, bibs))

    quarters = charts.works_per_quarter(kb)
    writer.write("charts/works-per-quarter.svg", charts.quarter_chart_svg(quarters, kb))
    chronology = charts.chronology_svg(kb)
    writer.write("charts/chronology.svg", chronology)
    page("timeline.md", "timeline.md.j2", quarters=quarters, chronology=Markup(chronology))

    page("benchmarks.md", "benchmarks.md.j2", **reported.benchmark_matrices(kb))
    page(
        "results/reported.md",
        "reported.md.j2",
        sections=sections,
        options=leaderboards.filter_options(sections),
        stats=results_stats(kb),
    )
    page("results/reproduced.md", "reproduced.md.j2", reproduced=runs)
    gpu_pages = []
    for gpu in runs.gpus:
        for suite in gpu.suites:
            for base, name in (("compile", "torch.compile"), ("eager", "PyTorch eager")):
                if not reproduced.has_speedups(suite, base):
                    continue
                rel = f"charts/reproduced-{gpu.slug}-{suite.suite}-{base}.svg"
                title = f"{suite.suite} on {gpu.gpu}: speedup over {name} per task and method"
                writer.write(rel, charts.speedup_chart_svg(title, suite, base))
                suite.charts.append((rel, title))
        rel = f"results/reproduced/{gpu.slug}.md"
        page(rel, "reproduced_gpu.md.j2", gpu=gpu, comparisons=reproduced.comparisons(kb, gpu))
        gpu_pages.append((html.escape(gpu.gpu), rel))
    page("results/methodology.md", "methodology.md.j2", reproduced=runs)
    page("results/published.md", "published.md.j2", published=pub, harness_version=HARNESS_VERSION)
    page("results/kernelbench.md", "kernelbench_baselines.md.j2", published=pub)
    cards = scorecard.load(results_dir)
    page(scorecard.PAGE, "harnesses.md.j2", cards=cards, groups=scorecard.groups(cards))

    for name, content in export_files(kb, bibs).items():
        writer.write(f"downloads/{name}", content)
    writer.write("downloads/entry.schema.json", schema_text(kb.root))
    for name, content in published.download_files(pub).items():
        writer.write(f"downloads/{name}", content)
    page("downloads.md", "downloads.md.j2", published=pub)

    writer.copy_tree(ASSETS_DIR, "assets")
    writer.prune()
    return Rendered(build_nav(kb, gpu_pages), runs.errors + pub.errors + cards.errors, fragments)
