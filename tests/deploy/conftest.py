"""Starts installing the deploy tests' validators as soon as the tests that use them are
collected, so that compiling them overlaps the other tests (tests/deploy/tools.py)."""

from __future__ import annotations

import pytest

from tests.deploy import tools

#: The test files that wait for the validators.
USERS = {"test_k8s_tools.py"}


def pytest_collection_finish(session: pytest.Session) -> None:
    if any(item.path.name in USERS for item in session.items):
        tools.start()
