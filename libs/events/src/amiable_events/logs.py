"""A service's log: one JSON object a line on stderr, carrying the trace, the tenant and the
claim it is about, and no secrets.

Sealed personal data, bearer tokens and JWTs are redacted from every record (its message and
its traceback) before any handler writes it. SQL parameters never reach a record in the first
place (engines have ``hide_parameters``); this is the second line, for what a message or an
exception text quotes.

``AMIABLE_LOG_FORMAT=text`` keeps the plain lines of Python and uvicorn, for a developer's
terminal (``make run``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson
from opentelemetry import trace

from amiable_events.base import SEALED_PREFIX

#: The tenant and the claim of what the current task does, for its log lines: set by the kit
#: where it opens a span (a request once authenticated, an event's processing, a timer, a send).
TENANT: ContextVar[str | None] = ContextVar("amiable_log_tenant", default=None)
CLAIM_ID: ContextVar[str | None] = ContextVar("amiable_log_claim_id", default=None)

_SECRETS = [
    (re.compile(re.escape(SEALED_PREFIX) + r"[A-Za-z0-9_\-=]+"), SEALED_PREFIX + "[redacted]"),
    (re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/\-=]+"), "Bearer [redacted]"),
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), "[redacted-jwt]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class Redacting(logging.Filter):
    """A handler filter: rewrites the record's message and traceback text, redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


@contextlib.contextmanager
def log_context(tenant: str | None, claim_id: str | None = None) -> Iterator[None]:
    """Log lines written here name ``tenant`` and ``claim_id`` (None: unknown)."""
    tenant_token = TENANT.set(tenant)
    claim_token = CLAIM_ID.set(claim_id)
    try:
        yield
    finally:
        CLAIM_ID.reset(claim_token)
        TENANT.reset(tenant_token)


class JsonLines(logging.Formatter):
    """One JSON object a record. A formatter of our own rather than python-json-logger: the
    fields are fixed, orjson is already here, and the redaction stays a filter of the handler,
    which runs before any formatter."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = format(context.trace_id, "032x")
            line["span_id"] = format(context.span_id, "016x")
        tenant, claim_id = TENANT.get(), CLAIM_ID.get()
        if tenant:
            line["tenant"] = tenant
        if claim_id:
            line["claim_id"] = claim_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


def install_logging(service: str) -> None:
    """Redact on every handler of the root logger and of uvicorn's loggers, and write JSON
    lines through them (unless ``AMIABLE_LOG_FORMAT=text``); with no root handler (a bare
    process), one on stderr at WARNING, as Python's last resort would."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)
    as_json = os.environ.get("AMIABLE_LOG_FORMAT", "json").lower() != "text"
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, Redacting) for f in handler.filters):
                handler.addFilter(Redacting())
            if as_json:
                handler.setFormatter(JsonLines(service))
