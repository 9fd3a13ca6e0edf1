"""What a command can meet, in application terms. No HTTP here: the domain and the command layer
raise these, and :func:`amiable_events.http.install_problem_handlers` is the one place that maps
each kind to a problem+json answer. Pure: a service's domain code may import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class ApplicationError(Exception):
    """Base of every error a client can be told about. ``extra`` members go into the answer."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, title: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        if title:
            self.title = title


class Unauthorized(ApplicationError):
    """No valid bearer token."""

    status = 401
    title = "Invalid token"


class Forbidden(ApplicationError):
    """A valid token without the scope the operation needs."""

    status = 403
    title = "Missing scope"


class NotFound(ApplicationError):
    status = 404
    title = "Not found"


class Conflict(ApplicationError):
    """The subject's state forbids the command (closed, a plan already running, taken...)."""

    status = 409
    title = "Conflict"


class Invalid(ApplicationError):
    """The command is well-formed but breaks a rule; each broken rule names its field."""

    status = 422
    title = "Invalid request"

    def __init__(self, errors: list[FieldError], detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.reason}" for e in errors), **extra)
        self.errors = errors

    @classmethod
    def field(cls, name: str, reason: str) -> Invalid:
        return cls([FieldError(name, reason)])


class TooLarge(ApplicationError):
    status = 413
    title = "Request too large"


class UnsupportedMediaType(ApplicationError):
    status = 415
    title = "Unsupported media type"


class Unavailable(ApplicationError):
    """The service cannot answer right now (its read model lags, the log is unreachable); the
    client retries after ``retry_after`` seconds. Nothing was half-written."""

    status = 503
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


class Parked(Unavailable):
    """The debtor account's events stopped applying (an event failed to apply and the account
    was parked until an operator unparks it): its state is not current, so no command on it is
    decided and no appended event counts as applied. ``reason`` is the failure's category (an
    exception type, never personal data); ``claim_id`` the subject, when known."""

    title = "Debtor account parked"

    def __init__(self, *, reason: str, claim_id: str | None = None) -> None:
        super().__init__(
            "the debtor account is parked after an event failed to apply; an operator must "
            "unpark it before it takes commands",
            retry_after=60,
            reason=reason,
            **({"claim_id": claim_id} if claim_id else {}),
        )
