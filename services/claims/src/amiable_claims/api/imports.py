"""Bulk import: ``POST /v1/claims:import`` takes CSV (a documented flat header) or NDJSON,
parses each row into the registration body, and registers the valid ones."""

from __future__ import annotations

import csv
import io

import orjson
from fastapi import APIRouter, Request
from pydantic import ValidationError

from amiable_claims.api.deps import HandlerDep, WriterDep
from amiable_claims.api.models import (
    ClaimIn,
    ImportResult,
)
from amiable_claims.app.handlers import Registrations
from amiable_events.errors import TooLarge, UnsupportedMediaType

MAX_IMPORT_ROWS = 50_000

router = APIRouter(prefix="/v1/claims", tags=["claims"])


IMPORT_EXAMPLE_CSV = (
    "invoice_number,amount,currency,issued_on,due_on,debtor_id,debtor_legal_name,debtor_country,"
    "contact_name,contact_email\n"
    "INV-1,1200.00,EUR,2026-10-01,2026-10-31,C-42,Durand SAS,FR,Claire Martin,c@durand.example\n"
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


def _csv_body(record: dict[str, str]) -> dict:
    """One CSV row (flat, documented header) as the JSON body of POST /v1/claims."""
    value = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in record.items()}
    unknown = sorted(k for k in value if k not in CSV_COLUMNS)
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(unknown)}")
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


def _parse_rows(content_type: str, raw: bytes) -> list:
    """Each row as a ClaimIn, or as its list of field errors."""
    text = raw.decode("utf-8-sig", errors="replace")
    if content_type.startswith("text/csv"):
        reader = csv.DictReader(io.StringIO(text))
        records: list = list(reader)
        make = _csv_body
    elif content_type.startswith(("application/x-ndjson", "application/jsonl")):
        records = [line for line in text.splitlines() if line.strip()]
        make = orjson.loads
    else:
        raise UnsupportedMediaType("send text/csv or application/x-ndjson")
    if len(records) > MAX_IMPORT_ROWS:
        raise TooLarge(
            f"at most {MAX_IMPORT_ROWS} rows a request, got {len(records)}", title="Too many rows"
        )
    rows = []
    for record in records:
        try:
            rows.append(ClaimIn.model_validate(make(record)))
        except ValidationError as exc:
            rows.append(
                [
                    {
                        "field": ".".join(str(p) for p in e["loc"]),
                        "reason": e["msg"].removeprefix("Value error, "),
                    }
                    for e in exc.errors()
                ]
            )
        except (ValueError, TypeError) as exc:
            rows.append([{"field": "row", "reason": str(exc)}])
    return rows


@router.post(
    ":import",
    operation_id="importClaims",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": IMPORT_EXAMPLE_CSV,
                },
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"invoice_number": "INV-1", "amount": "1200.00", ...}\n',
                },
            },
        }
    },
    responses={
        413: {"description": "More than 50,000 rows"},
        415: {"description": "Not CSV/NDJSON"},
    },
)
async def import_claims(
    request: Request, principal: WriterDep, handler: HandlerDep
) -> ImportResult:
    """Register up to 50,000 claims from CSV (the header names the columns, see below) or NDJSON
    (one `POST /v1/claims` body per line). Each row gets its result: `created` (with the claim
    id), `duplicate` (the invoice number is already registered, with that claim's id) or
    `invalid` (each field with its reason). One bad row never blocks the others.

    CSV columns: invoice_number, amount, currency, issued_on, due_on, contract_reference,
    purchase_order, description, debtor_id, debtor_legal_name, debtor_registration_id,
    debtor_country, debtor_language, debtor_timezone, contact_name, contact_email,
    contact_phone, contact_role, address_line1, address_line2, address_postal_code,
    address_city, address_country, governing_law (`late_payment_terms`: NDJSON only)."""
    rows = _parse_rows(request.headers.get("content-type", ""), await request.body())
    results = await Registrations(handler).import_rows(principal.tenant, rows)
    counts = {status: 0 for status in ("created", "duplicate", "invalid")}
    for result in results:
        counts[result["status"]] += 1
    return ImportResult(**counts, rows=results)
