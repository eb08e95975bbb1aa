"""The README a newcomer reads first: short, true, and its links lead somewhere."""

from __future__ import annotations

import re

from testkit import ROOT
from preflight.__main__ import main

README = (ROOT / "README.md").read_text()
MAKE_TARGETS = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def quick_start_block() -> tuple[int, str]:
    """(line number where the quick start's first code block ends, its commands)."""
    start = README.index("## Quick start")
    opening = README.index("```\n", start) + 4
    closing = README.index("```", opening)
    return README[:closing].count("\n") + 1, README[opening:closing]


def test_what_it_is_and_the_quick_start_fit_on_the_first_screen():
    last_line, commands = quick_start_block()
    assert last_line <= 30, f"the quick start ends on line {last_line}"
    assert README.index("## Quick start") < README.index("```")
    assert "make test" in commands and "make preflight STACK=prod" in commands


def test_quick_start_commands_are_make_targets():
    _, commands = quick_start_block()
    for target in re.findall(r"^make ([a-z-]+)", commands, re.MULTILINE):
        assert target in MAKE_TARGETS, f"README runs `make {target}`, which the Makefile lacks"


def test_the_expected_preflight_output_is_what_preflight_prints(capsys):
    expected = re.search(r"^Summary: .*$", README, re.MULTILINE).group(0)
    code = main(["--stack", "prod", "--cwd", str(ROOT)])
    printed = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert printed[-1] == expected


def test_every_relative_link_of_the_readme_and_docs_exists():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) > 1
    for page in pages:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)} links to missing {target}"


def test_every_docs_page_is_linked_from_the_readme():
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in README, f"docs/{page.name} is not linked from the README"


def test_in_page_anchors_resolve():
    """GitHub's anchors: lower-case heading text, punctuation dropped, spaces to hyphens."""
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = page.read_text()
        anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                   for h in re.findall(r"^#+ (.*)$", text, re.MULTILINE)}
        for anchor in re.findall(r"\]\(#([^)]+)\)", text):
            assert anchor in anchors, f"{page.name}: no heading for #{anchor}"
