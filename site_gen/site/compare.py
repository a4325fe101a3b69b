"""The Compare page: two to four works side by side, drawn in the browser from the site's
downloads (papers.json and results.json). Here only the names the page needs to label what those
files hold by slug: vocabulary terms, benchmark subsets and how each metric is ranked."""

from __future__ import annotations

import json

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.results import PRIORITY, WHOLE


def names_script(kb: KnowledgeBase) -> str:
    """A JSON object for a <script type="application/json"> block: `<`, `>` and `&` are
    \\u-escaped so no name can end the block."""
    vocab = {group: {slug: term.name for slug, term in terms.items()} for group, terms in kb.vocab.items()}
    higher = {slug: term.higher_is_better is not False for slug, term in kb.vocab["metrics"].items()}
    subsets = {
        e.id: {slug: s.name for slug, s in e.benchmark.subsets.items()}
        for e in kb.entries
        if e.benchmark and e.benchmark.subsets
    }
    data = {"vocab": vocab, "higher": higher, "subsets": subsets, "whole": WHOLE, "first": list(PRIORITY)}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
