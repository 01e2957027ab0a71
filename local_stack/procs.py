"""Process trees read from /proc (Linux): which processes a runner started, through npm or nginx's master."""

from __future__ import annotations

import os


def _parents() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below pid (children, their children, ...), not pid itself."""
    children = _parents()
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def leaves(pid: int) -> list[int]:
    """The processes below pid with no children of their own (e.g. the node process npm runs)."""
    children = _parents()
    found, todo = [], list(children.get(pid, []))
    while todo:
        p = todo.pop()
        if children.get(p):
            todo.extend(children[p])
        else:
            found.append(p)
    return found


def tree(pid: int) -> list[int]:
    """pid and every process below it."""
    return [pid, *descendants(pid)]


def title(pid: int) -> str:
    """The process's command line as it shows itself (nginx sets "nginx: worker process" etc.)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""
