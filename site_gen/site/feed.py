"""An Atom feed of the works added to the knowledge base, so readers can follow the field from a
feed reader. Dates are the days entries joined (see `history`), so the feed is the same on every
build of one checkout."""

from __future__ import annotations

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry
from site_gen.site.history import Added
from site_gen.site.xmltext import escape, quoteattr

FEED_ENTRIES = 50
FEED_PATH = "feed.xml"


def _stamp(day: str) -> str:
    return f"{day}T00:00:00Z"


def atom_feed(kb: KnowledgeBase, recent: list[tuple[Entry, Added]], site_url: str, title: str) -> str:
    """The Atom document: one <entry> per added work, newest first, linking to its page."""
    base = site_url.rstrip("/") + "/" if site_url else ""
    updated = _stamp(recent[0][1].day) if recent else "1970-01-01T00:00:00Z"
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"  <title>{escape(title)}: new works</title>",
        f"  <subtitle>Works added to the {escape(title)} knowledge base</subtitle>",
        f"  <id>{escape(base + FEED_PATH)}</id>",
        f'  <link rel="self" href={quoteattr(base + FEED_PATH)}/>',
        f'  <link rel="alternate" href={quoteattr(base + "changes/")}/>',
        f"  <updated>{updated}</updated>",
        f"  <author><name>{escape(title)} contributors</name></author>",
    ]
    for entry, added in recent[:FEED_ENTRIES]:
        url = f"{base}papers/{entry.id}/"
        kind = kb.vocab["kinds"][entry.kind].name
        lines += [
            "  <entry>",
            f"    <title>{escape(entry.title)}</title>",
            f"    <id>{escape(url)}</id>",
            f'    <link rel="alternate" href={quoteattr(url)}/>',
            f"    <updated>{_stamp(added.day)}</updated>",
            f"    <published>{_stamp(added.day)}</published>",
            f"    <category term={quoteattr(entry.kind)} label={quoteattr(kind)}/>",
            f"    <summary>{escape(entry.summary)}</summary>",
            "  </entry>",
        ]
    lines.append("</feed>")
    return "\n".join(lines) + "\n"
