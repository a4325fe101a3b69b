"""What the site's search finds a work by, beyond the words on its page.

MkDocs-Material's search splits `CudaForge` into `cuda` and `forge`, so the query `cudaforge`
(how people type a name they heard) finds nothing, and a title's words weigh as much as any other
page's. Each entry page therefore carries, as front-matter `tags` (a search field weighted far
above body text and hidden in results), its short names as written and squashed to lower-case
letters and digits, its organisations, its id and its arXiv id. The All works filter squashes
its query and the same names the same way (assets/works.js), so both find the same works.
"""

from __future__ import annotations

import re

from site_gen.kb.model import Entry

_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def squash(text: str) -> str:
    """'Dr. Kernel' -> 'drkernel', 'CUDA-L1' -> 'cudal1': what someone types without spaces."""
    return _NOT_WORD.sub("", text).lower()


def names(entry: Entry) -> list[str]:
    """The names a work goes by: its aliases and its title up to the colon."""
    head = entry.title.split(":")[0].strip()
    return list(dict.fromkeys([*entry.aliases, head]))


def search_tags(entry: Entry) -> list[str]:
    """The front-matter tags of an entry page (see the module docstring)."""
    tags = [*names(entry), *entry.organizations, entry.id]
    tags += [squash(t) for t in [*names(entry), *entry.organizations]]
    if entry.arxiv:
        tags.append(entry.arxiv)
    return [t for t in dict.fromkeys(tags) if t]
