"""Views of the entries for the site: facets with display names, category membership, related
works, home-page statistics, and the data behind the All works table."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry

# How far related-work candidates may lie from an entry in date order; bounds the work per entry
# so that the related-works step stays linear in the number of entries.
RELATED_WINDOW = 150
RELATED_COUNT = 6

# Table filters: URL parameter -> (entry field, vocabulary).
FACET_PARAMS = {
    "lang": ("languages", "languages"),
    "hw": ("hardware", "hardware"),
    "tech": ("techniques", "techniques"),
}


@dataclass(frozen=True)
class Facet:
    """One facet value of an entry, with the filter URL parameter that selects it."""

    param: str
    slug: str
    name: str


def entry_facets(kb: KnowledgeBase, entry: Entry) -> list[Facet]:
    facets = [Facet("kind", entry.kind, kb.vocab["kinds"][entry.kind].name)]
    for param, (attr, vocab) in FACET_PARAMS.items():
        facets += [Facet(param, slug, kb.vocab[vocab][slug].name) for slug in getattr(entry, attr)]
    return facets


def ancestors(kb: KnowledgeBase, slugs: list[str]) -> list[str]:
    """The categories and all their ancestors, in category-file order."""
    wanted = {c.slug for slug in slugs for c in kb.category_path(slug)}
    return [slug for slug in kb.categories if slug in wanted]


def category_members(kb: KnowledgeBase) -> dict[str, list[Entry]]:
    """Every category's works, including those filed under its sub-categories, newest first."""
    members: dict[str, list[Entry]] = {slug: [] for slug in kb.categories}
    for entry in kb.entries:
        for slug in ancestors(kb, entry.taxonomy):
            members[slug].append(entry)
    return members


def _feature_masks(entries: list[Entry]) -> tuple[list[int], list[int]]:
    """Each entry's categories, and its other facets, as bits of an int: intersecting two ints is
    far cheaper than intersecting two sets, and this runs ~300 times per entry."""
    bits: dict[str, int] = {}

    def mask(features: list[str]) -> int:
        value = 0
        for feature in features:
            value |= 1 << bits.setdefault(feature, len(bits))
        return value

    categories = [mask([f"c:{s}" for s in e.taxonomy]) for e in entries]
    facets = [
        mask(
            [f"t:{s}" for s in e.techniques]
            + [f"l:{s}" for s in e.languages]
            + [f"b:{s}" for s in e.benchmarks]
        )
        for e in entries
    ]
    return categories, facets


def related_works(kb: KnowledgeBase) -> dict[str, list[Entry]]:
    """For each entry, the works sharing most categories and facets (a shared category counts
    double). Candidates come from a window of entries close in date, which keeps this linear."""
    entries = kb.entries
    ids = [e.id for e in entries]
    categories, facets = _feature_masks(entries)
    related: dict[str, list[Entry]] = {}
    for i, entry in enumerate(entries):
        cats, feats = categories[i], facets[i]
        window = range(max(0, i - RELATED_WINDOW), min(len(entries), i + RELATED_WINDOW + 1))
        scored = [
            (-2 * (cats & categories[j]).bit_count() - (feats & facets[j]).bit_count(), abs(i - j), ids[j], j)
            for j in window
            if cats & categories[j] and j != i
        ]
        scored.sort()
        related[entry.id] = [entries[t[3]] for t in scored[:RELATED_COUNT]]
    return related


def _facet_options(kb: KnowledgeBase) -> dict[str, list[list]]:
    """Filter options with counts, in vocabulary order, only values that occur."""
    options: dict[str, list[list]] = {}
    kinds = Counter(e.kind for e in kb.entries)
    options["kind"] = [[s, t.name, kinds[s]] for s, t in kb.vocab["kinds"].items() if kinds[s]]
    for param, (attr, vocab) in FACET_PARAMS.items():
        counts = Counter(slug for e in kb.entries for slug in getattr(e, attr))
        options[param] = [[s, t.name, counts[s]] for s, t in kb.vocab[vocab].items() if counts[s]]
    members = category_members(kb)
    options["cat"] = [[s, c.name, len(members[s]), c.depth] for s, c in kb.categories.items() if members[s]]
    years = Counter(e.date[:4] for e in kb.entries)
    options["year"] = [[y, y, years[y]] for y in sorted(years, reverse=True)]
    return options


def works_records(kb: KnowledgeBase, bibs: dict[str, str]) -> list[dict]:
    """One compact record per entry: what the table shows, filters on, and exports."""
    records = []
    for e in kb.entries:
        records.append(
            {
                "id": e.id,
                "title": e.title,
                "aliases": e.aliases,
                "authors": e.authors,
                "orgs": e.organizations,
                "results": len(e.results),
                "date": e.date,
                "venue": e.venue or "",
                "kind": e.kind,
                "cat": ancestors(kb, e.taxonomy),
                "taxonomy": e.taxonomy,
                "lang": e.languages,
                "hw": e.hardware,
                "tech": e.techniques,
                "arxiv": e.arxiv or "",
                "paper": e.links.paper or "",
                "code": e.links.code or "",
                "bib": bibs[e.id],
            }
        )
    return records


def works_data_script(kb: KnowledgeBase, bibs: dict[str, str]) -> str:
    """The table's data as a script (it also works when the site is opened from disk).
    `<`, `>` and `&` are \\u-escaped so no text can end the script or form markup."""
    data = {"options": _facet_options(kb), "works": works_records(kb, bibs)}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"window.KERNELATLAS_WORKS = {text};\n"
