"""CI fails when a change to the event contract is not recorded in CHANGELOG.md (docs/events.md,
"Compatibility promise"): on this repository's history, and on a repository made for the test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.contract.changelog import SECTION, events_section, unrecorded
from tests.support import ROOT

pytestmark = pytest.mark.contract

needs_git = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(),
    reason="not a git checkout: no history to check",
)


@needs_git
def test_every_change_to_a_committed_schema_is_in_the_changelog():
    problems = unrecorded(ROOT)

    assert not problems, (
        "record each change in CHANGELOG.md, section Events, in the same commit: a line naming "
        "the ce_type and what changed (docs/events.md)\n" + "\n".join(problems)
    )


def test_the_events_section_ends_at_the_next_section():
    text = "# Changelog\n\n## Events\n\n- a\n\n## APIs\n\n- b\n"

    assert [line for line in events_section(text) if line] == ["- a"]


class Repository:
    """A git repository with the layout the check reads."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "libs/events/schemas").mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        self.write("README.md", "before the changelog\n")
        self.write("libs/events/schemas/amiable.x.old.v1.json", "{}\n")
        self.commit("history before the changelog")

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def write(self, path: str, text: str) -> None:
        (self.root / path).write_text(text)

    def schema(self, ce_type: str, text: str) -> None:
        self.write(f"libs/events/schemas/{ce_type}.json", text)

    def record(self, *lines: str) -> None:
        current = (self.root / "CHANGELOG.md").read_text()
        heading = f"{SECTION}\n\n"
        self.write("CHANGELOG.md", current.replace(heading, heading + "".join(lines), 1))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)


@pytest.fixture
def repository(tmp_path) -> Repository:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repository = Repository(tmp_path)
    repository.write("CHANGELOG.md", f"# Changelog\n\n{SECTION}\n\n- started\n\n## APIs\n\n")
    repository.commit("the changelog starts")
    return repository


def test_history_before_the_changelog_is_not_checked(repository):
    assert unrecorded(repository.root) == []


def test_a_schema_committed_without_its_line_is_reported(repository):
    repository.schema("amiable.x.new.v1", '{"type": "object"}\n')
    repository.commit("a new event, not recorded")

    (problem,) = unrecorded(repository.root)
    assert "changes amiable.x.new.v1 without a line naming it" in problem
    assert problem.startswith("commit ")


def test_a_schema_committed_with_its_line_passes(repository):
    repository.schema("amiable.x.new.v1", '{"type": "object"}\n')
    repository.record("- `amiable.x.new.v1`: published.\n")
    repository.commit("a new event, recorded")

    assert unrecorded(repository.root) == []


def test_an_earlier_line_does_not_record_a_later_change(repository):
    repository.schema("amiable.x.new.v1", '{"type": "object"}\n')
    repository.record("- `amiable.x.new.v1`: published.\n")
    repository.commit("recorded")
    repository.schema("amiable.x.new.v1", '{"type": "object", "description": "now"}\n')
    repository.commit("changed again, not recorded")

    assert len(unrecorded(repository.root)) == 1


def test_a_line_outside_the_events_section_does_not_count(repository):
    repository.schema("amiable.x.old.v1", '{"type": "object"}\n')
    changelog = (repository.root / "CHANGELOG.md").read_text()
    repository.write("CHANGELOG.md", changelog + "- `amiable.x.old.v1` (in APIs)\n")
    repository.commit("recorded in the wrong section")

    assert len(unrecorded(repository.root)) == 1


def test_an_uncommitted_change_is_checked_against_the_working_changelog(repository):
    repository.schema("amiable.x.old.v1", '{"type": "object"}\n')
    repository.schema("amiable.x.brand-new.v1", "{}\n")  # not even added to the index

    assert sorted(p.split(" changes ")[1].split()[0] for p in unrecorded(repository.root)) == [
        "amiable.x.brand-new.v1",
        "amiable.x.old.v1",
    ]
    repository.record("- `amiable.x.old.v1`, `amiable.x.brand-new.v1`: published.\n")
    assert unrecorded(repository.root) == []


def test_an_envelope_change_needs_a_line_too(repository):
    repository.write("libs/events/schemas/asyncapi.yaml", "asyncapi: 3.0.0\n")
    repository.commit("the envelope changes, not recorded")

    (problem,) = unrecorded(repository.root)
    assert "asyncapi.yaml" in problem
