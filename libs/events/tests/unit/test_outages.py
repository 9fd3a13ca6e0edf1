"""Which failures are a dependency outage (503, retried by the runner) and which are bugs."""

from __future__ import annotations

import errno

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, UnknownTopicOrPartitionError
from sqlalchemy.exc import DBAPIError

from amiable_events.outages import outage


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__("driver says no")
        self.sqlstate = sqlstate


def _db(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, _DriverError(sqlstate))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "database"),
        (TimeoutError(), "database"),
        (_db("40P01"), "database"),  # deadlock
        (_db("40001"), "database"),  # serialisation failure
        (_db("57014"), "database"),  # statement timeout
        (_db("08006"), "database"),  # connection failure
        (_DriverError("57P03"), "database"),  # the server is starting up
        (KafkaTimeoutError(), "log"),
        (KafkaConnectionError(), "log"),
        (_db("23505"), None),  # unique violation: a bug or a conflict, not an outage
        (_db("22021"), None),  # bad bytes in a value: the event, not the server
        (UnknownTopicOrPartitionError(), None),
        (FileNotFoundError(errno.ENOENT, "gone"), None),
        (PermissionError(errno.EACCES, "no"), None),
        (ValueError("bug"), None),
    ],
)
def test_outage_classification(error, expected) -> None:
    assert outage(error) == expected
