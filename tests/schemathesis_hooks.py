"""Schemathesis hooks of the fuzzing suite (``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``).

The services' dates carry a ``pattern`` that bounds their year (amiable_events.inputs: 2017 to
2099). Hypothesis draws a ``format: date`` from years 1 to 9999 and filters by the pattern, so
about one draw in a hundred would pass and generation would give up; these strategies draw
inside the window directly. They change how fast valid dates are found, not which dates are
valid: the negative phase still sends dates outside the window.
"""

from __future__ import annotations

from datetime import UTC, datetime

import schemathesis
from hypothesis import strategies as st

from amiable_events.inputs import EARLIEST, LATEST

schemathesis.openapi.format("date", st.dates(EARLIEST, LATEST).map(lambda d: d.isoformat()))
schemathesis.openapi.format(
    "date-time",
    st.datetimes(
        datetime(EARLIEST.year, 1, 2),
        datetime(LATEST.year, 12, 30),
        timezones=st.just(UTC),
    ).map(lambda moment: moment.isoformat()),
)


@schemathesis.check
def schema_valid_shape_accepted(ctx, response, case):
    """A request the schema accepts is never refused for its shape.

    Schemathesis' own ``positive_data_acceptance`` is told (tests/schemathesis.toml) that a 422
    may answer schema-valid data, because some rules cross fields or need the claim's state
    (an amount in the currency's minor units, a period whose start follows its end, a credit
    note of the whole principal) and no schema can state them. This check keeps the promise
    the schema makes: the service's answer to a request it could not parse, a 400, a 415, or
    the kit's 422 for a request that does not match its model ("N field(s) are invalid"),
    fails it.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    scenario = getattr(getattr(meta.phase, "data", None), "scenario", None)
    if scenario is not None and "unexpected" in str(scenario).lower():
        return None
    status = response.status_code
    if status in (400, 415):
        raise AssertionError(f"schema-valid request refused with {status}: {response.text}")
    if status == 422:
        detail = (response.json() or {}).get("detail", "")
        if detail.endswith("field(s) are invalid"):
            raise AssertionError(f"schema-valid request refused for its shape: {response.text}")
    return None
