"""Schemathesis hooks of the fuzzing suite (``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``).

Dates. The services' dates carry a ``pattern`` that bounds their year (amiable_events.inputs:
2017 to 2099). Hypothesis draws a ``format: date`` from years 1 to 9999 and filters by the
pattern, so about one draw in a hundred would pass and generation would give up; these
strategies draw inside the window directly. They change how fast valid dates are found, not
which dates are valid: the negative phase still sends dates outside the window.

Import files. ``POST /v1/claims:import`` takes text (CSV, NDJSON): its bodies go on the wire as
they are, like text/plain. A string drawn from ``type: string`` is almost never a CSV header
or a JSON line, so it would never get past the header check or the JSON parser; in the fuzzing
phase, a positive case of the import gets, instead, a file shaped like one (``import_file``):
a header of known columns in any order (sometimes a bad one), and rows whose every field is a
valid value or an odd one (control characters, quotes, CR and LF, other digits, dates that do
not exist, bytes that are not UTF-8), so that rows reach the model, the rules and the append.

Seeded debtors. A ``debtor_id`` drawn from its schema is almost never one the service knows,
so every read would be a 404 and every command would act on an empty account. A test that
seeded debtors names them in ``AMIABLE_FUZZ_DEBTORS`` (comma-separated), and a positive case
with a ``debtor_id`` in its path gets one of them half the time (``seeded_debtor``). The
disputes test names its claims and disputes likewise (``AMIABLE_FUZZ_CLAIMS``,
``AMIABLE_FUZZ_DISPUTES``): half the positive cases open a dispute on a seeded claim or act on a
seeded dispute (``seeded_claim_or_dispute``). The dunning test names its claims, its policy, the
policy's version and steps (``AMIABLE_FUZZ_CLAIMS``, ``AMIABLE_FUZZ_POLICIES``,
``AMIABLE_FUZZ_VERSIONS``, ``AMIABLE_FUZZ_STEPS``): half the positive cases read or approve on a
seeded claim, activate or simulate a seeded version (``seeded_claim_policy_or_step``). The
communications test names its claims, its debtor and its messages (``AMIABLE_FUZZ_CLAIMS``,
``AMIABLE_FUZZ_DEBTORS``, ``AMIABLE_FUZZ_COMMUNICATIONS``): half the positive cases read or act
on a seeded message or call task, or list a seeded claim's messages (``seeded_communication``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime

import schemathesis
from hypothesis import strategies as st

from amiable_claims.api.imports import CSV_COLUMNS, REQUIRED_CSV_COLUMNS
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


# The import route's bodies are text: sent as they are, like text/plain.
schemathesis.serializer.alias(
    ["text/csv", "application/x-ndjson", "application/jsonl"], "text/plain"
)

#: Any short text: control characters, quotes, separators, CR and LF, any script.
ODD = st.text(max_size=12)
#: Text a free-text field takes.
TEXT = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), min_size=1, max_size=20
)
#: Per column: (valid values, values just off).
VALUES: dict[str, tuple[st.SearchStrategy, st.SearchStrategy]] = {
    "invoice_number": (st.from_regex(r"\AINV-[0-9]{1,3}\Z"), st.just("INV\u202e1")),
    "amount": (
        st.sampled_from(["1200.50", "0.01", "1", "9" * 16 + ".99"]),
        st.sampled_from(["0", "-5", "1.005", "1" * 17, "1e3", "NaN", "١٢٣", " 1"]),
    ),
    "currency": (
        st.sampled_from(["EUR", "GBP", "JPY", "BHD"]),
        st.sampled_from(["eur", "XXX", ""]),
    ),
    "issued_on": (
        st.dates(EARLIEST, LATEST).map(lambda d: d.isoformat()),
        st.sampled_from(["2026-02-30", "2016-12-31", "2100-01-01", "0001-01-01", "2026-1-1"]),
    ),
    "debtor_id": (st.from_regex(r"\AC-[0-9]{1,2}\Z"), st.just(" ")),
    "debtor_legal_name": (st.sampled_from(["Durand SAS", "Müller GmbH", "株式会社"]), TEXT),
    "debtor_registration_id": (st.just("732829320"), st.sampled_from(["732829321", "HRB 1"])),
    "debtor_country": (
        st.sampled_from(["FR", "DE", "GB", "IT", "JP", "IN"]),
        st.sampled_from(["US", "fr", "XX"]),
    ),
    "debtor_language": (st.sampled_from(["fr-FR", "en", "de-DE"]), st.just("x" * 40)),
    "debtor_timezone": (
        st.sampled_from(["Europe/Paris", "America/New_York", "UTC"]),
        st.sampled_from(["../etc/passwd", "Mars/Olympus"]),
    ),
    "contact_email": (
        st.sampled_from(["c@durand.example", "a.b@c.d.example"]),
        st.sampled_from(["nobody", "@x.y", "a@b", '"a b"@c.example']),
    ),
    "contact_phone": (st.just("+33612345678"), st.sampled_from(["0612345678", "+0"])),
    "address_country": (st.sampled_from(["FR", "DE"]), st.just("XX")),
    "governing_law": (st.sampled_from(["FR", "DE", "GB", "IT", "none"]), st.just("XX")),
}
VALUES["due_on"] = VALUES["issued_on"]
TERMS = st.fixed_dictionaries(
    {},
    optional={
        "interest": st.fixed_dictionaries(
            {"kind": st.sampled_from(["fixed", "reference_plus"] * 4 + ["other"])},
            optional={
                "rate": st.sampled_from(["12.00", "0", "999.9999", "1000"]),
                "margin": st.sampled_from(["5", "-3.5", "-999"]),
                "reference": st.sampled_from(["ECB_MRO", "BOE_BANK_RATE", "DE_BASISZINSSATZ"]),
            },
        ),
        "fixed_fee": st.sampled_from(["40.00", "0", "0.001"]),
    },
)
#: Any JSON value, for a field of an NDJSON line or a line of its own (written by the standard
#: library: integers past 64 bits, NaN and Infinity as they come).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ODD,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def record(draw, columns: list[str], odd: st.SearchStrategy = ODD) -> dict:
    """One row's values by column. Half the rows are valid throughout (dates in order, an
    amount every currency takes); in the others each value is valid eight times in ten, just
    off once (an amount in other digits, a day that does not exist...) and anything once."""
    if draw(st.booleans()):
        values = {c: draw(VALUES.get(c, (TEXT, TEXT))[0]) for c in columns}
        values["issued_on"], values["due_on"] = sorted([values["issued_on"], values["due_on"]])
        values["amount"] = "1200"
        return values
    values = {}
    for column in columns:
        valid, off = VALUES.get(column, (TEXT, TEXT))
        values[column] = draw(draw(st.sampled_from([valid] * 8 + [off, odd])))
    return values


@st.composite
def csv_file(draw) -> bytes:
    optional = [c for c in CSV_COLUMNS if c not in REQUIRED_CSV_COLUMNS]
    header = REQUIRED_CSV_COLUMNS + draw(st.lists(st.sampled_from(optional), unique=True))
    header = draw(st.permutations(header))
    rows = [[r[c] for c in header] for r in draw(st.lists(record(header), max_size=5))]
    if draw(st.integers(0, 9)) == 0:  # now and then a header the service refuses
        header = draw(st.sampled_from([header[1:], [*header, header[0]], [*header, "x"]]))
    out = io.StringIO()
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    csv.writer(out, lineterminator=newline).writerows([header, *rows])
    return draw(odd_bytes(out.getvalue()))


@st.composite
def claim_line(draw) -> str:
    """One POST /v1/claims body as a JSON line; a field just off may be any JSON value."""
    columns = [c for c in CSV_COLUMNS if not c.startswith("address_")]
    values = draw(record(columns, JSON))
    body = {c: values[c] for c in columns if not c.startswith(("debtor_", "contact_"))}
    debtor = {c.removeprefix("debtor_"): values[c] for c in columns if c.startswith("debtor_")}
    contact = {c.removeprefix("contact_"): values[c] for c in columns if c.startswith("contact_")}
    body["debtor"] = {**debtor, "contacts": [contact]}
    if draw(st.booleans()):
        body["late_payment_terms"] = draw(TERMS)
    for key in draw(st.lists(st.sampled_from(sorted(body)), max_size=2, unique=True)):
        del body[key]
    return json.dumps(body, ensure_ascii=False)


@st.composite
def ndjson_file(draw) -> bytes:
    odd_line = JSON.map(lambda v: json.dumps(v, ensure_ascii=False)) | ODD | st.just("")
    lines = [
        draw(draw(st.sampled_from([claim_line()] * 4 + [odd_line])))
        for _ in range(draw(st.sampled_from([1, 2, 3, 5, 0])))
    ]
    return draw(odd_bytes("\n".join(lines)))


@st.composite
def odd_bytes(draw, text: str) -> bytes:
    """The file as UTF-8, now and then with a BOM, or a byte that is not UTF-8 put in."""
    data = text.encode()
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return b"\xef\xbb\xbf" + data
    if kind == 1:
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00"])) + data[at:]
    return data


@schemathesis.hook("flatmap_case").apply_to(operation_id="importClaims")
def import_file(ctx, case):
    """A positive case of the import gets a file shaped like one of its media type."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return st.just(case)
    shaped = csv_file() if (case.media_type or "").startswith("text/csv") else ndjson_file()

    def with_body(body: bytes):
        case.body = body
        return case

    return shaped.map(with_body)


#: The debtor ids the fuzzing test seeded, if it did.
SEEDED_DEBTORS = list(filter(None, os.environ.get("AMIABLE_FUZZ_DEBTORS", "").split(",")))


@schemathesis.hook("flatmap_case")
def seeded_debtor(ctx, case):
    """Half the positive cases with a ``debtor_id`` in their path name a seeded debtor."""
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    if not (SEEDED_DEBTORS and positive and "debtor_id" in (case.path_parameters or {})):
        return st.just(case)

    def with_debtor(debtor_id: str | None):
        if debtor_id is not None:
            case.path_parameters = {**case.path_parameters, "debtor_id": debtor_id}
        return case

    return st.sampled_from([None] * len(SEEDED_DEBTORS) + SEEDED_DEBTORS).map(with_debtor)


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
    if None in (case.path_parameters or {}).values():
        # A stateful link took a null from an answer (the `claim_id` of an invalid import row)
        # and the path says "None": the request is not one the schema accepts.
        return None
    status = response.status_code
    if status in (400, 415):
        raise AssertionError(f"schema-valid request refused with {status}: {response.text}")
    if status == 422:
        detail = (response.json() or {}).get("detail", "")
        if detail.endswith("field(s) are invalid"):
            raise AssertionError(f"schema-valid request refused for its shape: {response.text}")
    return None


#: The claims and disputes the disputes fuzzing test seeded, if it did.
SEEDED_CLAIMS = list(filter(None, os.environ.get("AMIABLE_FUZZ_CLAIMS", "").split(",")))
SEEDED_DISPUTES = list(filter(None, os.environ.get("AMIABLE_FUZZ_DISPUTES", "").split(",")))


@schemathesis.hook("flatmap_case")
def seeded_claim_or_dispute(ctx, case):
    """Half the positive cases with a ``dispute_id`` in their path, or a ``claim_id`` in their
    body, name a seeded dispute or claim: a drawn id is never one the service knows, so without
    them every dispute command would stop at its 404, before the deciders."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return st.just(case)
    if SEEDED_DISPUTES and "dispute_id" in (case.path_parameters or {}):

        def with_dispute(dispute_id: str | None):
            if dispute_id is not None:
                case.path_parameters = {**case.path_parameters, "dispute_id": dispute_id}
            return case

        return st.sampled_from([None] * len(SEEDED_DISPUTES) + SEEDED_DISPUTES).map(with_dispute)
    if SEEDED_CLAIMS and isinstance(case.body, dict) and "claim_id" in case.body:

        def with_claim(claim_id: str | None):
            if claim_id is not None:
                case.body = {**case.body, "claim_id": claim_id}
            return case

        return st.sampled_from([None] * len(SEEDED_CLAIMS) + SEEDED_CLAIMS).map(with_claim)
    return st.just(case)


#: The policies, policy versions and steps the dunning fuzzing test seeded, if it did.
SEEDED_POLICIES = list(filter(None, os.environ.get("AMIABLE_FUZZ_POLICIES", "").split(",")))
SEEDED_VERSIONS = list(filter(None, os.environ.get("AMIABLE_FUZZ_VERSIONS", "").split(",")))
SEEDED_STEPS = list(filter(None, os.environ.get("AMIABLE_FUZZ_STEPS", "").split(",")))


def _half(seeded: list[str]) -> st.SearchStrategy[str | None]:
    """A seeded value half the time, else None (keep the drawn one)."""
    return st.sampled_from([None] * len(seeded) + seeded)


@schemathesis.hook("flatmap_case")
def seeded_claim_policy_or_step(ctx, case):
    """Half the positive cases with a ``claim_id`` or ``policy_id`` in their path name a seeded
    claim or policy, and half those with a ``step`` or a ``version`` in their body a seeded step
    or policy version: without them every dunning read and approval would stop at its 404, and
    every activation and simulation at the unknown version."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return st.just(case)
    path = case.path_parameters or {}
    body = case.body if isinstance(case.body, dict) else {}
    in_path = {
        name: _half(seeded)
        for name, seeded in (("claim_id", SEEDED_CLAIMS), ("policy_id", SEEDED_POLICIES))
        if seeded and name in path
    }
    in_body = {
        name: _half(seeded)
        for name, seeded in (("step", SEEDED_STEPS), ("version", SEEDED_VERSIONS))
        if seeded and name in body
    }
    if not in_path and not in_body:
        return st.just(case)

    def with_seeded(values: tuple[dict, dict]):
        paths, fields = ({k: v for k, v in d.items() if v is not None} for d in values)
        if paths:
            case.path_parameters = {**case.path_parameters, **paths}
        if fields:
            case.body = {**case.body, **fields}
        return case

    return st.tuples(st.fixed_dictionaries(in_path), st.fixed_dictionaries(in_body)).map(
        with_seeded
    )


#: The messages the communications fuzzing test seeded, if it did.
SEEDED_COMMUNICATIONS = list(
    filter(None, os.environ.get("AMIABLE_FUZZ_COMMUNICATIONS", "").split(","))
)


@schemathesis.hook("flatmap_case")
def seeded_communication(ctx, case):
    """Half the positive cases with a ``communication_id`` or ``task_id`` in their path name a
    seeded message, and half those with a ``claim_id`` in their query a seeded claim: without
    them every read of one message, decision, outcome and tracking number would stop at its
    404, and every list by claim would be empty."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return st.just(case)
    path = case.path_parameters or {}
    query = case.query or {}
    in_path = {
        name: _half(SEEDED_COMMUNICATIONS)
        for name in ("communication_id", "task_id")
        if SEEDED_COMMUNICATIONS and name in path
    }
    in_query = {"claim_id": _half(SEEDED_CLAIMS)} if SEEDED_CLAIMS and "claim_id" in query else {}
    if not in_path and not in_query:
        return st.just(case)

    def with_seeded(values: tuple[dict, dict]):
        paths, queries = ({k: v for k, v in d.items() if v is not None} for d in values)
        if paths:
            case.path_parameters = {**case.path_parameters, **paths}
        if queries:
            case.query = {**case.query, **queries}
        return case

    return st.tuples(st.fixed_dictionaries(in_path), st.fixed_dictionaries(in_query)).map(
        with_seeded
    )
