"""Log records are redacted: no sealed value, bearer token or JWT reaches a handler."""

from __future__ import annotations

import io
import logging

from amiable_events.logs import Redacting

SEALED = "pii:v1:QUJDREVGR0hJSktMTU5PUA=="
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_message_and_traceback_are_redacted() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(Redacting())
    logger = logging.getLogger("test-redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.error("token Bearer %s for %s", JWT, SEALED)
        try:
            raise ValueError(f"cannot apply {SEALED}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert SEALED not in text and JWT not in text
    assert "pii:v1:[redacted]" in text and "cannot apply" in text
