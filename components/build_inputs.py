"""What a `docker build` of a Dockerfile reads from its context: the sources of its COPY and ADD instructions
(remote ADD sources are named in the Dockerfile itself), less what .dockerignore leaves out of the context.
The image's tag is a digest of exactly these files, the Dockerfile and the build args (components/image.py),
so it changes when the image would and never because of a file the image does not hold (a README, a test).

.dockerignore is read as Docker reads it: patterns relative to the context, `*` and `?` within one path
segment, `**` across any number of them, `!` for an exception, the last matching pattern deciding, and a
pattern that matches a directory leaving out everything below it."""

from __future__ import annotations

import glob
import json
import re
import shlex
from pathlib import Path

_INSTRUCTION = re.compile(r"^(COPY|ADD)\s+(.*)$", re.IGNORECASE)
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://|^git@", re.IGNORECASE)


def _instructions(dockerfile: str) -> list[str]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append(current + line)
        current = ""
    if current:
        lines.append(current)
    return lines


def copy_sources(dockerfile: str) -> list[str]:
    """The local sources (relative to the context, possibly with wildcards) every COPY and ADD names; sources
    copied from another build stage (--from) or fetched (a URL) are no files of the context."""
    sources: list[str] = []
    for instruction in _instructions(dockerfile):
        match = _INSTRUCTION.match(instruction)
        if not match:
            continue
        rest = match.group(2).strip()
        words = _json_form(rest) if rest.startswith("[") else shlex.split(rest)
        flags = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        if any(f.startswith("--from=") for f in flags) or len(paths) < 2:
            continue
        sources += [p for p in paths[:-1] if not _REMOTE.match(p)]
    return sources


def _json_form(text: str) -> list[str]:
    words = json.loads(text)
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(f"Dockerfile: not a JSON array of strings: {text}")
    return words


def _segment_regex(segment: str) -> str:
    """A regular expression for one segment of a .dockerignore pattern (Go's filepath.Match syntax)."""
    out, i = "", 0
    while i < len(segment):
        c = segment[i]
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = segment.find("]", i + 1)
            if end == -1:
                out += re.escape(c)
            else:
                body = segment[i + 1 : end]
                out += "[" + ("^" + body[1:] if body.startswith("^") else body) + "]"
                i = end
        elif c == "\\" and i + 1 < len(segment):
            i += 1
            out += re.escape(segment[i])
        else:
            out += re.escape(c)
        i += 1
    return out


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    parts = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    return re.compile("".join(parts) + r"\Z")


class DockerIgnore:
    """The patterns of a .dockerignore file (none: nothing is left out)."""

    def __init__(self, text: str = ""):
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = line[1:].strip() if negated else line
            self.rules.append((negated, _pattern_regex(pattern.lstrip("/"))))

    def excludes(self, relative: str) -> bool:
        """Whether the file at `relative` (POSIX, relative to the context) is left out of the context."""
        parts = relative.split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for negated, regex in self.rules:
            if any(regex.match(candidate) for candidate in candidates):
                excluded = not negated
        return excluded


def build_files(context: Path, dockerfile: str = "Dockerfile") -> list[Path]:
    """Every file of `context` its Dockerfile's COPY and ADD instructions take, in path order."""
    ignore_file = context / ".dockerignore"
    ignore = DockerIgnore(ignore_file.read_text() if ignore_file.exists() else "")
    found: set[Path] = set()
    for source in copy_sources((context / dockerfile).read_text()):
        matches = glob.glob(source, root_dir=context) if glob.has_magic(source) else [source]
        for match in matches:
            path = context / match
            if not path.exists():
                raise FileNotFoundError(f"{context / dockerfile}: COPY/ADD source {source} is not in {context}")
            found.update(path.rglob("*") if path.is_dir() else [path])
    kept = (p for p in found if p.is_file() and not ignore.excludes(p.relative_to(context).as_posix()))
    return sorted(kept)
