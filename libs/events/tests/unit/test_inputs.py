"""Issue 7, part A: the bounds every service's inputs share (text, dates, amounts) and the
token claims of the wrong type. Each bound is a 422 (or a 401) naming the field, never a 500."""

from __future__ import annotations

import re
import time
from datetime import date

import jwt
import pytest
from pydantic import BaseModel, ValidationError

from amiable_events.auth import TokenVerifier
from amiable_events.errors import Unauthorized
from amiable_events.inputs import (
    AMOUNT_PATTERN,
    DATE_PATTERN,
    EARLIEST,
    LATEST,
    BoundedDate,
    BoundedDateTime,
    Money,
    Text,
)
from amiable_rules.late_fees import LateFeeRules

SECRET = "a-long-enough-test-secret-for-hs256-0123456789"


class Shape(BaseModel):
    name: Text(20) | None = None
    note: Text(50, min_length=0, multiline=True) | None = None
    on: BoundedDate | None = None
    at: BoundedDateTime | None = None
    amount: Money | None = None


def refused(**fields) -> dict:
    with pytest.raises(ValidationError) as error:
        Shape(**fields)
    [first] = error.value.errors()
    return first


@pytest.mark.parametrize(
    "value",
    ["a\x00b", "tab\there", "line\nbreak", "del\x7f", "c1\x85", "evil\u202etxt", "iso\u2066late"],
    ids=["nul", "tab", "newline", "del", "c1", "rlo", "isolate"],
)
def test_text_refuses_control_characters_and_bidi_overrides(value):
    error = refused(name=value)
    assert error["loc"] == ("name",)
    assert "control characters or bidirectional overrides" in error["msg"]


def test_multiline_text_keeps_line_breaks_and_tabs_but_not_nul():
    assert Shape(note="first line\n\tsecond").note == "first line\n\tsecond"
    assert refused(note="a\x00")["loc"] == ("note",)


def test_the_text_pattern_in_the_schema_says_the_same():
    pattern = Shape.model_json_schema()["properties"]["name"]["anyOf"][0]["pattern"]
    for value in ["Durand SAS", "é ü 中文", " padded "]:
        assert re.search(pattern, value) and Shape(name=value)
    for value in ["a\x00b", "evil\u202etxt", "   ", ""]:
        assert not re.search(pattern, value)


@pytest.mark.parametrize(
    "day", ["0001-01-01", "2016-12-31", "2100-01-01", "9995-06-01", "9999-12-31"]
)
def test_dates_outside_the_window_are_refused(day):
    error = refused(on=day)
    assert error["loc"] == ("on",)
    assert f"from {EARLIEST} to {LATEST}" in error["msg"]
    assert not re.search(DATE_PATTERN, day)


def test_dates_inside_the_window_pass_and_match_the_pattern():
    for day in (EARLIEST, LATEST, date(2040, 6, 15)):
        assert Shape(on=day.isoformat()).on == day
        assert re.search(DATE_PATTERN, day.isoformat())


def test_a_time_is_bounded_on_its_utc_instant_and_naive_means_utc():
    assert refused(at="0001-01-01T00:00:00+14:00")["loc"] == ("at",)
    assert refused(at="2017-01-01T00:00:00+14:00")["loc"] == ("at",)  # 2016-12-31 in UTC
    at = Shape(at="2040-06-15T12:00:00").at
    assert at.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    "amount",
    ["1" * 17, "1" + "0" * 27, "1.23456", "1e5", "-5", "NaN", "Infinity", " 1", "1."],
)
def test_amounts_beyond_the_storage_precision_are_refused(amount):
    error = refused(amount=amount)
    assert error["loc"] == ("amount",)
    assert not re.fullmatch(AMOUNT_PATTERN, amount)


def test_amounts_within_numeric_20_4_pass():
    assert Shape(amount="9" * 16 + ".9999").amount == "9" * 16 + ".9999"
    assert refused(amount=12)["msg"].endswith("not a JSON number")


def test_every_rate_table_covers_the_date_window():
    """A claim due on the window's first day can have its interest computed under every
    entry: no figure ever asks a table for a rate before its first row."""
    rules = LateFeeRules.load()
    for series in rules.series.values():
        first_late = EARLIEST
        half_year_eve = date(first_late.year - 1, 12, 31)
        assert series.rows[0][0] <= half_year_eve, series.name


def _token(**claims) -> str:
    return jwt.encode({"exp": int(time.time()) + 60, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"tenant": "acme", "scope": 7},
        {"tenant": "acme", "scope": None},
        {"tenant": "acme", "scope": ["claims:read", 3]},
        {"tenant": "acme", "scope": {"claims:read": True}},
        {"tenant": "ac\x00me", "scope": "claims:read"},
        {"tenant": "ac\u202eme", "scope": "claims:read"},
        {"tenant": " acme", "scope": "claims:read"},
        {"tenant": "a" * 101, "scope": "claims:read"},
        {"tenant": 42, "scope": "claims:read"},
        {"tenant": "acme", "scope": "claims:read", "sub": 5},
    ],
    ids=[
        "scope-number",
        "scope-null",
        "scope-list-with-number",
        "scope-object",
        "tenant-nul",
        "tenant-bidi",
        "tenant-padded",
        "tenant-too-long",
        "tenant-number",
        "sub-number",
    ],
)
async def test_a_token_claim_of_the_wrong_type_is_401(claims):
    with pytest.raises(Unauthorized) as problem:
        await TokenVerifier(secret=SECRET).verify(_token(**claims))
    assert problem.value.status == 401


async def test_a_scope_list_of_strings_is_accepted():
    principal = await TokenVerifier(secret=SECRET).verify(
        _token(tenant="x/claim", scope=["claims:read", "claims:write"])
    )
    assert principal.scopes == {"claims:read", "claims:write"}
