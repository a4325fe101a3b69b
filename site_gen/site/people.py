"""Authors and organisations: who wrote what, as index pages that entries link to.

Authors are grouped on one page per initial of their family name (`authors/<letter>/`, one section
per person with an anchor), organisations on one page (`organizations/`, one section each): a page
per person would add hundreds of pages to every build for little gain, while a section has its own
URL (`authors/l/#ada-lovelace`), its own search result and its own list of works.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.model import Entry
from site_gen.kb.organizations import organization_key

OTHER = "other"  # the letter page of names that do not start with a-z


def slugify(name: str) -> str:
    """'Zoë Ñúñez-Smith' -> 'zoe-nunez-smith': ASCII, lower case, words joined by '-'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "x"


def family_initial(name: str) -> str:
    """The index letter of a 'First Last' name: the first letter of its last word."""
    words = slugify(name).split("-")
    letter = words[-1][:1] if words else ""
    return letter if "a" <= letter <= "z" else OTHER


@dataclass
class Person:
    """An author or organisation with every work that names it (newest first)."""

    name: str
    slug: str
    works: list[Entry] = field(default_factory=list)
    spellings: list[str] = field(default_factory=list)  # how entries also write the name


@dataclass
class People:
    authors: dict[str, Person]  # slug -> author
    organizations: dict[str, Person]  # slug -> organisation
    letters: dict[str, list[Person]]  # initial -> authors, by family name
    organization_names: dict[str, str] = field(default_factory=dict)  # spelling's key -> shown name

    def author_href(self, name: str, url_prefix: str) -> str:
        slug = slugify(name)
        return f"{url_prefix}authors/{family_initial(self.authors[slug].name)}/#{slug}"

    def organization_href(self, name: str, url_prefix: str) -> str:
        key = organization_key(name)
        return f"{url_prefix}organizations/#{slugify(self.organization_names.get(key, name))}"


def _collect(entries: list[Entry], names_of, canonical=None) -> dict[str, Person]:
    """Everyone `names_of` names, by slug; `canonical` maps a spelling to the name it is shown under."""
    people: dict[str, Person] = {}
    for entry in sorted(entries, key=lambda e: (e.date, e.id), reverse=True):
        names = names_of(entry)
        for name in dict.fromkeys(canonical(n) for n in names) if canonical else dict.fromkeys(names):
            slug = slugify(name)
            person = people.setdefault(slug, Person(name, slug))
            if not person.works or person.works[-1] is not entry:
                person.works.append(entry)
    return people


def people(kb: KnowledgeBase) -> People:
    """Every author and organisation of the knowledge base. Names that differ only in case,
    accents or punctuation are one person (the first spelling met is shown); an organisation's
    other spellings (taxonomy/organizations.yaml) are listed under its name."""
    authors = _collect(kb.entries, lambda e: e.authors)
    shown: dict[str, str] = dict(kb.organizations)  # spelling's key -> the name shown for it
    for entry in sorted(kb.entries, key=lambda e: (e.date, e.id), reverse=True):
        for name in entry.organizations:
            shown.setdefault(organization_key(name), name)
    organizations = _collect(kb.entries, lambda e: e.organizations, lambda n: shown[organization_key(n)])
    for entry in kb.entries:
        for name in entry.organizations:
            org = organizations[slugify(shown[organization_key(name)])]
            if name != org.name and name not in org.spellings:
                org.spellings.append(name)
    letters: dict[str, list[Person]] = {}
    for person in sorted(authors.values(), key=lambda p: (slugify(p.name).split("-")[-1], p.slug)):
        letters.setdefault(family_initial(person.name), []).append(person)
    ordered = dict(sorted(letters.items(), key=lambda item: (item[0] == OTHER, item[0])))
    orgs = dict(sorted(organizations.items(), key=lambda item: item[1].name.lower()))
    return People(authors, orgs, ordered, shown)
