"""Is every change to the published event contract recorded in CHANGELOG.md, section "Events"?

The rule, per commit since the changelog started (the commit that added CHANGELOG.md) and for
the working tree against HEAD: each ``libs/events/schemas/<ce_type>.json`` the change adds or
modifies is named by a line the same change adds to the Events section; a change to
``asyncapi.yaml`` alone (the envelope, the channel) needs an added line there too. A line
written in an earlier change does not count, so a second change to one type needs a second line.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

SCHEMAS = "libs/events/schemas"
CHANGELOG = "CHANGELOG.md"
SECTION = "## Events"
ASYNCAPI = "asyncapi.yaml"


def events_section(text: str) -> list[str]:
    """The lines of the Events section: from its heading to the next ``## `` heading."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line.strip() == SECTION
        elif inside:
            lines.append(line)
    return lines


def unrecorded(root: Path) -> list[str]:
    """Every change to a committed schema that its change did not record; empty if none."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, check=True, capture_output=True, text=True
        ).stdout

    started = git("log", "--diff-filter=A", "--format=%H", "--", CHANGELOG).split()
    if not started:
        return [f"{CHANGELOG} is missing: it records every change to {SCHEMAS}"]
    problems = []
    for commit in git("rev-list", "--reverse", f"{started[-1]}..HEAD", "--", SCHEMAS).split():
        changed = git(
            "diff", "--name-only", "--diff-filter=AM", f"{commit}^", commit, "--", SCHEMAS
        )
        added = git("diff", "-U0", f"{commit}^", commit, "--", CHANGELOG)
        section = events_section(git("show", f"{commit}:{CHANGELOG}"))
        problems += _missing(f"commit {commit[:10]}", changed.split(), added, section)
    changed = git("diff", "--name-only", "--diff-filter=AM", "HEAD", "--", SCHEMAS).split()
    changed += git("ls-files", "--others", "--exclude-standard", "--", SCHEMAS).split()
    changelog = root / CHANGELOG
    section = events_section(changelog.read_text()) if changelog.exists() else []
    added = git("diff", "-U0", "HEAD", "--", CHANGELOG)
    return problems + _missing("the working tree", changed, added, section)


def _missing(where: str, paths: list[str], diff: str, section: list[str]) -> list[str]:
    inside = set(section)
    added = [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++") and line[1:] in inside
    ]
    text = "\n".join(added)
    names = [Path(path).name for path in paths]
    types = [name.removesuffix(".json") for name in names if name.endswith(".json")]
    problems = [
        f"{where} changes {ce_type} without a line naming it in {CHANGELOG}, section Events"
        for ce_type in types
        if ce_type not in text
    ]
    if ASYNCAPI in names and not types and not any(line.strip() for line in added):
        problems.append(f"{where} changes {ASYNCAPI} without a line in {CHANGELOG}, section Events")
    return problems
