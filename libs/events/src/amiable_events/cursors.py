"""Page cursors: a position in a list ordered by (instant, id), as text a client passes back.

Every string the pattern admits is a position (17 digits of microseconds stay within year
9999), so the OpenAPI says exactly which cursors are accepted; any other is a 422.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

CURSOR = r"^[0-9]{1,17}\.[0-9a-f]{32}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(at: datetime, id: uuid.UUID) -> str:
    since = at - _EPOCH
    micros = since.days * 86_400_000_000 + since.seconds * 1_000_000 + since.microseconds
    return f"{micros}.{id.hex}"


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    micros, id = cursor.split(".")
    return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=id)
