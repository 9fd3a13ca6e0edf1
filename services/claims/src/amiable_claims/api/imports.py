"""Bulk import: ``POST /v1/claims:import`` takes CSV (a documented flat header) or NDJSON,
parses each row into the registration body, and registers the valid ones."""

from __future__ import annotations

import asyncio
import csv
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError

from amiable_claims.api.deps import HandlerDep, WriterDep
from amiable_claims.api.models import (
    ClaimIn,
    ImportResult,
)
from amiable_claims.app.handlers import Registrations
from amiable_events.errors import Invalid, TooLarge, UnsupportedMediaType

MAX_IMPORT_ROWS = 50_000

#: The media types taken (the type and subtype, any case) and how each is read.
MEDIA_TYPES = {"text/csv": "csv", "application/x-ndjson": "ndjson", "application/jsonl": "ndjson"}
#: The charsets a ``charset`` parameter may name: the body is read as UTF-8.
CHARSETS = ("utf-8", "utf8", "us-ascii")

router = APIRouter(prefix="/v1/claims", tags=["claims"])


IMPORT_EXAMPLE_CSV = (
    "invoice_number,amount,currency,issued_on,due_on,debtor_id,debtor_legal_name,debtor_country,"
    "contact_name,contact_email\n"
    "INV-1,1200.00,EUR,2026-10-01,2026-10-31,C-42,Durand SAS,FR,Claire Martin,c@durand.example\n"
)
IMPORT_EXAMPLE_NDJSON = (
    '{"invoice_number": "INV-1", "amount": "1200.00", "currency": "EUR", '
    '"issued_on": "2026-10-01", "due_on": "2026-10-31", "debtor": {"id": "C-42", '
    '"legal_name": "Durand SAS", "country": "FR", '
    '"contacts": [{"name": "Claire Martin", "email": "c@durand.example"}]}}\n'
)

CSV_COLUMNS = [
    "invoice_number",
    "amount",
    "currency",
    "issued_on",
    "due_on",
    "contract_reference",
    "purchase_order",
    "description",
    "debtor_id",
    "debtor_legal_name",
    "debtor_registration_id",
    "debtor_country",
    "debtor_language",
    "debtor_timezone",
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_role",
    "address_line1",
    "address_line2",
    "address_postal_code",
    "address_city",
    "address_country",
    "governing_law",
]
#: The columns a CSV header must name: without one of them, no row of the file could register.
REQUIRED_CSV_COLUMNS = [
    "invoice_number",
    "amount",
    "currency",
    "issued_on",
    "due_on",
    "debtor_id",
    "debtor_legal_name",
    "debtor_country",
]


def _shown(names: list[str]) -> str:
    """Column names for a reason: each quoted and cut at 40 characters, at most 5 of them."""
    quoted = [repr(n[:40] + "..." if len(n) > 40 else n) for n in names[:5]]
    return ", ".join(quoted) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def header_problem(header: list[str]) -> str | None:
    """Why a CSV header makes the whole file unusable, or None when it names usable columns.

    Every row is read by the header's names, so a header that names no known column, names
    one twice (which value would count?) or lacks a required one would make every row
    invalid: the file is refused (422) instead, with the reason, and nothing is registered.
    """
    if not any(name.strip() for name in header):
        return "the first line is blank: it must name the columns (invoice_number, amount, ...)"
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        return f"unknown column(s): {_shown(unknown)}; the columns are {', '.join(CSV_COLUMNS)}"
    twice = sorted(name for name, times in Counter(header).items() if times > 1)
    if twice:
        return f"column(s) named twice: {_shown(twice)}"
    missing = [name for name in REQUIRED_CSV_COLUMNS if name not in header]
    if missing:
        return f"missing required column(s): {', '.join(missing)}"
    return None


def _ndjson_body(line: str) -> Any:
    """One NDJSON line as the JSON body of POST /v1/claims."""
    value = orjson.loads(line)
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        raise ValueError(
            "not a JSON object: each line is one POST /v1/claims body, not "
            + kind.get(type(value), "a number")
        )
    return value


def _csv_body(record: dict[str, str]) -> dict:
    """One CSV row (flat, documented header) as the JSON body of POST /v1/claims."""
    value = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in record.items()}
    contact = {
        k.removeprefix("contact_"): value[k]
        for k in ("contact_name", "contact_email", "contact_phone", "contact_role")
        if value.get(k)
    }
    address = None
    if value.get("address_line1") or value.get("address_city"):
        address = {
            "lines": [
                line for line in (value.get("address_line1"), value.get("address_line2")) if line
            ],
            "postal_code": value.get("address_postal_code"),
            "city": value.get("address_city"),
            "country": value.get("address_country") or value.get("debtor_country"),
        }
    debtor = {
        "id": value.get("debtor_id"),
        "legal_name": value.get("debtor_legal_name"),
        "registration_id": value.get("debtor_registration_id"),
        "country": value.get("debtor_country"),
        "language": value.get("debtor_language"),
        "timezone": value.get("debtor_timezone"),
        "contacts": [contact] if contact else [],
        "postal_address": address,
    }
    body = {
        k: value.get(k)
        for k in (
            "invoice_number",
            "amount",
            "currency",
            "issued_on",
            "due_on",
            "contract_reference",
            "purchase_order",
            "description",
            "governing_law",
        )
    }
    return {**{k: v for k, v in body.items() if v is not None}, "debtor": debtor}


class _Rows:
    """Each row of the body as a ClaimIn, or as its list of field errors.

    Runs in a worker thread (the parse and the validation of 50,000 rows would hold the event
    loop for seconds); the body arrives chunk by chunk through ``chunks``, so the raw text is
    never held whole. A row that cannot be read (bytes that are not UTF-8, a CR or LF inside
    an unquoted field, a field over the csv module's 128 KB limit, a line that is not JSON) is
    an invalid row of its own; the rows after it are still read.
    """

    def __init__(self) -> None:
        self.rows: list = []
        self.undecodable: str | None = None  # why the last line read is not text, if it is not

    def lines(self, chunks: Iterator[bytes]) -> Iterator[str]:
        """The body's lines (ending in LF), decoded one by one so a bad byte names its row."""
        start: list[bytes] = []  # the pieces of the line not yet ended, from earlier chunks
        first = True
        for chunk in chunks:
            *ended, rest = chunk.split(b"\n")
            if ended:
                ended[0] = b"".join([*start, ended[0]])
                start = []
                for line in ended:
                    yield self._decode(line + b"\n", first)
                    first = False
            start.append(rest)
        if last := b"".join(start):
            yield self._decode(last, first)

    def _decode(self, line: bytes, first: bool) -> str:
        try:
            return line.decode("utf-8-sig" if first else "utf-8")
        except UnicodeDecodeError as exc:
            self.undecodable = f"not UTF-8: byte 0x{line[exc.start]:02x} at column {exc.start + 1}"
            return line.decode("utf-8", errors="replace")

    def add(self, make: Callable[[Any], Any], record: Any) -> None:
        if len(self.rows) >= MAX_IMPORT_ROWS:
            raise TooLarge(f"at most {MAX_IMPORT_ROWS} rows a request", title="Too many rows")
        if self.undecodable:
            self.invalid("row", self.undecodable)
            return
        try:
            self.rows.append(ClaimIn.model_validate(make(record)))
        except ValidationError as exc:
            self.rows.append(
                [
                    {
                        "field": ".".join(str(p) for p in e["loc"]) or "row",
                        "reason": e["msg"].removeprefix("Value error, "),
                    }
                    for e in exc.errors()
                ]
            )
        except (ValueError, TypeError) as exc:
            self.invalid("row", str(exc))

    def invalid(self, field: str, reason: str) -> None:
        self.rows.append([{"field": field, "reason": reason}])
        self.undecodable = None

    def csv(self, chunks: Iterator[bytes]) -> list:
        reader = csv.reader(self.lines(chunks))
        try:
            header = next(reader)
        except StopIteration:
            raise Invalid.field(
                "header", "the body is empty: a CSV file starts with a header naming its columns"
            ) from None
        except csv.Error as exc:
            raise Invalid.field("header", f"unreadable CSV header: {exc}") from exc
        if self.undecodable:
            raise Invalid.field("header", self.undecodable)
        if problem := header_problem(header):
            raise Invalid.field("header", problem)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return self.rows
            except csv.Error as exc:
                # The reader drops the rest of the line and goes on with the next one.
                self.invalid("row", f"unreadable CSV: {exc}; quote a field holding CR or LF")
                continue
            if not values:  # a blank line
                self.undecodable = None
                continue
            if len(values) > len(header):
                self.invalid("row", f"{len(values)} fields, the header names {len(header)}")
                continue
            self.add(_csv_body, dict(zip(header, values, strict=False)))

    def ndjson(self, chunks: Iterator[bytes]) -> list:
        for line in self.lines(chunks):
            if line.strip():
                self.add(_ndjson_body, line)
            self.undecodable = None
        return self.rows


def _parse_rows(kind: str, chunks: Iterator[bytes]) -> list:
    """Each row as a ClaimIn, or as its list of field errors (in a worker thread)."""
    if kind == "csv":
        return _Rows().csv(chunks)
    return _Rows().ndjson(chunks)


def body_kind(content_type: str) -> str:
    """``csv`` or ``ndjson``, from a Content-Type; 415 for any other type or charset."""
    essence, *parameters = content_type.split(";")
    kind = MEDIA_TYPES.get(essence.strip().lower())
    if kind is None:
        raise UnsupportedMediaType("send text/csv or application/x-ndjson")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in CHARSETS:
            raise UnsupportedMediaType(
                f"the body is read as UTF-8: charset {_shown([charset])} is not taken"
            )
    return kind


def _blocking_chunks(request: Request, loop: asyncio.AbstractEventLoop) -> Iterator[bytes]:
    """The request body as it streams in, for a worker thread: each chunk is awaited on the
    event loop, which stays free in between."""
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        return await anext(stream, None)

    while (chunk := asyncio.run_coroutine_threadsafe(next_chunk(), loop).result()) is not None:
        if chunk:
            yield chunk


_CSV_BODY = (
    "UTF-8 text (a BOM is skipped), lines ending in LF or CRLF. The first line is the header: "
    f"it names each column once, among {', '.join(CSV_COLUMNS)}, in any order, and names at "
    f"least {', '.join(REQUIRED_CSV_COLUMNS)}. Each further line is a row; a field holding a "
    "comma, a quote, CR or LF is quoted (RFC 4180); an empty field is left out; blank lines are "
    "skipped."
)
_NDJSON_BODY = (
    "UTF-8 text, one JSON object per line: the body of `POST /v1/claims` (including "
    "`late_payment_terms`). Blank lines are skipped; an empty body imports nothing."
)


@router.post(
    ":import",
    operation_id="importClaims",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": f"At most {MAX_IMPORT_ROWS:,} rows and AMIABLE_MAX_IMPORT_BYTES "
            "(16 MiB by default). A `charset` parameter, if any, names UTF-8.",
            "content": {
                "text/csv": {
                    "schema": {"type": "string", "description": _CSV_BODY},
                    "example": IMPORT_EXAMPLE_CSV,
                },
                "application/x-ndjson": {
                    "schema": {"type": "string", "description": _NDJSON_BODY},
                    "example": IMPORT_EXAMPLE_NDJSON,
                },
                "application/jsonl": {
                    "schema": {"type": "string", "description": _NDJSON_BODY},
                    "example": IMPORT_EXAMPLE_NDJSON,
                },
            },
        }
    },
    responses={
        200: {
            "description": "The file was read: the counts and one result per row, in file "
            "order (a file of no rows answers zero counts)"
        },
        413: {
            "description": f"More than {MAX_IMPORT_ROWS:,} rows, or a body over "
            "AMIABLE_MAX_IMPORT_BYTES; nothing is registered"
        },
        415: {
            "description": "A Content-Type other than text/csv, application/x-ndjson or "
            "application/jsonl, or a charset other than UTF-8"
        },
        422: {
            "description": "The file as a whole is unusable and nothing is registered: a CSV "
            "body that is empty, or whose header is blank, not UTF-8, not readable as CSV, "
            "names an unknown column or a column twice, or lacks a required column "
            "(`errors[0].field` is `header`, with the reason). A bad row is never a 422: it "
            "is an `invalid` row of the 200."
        },
    },
)
async def import_claims(
    request: Request, principal: WriterDep, handler: HandlerDep
) -> ImportResult:
    """Register up to 50,000 claims from CSV (the header names the columns, see below) or NDJSON
    (one `POST /v1/claims` body per line; `application/jsonl` is taken as NDJSON). Each row gets
    its result: `created` (with the claim id), `duplicate` (the invoice number is already
    registered, with that claim's id) or `invalid` (each field with its reason; `row` when the
    row as a whole cannot be read: bytes that are not UTF-8, a line that is not a JSON object,
    more fields than the header names, a CR or LF in an unquoted field). One bad row never
    blocks the others. A file that cannot be read at all (a CSV body without a usable header)
    is a 422 naming `header`, and nothing of it is registered.

    CSV columns: invoice_number, amount, currency, issued_on, due_on, contract_reference,
    purchase_order, description, debtor_id, debtor_legal_name, debtor_registration_id,
    debtor_country, debtor_language, debtor_timezone, contact_name, contact_email,
    contact_phone, contact_role, address_line1, address_line2, address_postal_code,
    address_city, address_country, governing_law (`late_payment_terms`: NDJSON only). The
    header names each column it uses once, in any order, and at least invoice_number, amount,
    currency, issued_on, due_on, debtor_id, debtor_legal_name and debtor_country."""
    kind = body_kind(request.headers.get("content-type", ""))
    chunks = _blocking_chunks(request, asyncio.get_running_loop())
    rows = await asyncio.to_thread(_parse_rows, kind, chunks)
    results = await Registrations(handler).import_rows(principal.tenant, rows)
    counts = {status: 0 for status in ("created", "duplicate", "invalid")}
    for result in results:
        counts[result["status"]] += 1
    return ImportResult(**counts, rows=results)
