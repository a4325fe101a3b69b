"""When each entry joined the knowledge base, and which version of the site this is.

The `added` date a person types into a YAML file is easy to get wrong (a batch import stamps every
file with one day), so the date an entry joined is taken from git when it can be: the day of the
first commit that added `papers/<id>.yaml`. Without git, outside a repository, or in a shallow
clone whose oldest commit seems to add every file at once, the YAML's `added` is used instead.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from site_gen.kb.load import KnowledgeBase
from site_gen.kb.paths import PAPERS_DIR

GIT_TIMEOUT = 30  # seconds; one `git log` over the papers folder takes well under one


def _git(root: Path, *args: str) -> str | None:
    """stdout of `git -C root ARGS`, or None when git is missing or the command fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env={**os.environ, "TZ": "UTC", "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _shallow_boundaries(root: Path) -> set[str]:
    """Commits where a shallow clone's history is cut: they seem to add every file they hold."""
    path = _git(root, "rev-parse", "--git-path", "shallow")
    if not path:
        return set()
    shallow = Path(path.strip())
    if not shallow.is_absolute():
        shallow = root / shallow
    try:
        return set(shallow.read_text(encoding="utf-8").split())
    except OSError:
        return set()


def git_added_dates(root: Path) -> dict[str, str]:
    """Entry id -> YYYY-MM-DD (UTC) of the oldest commit that added papers/<id>.yaml.

    Empty when `root` is not inside a git work tree. Files first seen in a shallow clone's
    boundary commit are left out, since that commit is not when they were added."""
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None:
        return {}
    papers = (root / PAPERS_DIR).resolve()
    try:
        prefix = papers.relative_to(Path(top.strip()).resolve()).as_posix()
    except ValueError:
        return {}
    log = _git(
        root,
        "-c",
        "log.showSignature=false",
        "log",
        "--no-renames",
        "--diff-filter=A",
        "--date=format-local:%Y-%m-%d",
        "--format=@%H %cd",
        "--name-only",
        "--",
        prefix,
    )
    if not log:
        return {}
    cut = _shallow_boundaries(root)
    dates: dict[str, str] = {}
    commit, day = "", ""
    for line in log.splitlines():  # newest first: the last date seen for a file is its first add
        if line.startswith("@"):
            commit, day = line[1:].split(" ", 1)
        elif line.endswith(".yaml") and line.startswith(prefix + "/"):
            entry_id = line[len(prefix) + 1 : -len(".yaml")]
            if "/" in entry_id:
                continue
            if commit in cut:
                dates.pop(entry_id, None)
            else:
                dates[entry_id] = day
    return dates


@dataclass(frozen=True)
class Added:
    """When an entry joined, and where that date comes from ("git" or "yaml")."""

    day: str
    source: str


def added_dates(kb: KnowledgeBase, git_dates: dict[str, str] | None = None) -> dict[str, Added]:
    """Entry id -> when it joined: git's date when known, else the YAML `added`; entries with
    neither are left out."""
    git_dates = git_added_dates(kb.root) if git_dates is None else git_dates
    out: dict[str, Added] = {}
    for entry in kb.entries:
        if entry.id in git_dates:
            out[entry.id] = Added(git_dates[entry.id], "git")
        elif entry.added:
            out[entry.id] = Added(entry.added, "yaml")
    return out


@dataclass(frozen=True)
class SiteVersion:
    """What a citation of the site needs: a version, a date and, with git, the commit."""

    version: str
    date: str  # YYYY-MM-DD
    commit: str | None

    @property
    def year(self) -> str:
        return self.date[:4]

    @property
    def month(self) -> str:
        return ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"][
            int(self.date[5:7]) - 1
        ]


def project_version(root: Path) -> str:
    """The version in `root`'s pyproject.toml, else the installed package's, else 0."""
    import tomllib

    try:
        with (root / "pyproject.toml").open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kernelatlas")
    except PackageNotFoundError:
        return "0"


def site_version(kb: KnowledgeBase, added: dict[str, Added]) -> SiteVersion:
    """The version is the project's; the date is the last commit's, else the newest `added`
    (never today's date, so two builds of one checkout cite the same thing)."""
    head = _git(kb.root, "log", "-1", "--date=format-local:%Y-%m-%d", "--format=%H %cd")
    if head and head.strip():
        commit, day = head.split()
        return SiteVersion(project_version(kb.root), day, commit)
    days = [a.day for a in added.values()] or [e.date for e in kb.entries] or ["1970-01-01"]
    day = max(days)
    return SiteVersion(project_version(kb.root), day if len(day) == 10 else f"{day[:7]}-01", None)
