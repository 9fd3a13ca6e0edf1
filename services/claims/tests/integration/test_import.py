"""Bulk import: a few hundred rows, some bad and some duplicates, counted exactly; and the
`amiable import` command with its summary. The import rate on 50,000 rows is measured by
`make bench`, not here."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import httpx
import orjson
import pytest

from tests.claims_givens import portfolio_csv
from tests.support import ROOT, auth, read_topic

pytestmark = pytest.mark.integration

ROWS = 600


async def test_rows_with_bad_ones_and_duplicates_are_counted_exactly(
    fresh_topic, service_process, unique
):
    topic = await fresh_topic("import")
    service = (
        service_process(
            "claims",
            topic=topic,
            projection_schema=f"import_{unique}",
            consumer_group=f"imp-{unique}",
        )
        .start()
        .wait_ready()
    )
    body, expected = portfolio_csv(ROWS, issued_on=service.today - timedelta(days=84))
    # every 100th row is bad (rows 100, 300, 500: amount; 200, 400, 600: email), rows 251 and
    # 501 repeat row 2's invoice number
    assert expected == {"created": 592, "duplicate": 2, "invalid": 6}
    headers = {**auth(f"imp-{unique}", "claims:write", "claims:read"), "Content-Type": "text/csv"}
    async with httpx.AsyncClient(base_url=service.url, timeout=120) as api:
        answer = await api.post("/v1/claims:import", content=body.encode(), headers=headers)
        assert answer.status_code == 200, answer.text[:2000]
        result = answer.json()
        assert {k: result[k] for k in expected} == expected
        rows = result["rows"]
        assert len(rows) == ROWS
        assert rows[99] == {
            "row": 100,
            "status": "invalid",
            "claim_id": None,
            "invoice_number": None,
            "errors": [
                {
                    "field": "amount",
                    "reason": "must be a decimal string such as '1250.00': at most 16 digits "
                    "before the point and 4 after",
                }
            ],
        }
        assert rows[199]["errors"][0]["field"] == "debtor.contacts.0.email"
        assert rows[250]["status"] == "duplicate"
        assert rows[250]["claim_id"] == rows[1]["claim_id"]
        assert [r["row"] for r in rows if r["status"] == "duplicate"] == [251, 501]
        created = rows[0]
        claim = await api.get(f"/v1/claims/{created['claim_id']}", headers=headers)
        assert claim.status_code == 200
        assert claim.json()["status"] == "qualified"
        again = await api.post("/v1/claims:import", content=body.encode()[:2000], headers=headers)
        assert {r["status"] for r in again.json()["rows"]} <= {"duplicate", "invalid"}


async def test_the_import_command_shows_a_summary(fresh_topic, service_process, unique, tmp_path):
    topic = await fresh_topic("import-cli")
    service = (
        service_process(
            "claims",
            topic=topic,
            projection_schema=f"impcli_{unique}",
            consumer_group=f"ic-{unique}",
        )
        .start()
        .wait_ready()
    )
    body, expected = portfolio_csv(
        1_200, bad_every=100, duplicate_every=500, issued_on=service.today - timedelta(days=84)
    )
    # Row 100's bad amount spans two lines inside its quotes: one record, not two.
    assert body.count('"12,50"') == 6
    body = body.replace('"12,50"', '"12\n50"', 1)
    source = tmp_path / "claims.csv"
    source.write_text(body)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    report = tmp_path / "report.json"
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "amiable_cli.main",
            "import",
            str(source),
            "--tenant",
            f"cli-{unique}",
            "--url",
            service.url,
            "--chunk",
            "500",
            "--report",
            str(report),
        ],
        env=service.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"1200 rows: {expected['created']} created, {expected['duplicate']} duplicate, "
        f"{expected['invalid']} invalid" in result.stdout
    )
    assert "row 100: amount: must be a decimal string" in result.stdout
    assert report.exists()
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "amiable_cli.main", "import", str(empty), "--tenant", "t"],
        env=service.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (refused.returncode, refused.stdout.strip()) == (1, f"{empty}: empty, no header line")


HEADER = (
    "invoice_number,amount,currency,issued_on,due_on,debtor_id,debtor_legal_name,debtor_country"
)
ROW = "ODD-1,120.00,EUR,2026-10-01,2026-10-31,D-1,Durand SAS,FR"
REGISTERED = b"amiable.claims.claim-registered.v1"
#: Odd bodies (among them what the fuzzer sends as "negative" bodies: {}, [], 0, null as text)
#: and their answers: a 422 naming the header, with its reason, when the file as a whole cannot
#: be read; a 200 with each row's result when only rows are bad (here, per row, its first
#: invalid field and the start of its reason); a 415 for a media type or charset not taken.
ODD_BODIES = [
    ("text/csv", b"{}", 422, "unknown column(s): '{}'"),
    ("text/csv", b"0", 422, "unknown column(s): '0'"),
    ("text/csv", b"", 422, "the body is empty"),
    ("text/csv", b"\n" + ROW.encode(), 422, "the first line is blank"),
    ("text/csv", ROW.encode(), 422, "unknown column(s): 'ODD-1', '120.00'"),
    ("text/csv", HEADER.replace("invoice_number,", "").encode(), 422, "missing required"),
    ("text/csv", f"{HEADER},amount\n{ROW},1".encode(), 422, "named twice: 'amount'"),
    ("text/csv", HEADER.encode() + b",\xff\n" + ROW.encode(), 422, "not UTF-8: byte 0xff"),
    ("text/csv", b"invoice_number,amount\r,currency\n", 422, "unreadable CSV header"),
    ("text/csv", HEADER.encode(), 200, []),
    ("text/csv", f"{HEADER}\n{ROW},extra".encode(), 200, [("row", "9 fields")]),
    ("Text/CSV; charset=UTF-8", HEADER.encode(), 200, []),
    ("application/x-ndjson", b"{}", 200, [("invoice_number", "Field required")]),
    (
        "application/x-ndjson",
        b'[]\n0\nnull\n"x"',
        200,
        [("row", "not a JSON object: each line is one POST /v1/claims body, not ")] * 4,
    ),
    ("application/x-ndjson", b"", 200, []),
    ("application/x-ndjson", b"\n \n", 200, []),
    ("application/x-ndjson", b"\xff", 200, [("row", "not UTF-8")]),
    ("application/x-ndjson", b"[" * 2000, 200, [("row", "")]),
    ("application/jsonl", b"true", 200, [("row", "not a JSON object")]),
    ("text/csv; charset=latin-1", HEADER.encode(), 415, "charset 'latin-1'"),
    ("text/csvx", HEADER.encode(), 415, "send text/csv"),
    ("application/json", b"{}", 415, "send text/csv"),
]


async def test_odd_bodies_get_their_documented_answer_and_append_nothing(
    fresh_topic, service_process, unique, infra
):
    """Issue 7 on the import route: no 5xx, the answers its OpenAPI documents, and not one
    event on the log for any of them; a good line afterwards is registered (nothing of the
    refused files was reserved)."""
    topic = await fresh_topic("odd")
    service = (
        service_process(
            "claims",
            topic=topic,
            projection_schema=f"odd_{unique}",
            consumer_group=f"odd-{unique}",
            read_your_writes_timeout="60",  # the good line's answer, on a busy machine
        )
        .start()
        .wait_ready()
    )
    headers = auth(f"odd-{unique}", "claims:write")
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
        for content_type, body, status, expected in ODD_BODIES:
            answer = await api.post(
                "/v1/claims:import", content=body, headers={**headers, "Content-Type": content_type}
            )
            case = (content_type, body[:60], answer.text[:500])
            assert answer.status_code == status, case
            if status != 200:
                assert answer.headers["content-type"] == "application/problem+json", case
                assert expected in answer.json()["detail"], case
                if status == 422:
                    assert answer.json()["errors"][0]["field"] == "header", case
                continue
            result = answer.json()
            assert (result["created"], result["duplicate"]) == (0, 0), case
            assert result["invalid"] == len(result["rows"]) == len(expected), case
            for row, (field, reason) in zip(result["rows"], expected, strict=True):
                assert row["status"] == "invalid", case
                assert row["errors"][0]["field"] == field, case
                assert row["errors"][0]["reason"].startswith(reason), case
        assert await read_topic(infra.bootstrap, topic) == []
        good = (
            '{"invoice_number": "ODD-OK", "amount": "10.00", "currency": "EUR", '
            '"issued_on": "2026-10-01", "due_on": "2026-10-31", "debtor": {"id": "D-1", '
            '"legal_name": "Durand SAS", "country": "FR", '
            '"contacts": [{"email": "c@durand.example"}]}}\n'
        )
        answer = await api.post(
            "/v1/claims:import",
            content=good.encode(),
            headers={**headers, "Content-Type": "application/x-ndjson"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["created"] == 1, answer.text
    registered = [
        orjson.loads(record.value)["invoice_number"]
        for record in await read_topic(infra.bootstrap, topic)
        if dict(record.headers)["ce_type"] == REGISTERED
    ]
    assert registered == ["ODD-OK"]
