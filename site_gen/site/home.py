"""What the front page says about the field: counts that add up, the best number reported in
each of the comparison cells most works report in, the headline of our own reproduction, and what joined
the knowledge base recently."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from site_gen.kb import results
from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry
from site_gen.site import reproduced
from site_gen.site.history import Added, SiteVersion

HEADLINE_CELLS = 8  # benchmark cells shown on the front page
RECENT = 12  # works listed under "Recently added"


def short_title(entry: Entry) -> str:
    """A work's short name: its first alias, else its title up to the colon."""
    return entry.aliases[0] if entry.aliases else entry.title.split(":")[0].strip()


@dataclass
class StreamCount:
    slug: str
    name: str
    works: int  # works filed in this stream (a work can be in several)
    only: int  # works filed in this stream and no other


def stream_counts(kb: KnowledgeBase) -> tuple[list[StreamCount], int]:
    """Works per top-level stream, and how many works sit in more than one stream (which is why
    the stream counts add up to more than the number of works)."""
    tops = [slug for slug, c in kb.categories.items() if c.parent is None]
    per_entry = [{kb.categories[slug].stream for slug in e.taxonomy} for e in kb.entries]
    counts = Counter(s for streams in per_entry for s in streams)
    only = Counter(next(iter(streams)) for streams in per_entry if len(streams) == 1)
    multi = sum(1 for streams in per_entry if len(streams) > 1)
    return [StreamCount(s, kb.categories[s].name, counts[s], only[s]) for s in tops], multi


@dataclass
class Headline:
    """The best number reported in one comparison cell (benchmark, subset, metric, baseline,
    hardware: numbers that may be ranked together)."""

    benchmark: Entry
    cell: results.Cell
    best: results.Row

    @property
    def works(self) -> int:
        return len(self.cell.works)


def headline_results(kb: KnowledgeBase, count: int = HEADLINE_CELLS) -> list[Headline]:
    """The cells most works report in (ties: the benchmark order of Reported results, then the
    cell's name), each with its best value."""
    ranked = sorted(enumerate(results.cells(kb)), key=lambda item: (-len(item[1].works), item[0]))
    return [Headline(kb.by_id[c.key.benchmark], c, c.ranked()[0]) for _, c in ranked[:count]]


@dataclass
class ReproHeadline:
    gpu: str
    slug: str
    suite: str
    tasks: str  # "12/15"
    method: str  # the method with the highest geometric-mean speedup over torch.compile
    geomean_compile: object
    fast_1_compile: object
    correct_rate: object


def reproduction_headline(runs: reproduced.Reproduced) -> list[ReproHeadline]:
    """Per GPU and suite, the method with the best geometric-mean speedup over torch.compile."""
    out = []
    for gpu in runs.gpus:
        if gpu.on_cpu:
            continue
        for suite in gpu.suites:
            scored = [
                r for r in suite.methods if isinstance(r.metrics.get("geomean_speedup_compile"), int | float)
            ]
            if not scored:
                continue
            best = max(scored, key=lambda r: r.metrics["geomean_speedup_compile"])
            m = best.metrics
            out.append(
                ReproHeadline(
                    gpu.gpu,
                    gpu.slug,
                    suite.suite,
                    f"{m.get('tasks_measured', '—')}/{m.get('tasks_in_suite', '—')}",
                    best.label,
                    m.get("geomean_speedup_compile"),
                    m.get("fast_1_compile"),
                    m.get("correct_rate"),
                )
            )
    return out


def recent(kb: KnowledgeBase, added: dict[str, Added], count: int = RECENT) -> list[tuple[Entry, Added]]:
    """The works that joined last (by the day they were added, then newest publication first)."""
    dated = [(e, added[e.id]) for e in kb.entries if e.id in added]
    dated.sort(key=lambda pair: (pair[1].day, pair[0].date, pair[0].id), reverse=True)
    return dated[:count]


def changes_by_day(kb: KnowledgeBase, added: dict[str, Added]) -> list[tuple[str, list[Entry]]]:
    """Every dated addition grouped by day, newest day first (the changelog page)."""
    days: dict[str, list[Entry]] = defaultdict(list)
    for entry in kb.entries:
        if entry.id in added:
            days[added[entry.id].day].append(entry)
    return [
        (day, sorted(days[day], key=lambda e: (e.date, e.id), reverse=True))
        for day in sorted(days, reverse=True)
    ]


SURVEY_ARXIV = "2601.15727"  # the survey whose taxonomy the knowledge base follows


def site_bibtex(version: SiteVersion, repo_url: str, works: int) -> str:
    """The BibTeX entry for citing the site: year, month, version and, with git, the commit."""
    commit = f", commit {version.commit[:12]}" if version.commit else ""
    fields = [
        ("title", "{KernelAtlas}: a living, reproducible survey of {LLM}-driven {GPU} kernel generation"),
        ("author", "{KernelAtlas contributors}"),
        ("year", version.year),
        ("month", None),
        ("version", version.version),
        ("howpublished", f"\\url{{{repo_url}}}"),
        ("urldate", version.date),
        ("note", f"Version {version.version} of {version.date}{commit}; {works} works"),
    ]
    lines = [f"@misc{{kernelatlas{version.year},"]
    for name, value in fields:
        text = version.month if value is None else f"{{{value}}}"
        lines.append(f"  {name:<12} = {text},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}"
