"""Every relative link in the README and docs/ reaches a file, and every #anchor a heading there."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
INDEX = REPO / "docs" / "README.md"
PAGES = [README, *sorted((REPO / "docs").rglob("*.md"))]
FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
HEADING = re.compile(r"^#{1,6} +(.+?) *#* *$", re.M)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def prose(text: str) -> str:
    """The text outside fenced code blocks and code spans, where links are links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        base, n = slug(heading), 0
        while (name := base if n == 0 else f"{base}-{n}") in found:
            n += 1
        found.add(name)
    return found


def links(page: Path) -> list[str]:
    return LINK.findall(prose(page.read_text(encoding="utf-8")))


def local(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_reaches_a_file_and_a_heading(page: Path) -> None:
    broken = []
    for target in filter(local, links(page)):
        path, _, anchor = unquote(target).partition("#")
        reached = (page.parent / path).resolve() if path else page
        if not reached.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (reached.suffix != ".md" or anchor not in anchors(reached)):
            broken.append(f"{target}: no heading #{anchor}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("linking", [README, INDEX], ids=["README.md", "docs/README.md"])
def test_every_docs_page_is_linked_from_the_readme_and_the_index(linking: Path) -> None:
    reached = {(linking.parent / unquote(t).partition("#")[0]).resolve() for t in links(linking) if local(t)}
    pages = {page.resolve() for page in PAGES if page not in (README, INDEX)}
    assert sorted(str(p.relative_to(REPO)) for p in pages - reached) == []


def test_the_anchor_rule_is_githubs() -> None:
    assert slug("Before anything: `dicom-mcp check`") == "before-anything-dicom-mcp-check"
    assert slug("Sessions and the `session` handle") == "sessions-and-the-session-handle"
    assert slug("One instance (Docker)") == "one-instance-docker"
    assert slug("Security: who may call, what they may reach, and the audit trail") == (
        "security-who-may-call-what-they-may-reach-and-the-audit-trail"
    )
