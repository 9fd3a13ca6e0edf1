"""Log records carry no secrets: sealed personal data, bearer tokens and JWTs are redacted from
every record (its message and its traceback) before any handler writes it.

SQL parameters never reach a record in the first place (engines have ``hide_parameters``);
this is the second line, for what a message or an exception text quotes.
"""

from __future__ import annotations

import logging
import re
import sys

from amiable_events.base import SEALED_PREFIX

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


def install_redaction() -> None:
    """Redact on every handler of the root logger and of uvicorn's loggers; with no root
    handler (a bare process), one on stderr at WARNING, as Python's last resort would."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, Redacting) for f in handler.filters):
                handler.addFilter(Redacting())
