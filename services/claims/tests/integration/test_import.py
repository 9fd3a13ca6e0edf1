"""Bulk import: 50,000 rows, 1% of them bad and some duplicates, counted exactly; and the
`amiable import` command with its summary."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
import time

import httpx
import pytest

from tests.support import ROOT, auth

pytestmark = pytest.mark.integration

HEADER = [
    "invoice_number",
    "amount",
    "currency",
    "issued_on",
    "due_on",
    "debtor_id",
    "debtor_legal_name",
    "debtor_country",
    "contact_name",
    "contact_email",
    "contact_phone",
]


def portfolio_csv(
    rows: int, *, bad_every: int = 100, duplicate_every: int = 250
) -> tuple[str, dict]:
    """Rows with, every ``bad_every`` rows, an invalid one (alternately a bad amount and a bad
    email), and every ``duplicate_every`` rows a repeat of an earlier invoice number."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    expected = {"created": 0, "duplicate": 0, "invalid": 0}
    for n in range(1, rows + 1):
        row = [
            f"IMP-{n:06d}",
            f"{100 + n % 900}.{n % 100:02d}",
            "EUR",
            "2026-09-01",
            "2026-10-01",
            f"D-{n % 2000}",
            f"Client {n % 2000} SARL",
            "FR",
            "Service comptable",
            f"compta{n % 2000}@client.example",
            "+33123456789",
        ]
        if n % bad_every == 0:
            expected["invalid"] += 1
            if (n // bad_every) % 2:
                row[1] = "12,50"
            else:
                row[9] = "not-an-email"
        elif n % duplicate_every == 1 and n > 1:
            expected["duplicate"] += 1
            row[0] = "IMP-000002"
        else:
            expected["created"] += 1
        writer.writerow(row)
    return out.getvalue(), expected


async def test_fifty_thousand_rows_with_one_percent_bad(fresh_topic, service_process, unique):
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
    body, expected = portfolio_csv(50_000)
    assert expected["invalid"] == 500
    headers = {**auth(f"imp-{unique}", "claims:write", "claims:read"), "Content-Type": "text/csv"}
    async with httpx.AsyncClient(base_url=service.url, timeout=600) as api:
        started = time.perf_counter()
        answer = await api.post("/v1/claims:import", content=body.encode(), headers=headers)
        seconds = time.perf_counter() - started
        assert answer.status_code == 200, answer.text[:2000]
        result = answer.json()
        print(f"\nimport: 50,000 rows in {seconds:.1f}s = {50_000 / seconds:,.0f} rows/s")
        assert {k: result[k] for k in expected} == expected
        rows = result["rows"]
        assert len(rows) == 50_000
        assert rows[99] == {
            "row": 100,
            "status": "invalid",
            "claim_id": None,
            "invoice_number": None,
            "errors": [{"field": "amount", "reason": "must be a decimal string such as '1250.00'"}],
        }
        assert rows[199]["errors"][0]["field"] == "debtor.contacts.0.email"
        assert rows[250]["status"] == "duplicate"
        assert rows[250]["claim_id"] == rows[1]["claim_id"]
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
    body, expected = portfolio_csv(1_200, bad_every=100, duplicate_every=500)
    source = tmp_path / "claims.csv"
    source.write_text(body)
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
