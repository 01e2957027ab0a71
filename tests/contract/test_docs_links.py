"""Every relative link and #anchor of the project's Markdown resolves, as GitHub renders it.

Guards: a section moved from README.md to a page under docs/ (or a heading renamed) leaving links that
land on a missing file or on the top of a page instead of the text they name."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    ROOT / "nodered_image" / "README.md",
    ROOT / "tests" / "README.md",
]

FENCE = re.compile(r"^```.*?^```[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`]+`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+?)#*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text a reader sees as Markdown: no fenced blocks, whose lines may start with `#`."""
    return FENCE.sub("", text)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: link syntax and punctuation dropped, lower case, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for match in HEADING.finditer(prose(page.read_text())):
        base = anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(page: Path) -> list[str]:
    return LINK.findall(CODE_SPAN.sub("", prose(page.read_text())))


def test_the_anchor_rule_is_githubs():
    assert (
        anchor("Every instance: environment, `/livez` and `/healthz`") == "every-instance-environment-livez-and-healthz"
    )
    assert anchor("What `make down` keeps") == "what-make-down-keeps"
    assert anchor("export, diff --dir, deploy") == "export-diff---dir-deploy"
    assert anchor("npm modules in function nodes (`image.functionModules`)") == (
        "npm-modules-in-function-nodes-imagefunctionmodules"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page):
    assert page.exists(), page
    broken = []
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved.relative_to(ROOT)}")
        elif fragment and (resolved.suffix != ".md" or fragment not in anchors(resolved)):
            broken.append(f"{target}: no heading #{fragment} in {resolved.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)
