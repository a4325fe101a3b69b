"""Processes as /proc shows them: the kernel's accounting, which no process can rewrite."""

from __future__ import annotations

import os


def stat_table() -> dict[int, list[bytes]]:
    """Each live process's `/proc/<pid>/stat` fields after its command name (0: state, 1: parent pid,
    11-14: user, system and reaped children's CPU ticks); processes gone while reading are skipped."""
    table: dict[int, list[bytes]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                table[int(name)] = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
    return table


def descendants(root: int, table: dict[int, list[bytes]] | None = None) -> list[int]:
    """`root`'s descendants (not `root` itself); a daemon re-parented to `root` (the warden is a child
    subreaper) is one of them."""
    table = stat_table() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, fields in table.items():
        try:
            children.setdefault(int(fields[1]), []).append(pid)
        except (IndexError, ValueError):
            continue
    out: list[int] = []
    seen, todo = {root}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in seen:  # a snapshot read process by process: never loop on a reused pid
            continue
        seen.add(pid)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def working_folders() -> set[str]:
    """The working folder of every process this user may look at (`/proc/<pid>/cwd`)."""
    out: set[str] = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                out.add(os.readlink(f"/proc/{name}/cwd"))
            except OSError:
                continue
    return out
