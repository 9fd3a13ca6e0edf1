"""The bounds every service's request shapes share: text, dates and amounts.

Each bound is checked when the request is parsed, so a value no table, event or computation can
hold is a 422 naming its field instead of a 500 further down (a NUL that PostgreSQL refuses
after the event is on the log, year 9999 plus a day, 10^27 in a Numeric(20, 4) column). Each
bound is also stated in the OpenAPI schema (``pattern``), so a client can tell from the schema
alone what is accepted, and a fuzzer that follows the schema is never refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

#: Control characters (C0, DEL, C1) and the bidirectional overrides and isolates that make text
#: display in another order than it is stored (the "Trojan Source" characters).
_FORBIDDEN = "\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"
#: Multi-line text may also hold tabs and line breaks.
_FORBIDDEN_MULTILINE = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"


def _text_pattern(forbidden: str, required: bool) -> str:
    if not required:
        return f"^[^{forbidden}]*$"
    # At least one character that is not white space: the service strips surrounding white
    # space, and an empty string is not a value.
    return f"^[^{forbidden}]*[^\\s{forbidden}][^{forbidden}]*$"


@dataclass(frozen=True, eq=False)
class JsonSchemaExtra:
    """Adds members to a type's JSON schema (unlike ``WithJsonSchema``, which replaces it);
    works on request bodies and on query parameters alike."""

    extra: dict[str, Any]

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema.update(self.extra)
        return schema


def text_error(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    forbidden = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN
    found = re.search(f"[{forbidden}]", value)
    if found is None:
        return None
    return (
        f"must not contain control characters or bidirectional overrides "
        f"(found U+{ord(found.group()):04X} at position {found.start()})"
    )


def _clean_text(multiline: bool):
    def check(value: str) -> str:
        reason = text_error(value, multiline=multiline)
        if reason is not None:
            raise ValueError(reason)
        return value

    return check


def Text(
    max_length: int,
    *,
    min_length: int = 1,
    multiline: bool = False,
    **field: Any,
) -> Any:
    """A ``str`` of at most ``max_length`` characters (at least ``min_length`` once surrounding
    white space is stripped) holding no control character (tabs and line breaks too when
    ``multiline``) and no bidirectional override."""
    forbidden = _FORBIDDEN_MULTILINE if multiline else _FORBIDDEN
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, **field),
        AfterValidator(_clean_text(multiline)),
        JsonSchemaExtra({"pattern": _text_pattern(forbidden, min_length > 0)}),
    ]


#: Every date a request may carry: invoice dates, value dates, ``as_of``, report periods. The
#: window starts where every reference-rate table of ``amiable_rules`` has a rate in force (a
#: claim due earlier could not have its late interest computed; it would be time-barred under
#: every governing law the rules know anyway) and ends well before any date arithmetic
#: (a due date plus a limitation period, a report's months) could leave ``date``'s range.
EARLIEST = date(2017, 1, 1)
LATEST = date(2099, 12, 31)
_YEAR = r"(201[7-9]|20[2-9][0-9])"
DATE_PATTERN = f"^{_YEAR}-"
WINDOW = f"from {EARLIEST.isoformat()} to {LATEST.isoformat()}"


def _in_window(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"must be {WINDOW}")
    return value


def _aware(value: datetime) -> datetime:
    """A time without an offset is UTC; bounds are checked on the UTC instant, so that an
    offset cannot carry it out of range."""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    _in_window(value)  # first on its own date: converting year 1 or 9999 may overflow
    _in_window(value.astimezone(UTC))
    return value


BoundedDate = Annotated[
    date,
    AfterValidator(_in_window),
    JsonSchemaExtra({"pattern": DATE_PATTERN, "description": f"ISO 8601 date, {WINDOW}"}),
]

BoundedDateTime = Annotated[
    datetime,
    AfterValidator(_aware),
    JsonSchemaExtra(
        {
            "pattern": DATE_PATTERN,
            "description": f"ISO 8601 date and time, {WINDOW} (UTC when no offset is given)",
        }
    ),
]

#: Amounts are stored as Numeric(20, 4): at most 16 digits before the point and 4 after.
AMOUNT_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,4})?$"


def decimal_string(value: Any) -> str:
    """Money travels as a decimal string: a JSON number would lose cents as a float."""
    if not isinstance(value, str):
        raise ValueError("must be a decimal string such as '1250.00', not a JSON number")
    if re.fullmatch(AMOUNT_PATTERN, value) is None:
        raise ValueError(
            "must be a decimal string such as '1250.00': at most 16 digits before the point "
            "and 4 after"
        )
    try:
        Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise ValueError("must be a decimal string such as '1250.00'") from None
    return value


Money = Annotated[
    str,
    BeforeValidator(decimal_string),
    JsonSchemaExtra({"pattern": AMOUNT_PATTERN}),
    Field(
        description="Decimal string in the currency's major unit: at most 16 digits before "
        "the point and 4 after",
        examples=["1250.00"],
    ),
]
