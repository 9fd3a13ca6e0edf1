"""Bulk import: a few hundred rows, some bad and some duplicates, counted exactly; and the
`amiable import` command with its summary. The import rate on 50,000 rows is measured by
`make bench`, not here."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from tests.claims_givens import portfolio_csv
from tests.support import ROOT, auth

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
