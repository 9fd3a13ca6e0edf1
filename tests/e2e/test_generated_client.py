"""The typed Python clients other teams generate from our OpenAPI documents (docs/clients.md):
`amiable clients` writes a document and a client per service, every module of every client
imports, and the claims client registers a claim, records a part payment and reads the amount
due against the live claims service."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import pkgutil
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support import ROOT, token

pytestmark = pytest.mark.e2e

#: What the generator leaves out, all of it request bodies of text it has no code for
#: (CSV, NDJSON, YAML); docs/clients.md says how to send them.
KNOWN_WARNINGS = {
    "WARNING parsing POST /v1/claims:import within claims. Endpoint will not be generated.",
    "WARNING parsing POST /v1/policies within policies.",  # its JSON body is generated
}
LEFT_OUT = {"claims": {"importClaims"}}


def snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def register_pay_and_read(client, today):
    """The snippet of docs/clients.md, line for line (``today``: the service's day)."""
    from amiable_claims_client.api.claims import get_amount_due, record_payment, register_claim
    from amiable_claims_client.models import (
        ClaimIn,
        ContactIn,
        ContractualInterestIn,
        DebtorIn,
        LatePaymentTermsIn,
        PaymentIn,
    )

    claim = register_claim.sync(
        client=client,
        body=ClaimIn(
            invoice_number="INV-2026-0042",
            amount="4800.00",
            currency="EUR",
            issued_on=today - timedelta(days=70),
            due_on=today - timedelta(days=40),
            debtor=DebtorIn(
                id="C-42",
                legal_name="Durand Industries SAS",
                country="FR",
                contacts=[ContactIn(name="Claire Martin", email="claire@durand.example")],
            ),
            governing_law="FR",
            late_payment_terms=LatePaymentTermsIn(
                interest=ContractualInterestIn(kind="fixed", rate="12.00"), fixed_fee="50.00"
            ),
        ),
    )
    before = get_amount_due.sync(claim.id, client=client)
    paid = record_payment.sync(
        claim.id, client=client, body=PaymentIn(amount="1000.00", received_on=today)
    )
    after = get_amount_due.sync(claim.id, client=client)
    return claim, before, paid, after


@pytest.fixture
def generated_imports(monkeypatch):
    """Put generated projects on the import path; forget their modules afterwards."""
    yield lambda project: monkeypatch.syspath_prepend(str(project))
    for name in [name for name in sys.modules if re.match(r"amiable_\w+_client\b", name)]:
        del sys.modules[name]


async def test_generate_the_clients_and_use_the_claims_client(
    fresh_topic, service_process, unique, tmp_path, generated_imports
):
    topic = await fresh_topic("client")
    service = service_process(
        "claims",
        topic=topic,
        projection_schema=f"client_{unique}",
        consumer_group=f"client-{unique}",
    )
    out = tmp_path / "clients"
    # The generator runs (about 15 s for five services) while the service starts.
    generation, _ = await asyncio.gather(
        asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "amiable_cli.main", "clients", "--out", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        ),
        asyncio.to_thread(service.start),
    )
    assert generation.returncode == 0, generation.stderr
    services = ["claims", "risk", "dunning", "communications", "disputes"]
    assert [line.split()[0] for line in generation.stdout.splitlines()] == services
    headlines = {line.strip() for line in generation.stderr.splitlines() if "WARNING" in line}
    assert headlines == KNOWN_WARNINGS, generation.stderr
    assert "Unable to" not in generation.stderr, generation.stderr

    for name in services:
        document = json.loads((out / "openapi" / f"{name}.json").read_text())
        generated_imports(out / f"amiable-{name}-client")
        package = importlib.import_module(f"amiable_{name}_client")
        assert Path(package.__file__).is_relative_to(out)
        modules = [
            importlib.import_module(module.name)
            for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
        ]
        endpoints = {m.__name__.rsplit(".", 1)[1] for m in modules if ".api." in m.__name__}
        operations = {
            operation["operationId"]
            for methods in document["paths"].values()
            for operation in methods.values()
        }
        expected = {snake(op) for op in operations - LEFT_OUT.get(name, set())}
        assert expected <= endpoints, f"{name}: no client call for {expected - endpoints}"

    from amiable_claims_client import AuthenticatedClient
    from amiable_claims_client.models import AmountDueOut, ClaimOut, DueLineOut

    with AuthenticatedClient(
        base_url=service.url,
        token=token(f"client-{unique}", "claims:write", "claims:read"),
        raise_on_unexpected_status=True,
    ) as client:
        claim, before, paid, after = await asyncio.to_thread(
            register_pay_and_read, client, service.today
        )

    # Answers are the generated models (a 4xx would be a generated Problem).
    assert isinstance(claim, ClaimOut) and isinstance(paid, ClaimOut), (claim, paid)
    assert isinstance(before, AmountDueOut) and isinstance(after, AmountDueOut), (before, after)
    assert all(isinstance(line, DueLineOut) for line in before.lines + after.lines)
    assert claim.status == "qualified" and paid.status == "qualified"
    assert paid.id == claim.id and paid.paid == "1000.00"
    # The claim's own outstanding is the invoice less payments, before late charges.
    assert paid.outstanding == "3800.00"

    # 40 days late at the contract's 12 % a year, actual/365, and its fixed fee of 50.00.
    interest = (Decimal("4800.00") * Decimal("0.12") * 40 / 365).quantize(Decimal("0.01"))
    assert before.as_of == after.as_of == service.today
    assert (before.principal_outstanding, before.fixed_fee) == ("4800.00", "50.00")
    assert Decimal(before.interest) == Decimal(before.interest_accrued) == interest
    assert Decimal(before.total) == Decimal("4850.00") + interest
    # Itemised: the principal, the interest (a line per half-year), the fee.
    kinds = [line.kind for line in before.lines]
    assert kinds[0] == "principal" and kinds[-1] == "fixed_fee", kinds
    assert set(kinds[1:-1]) == {"interest"}, kinds
    # The payment goes to the fee and the interest first, then to the principal.
    assert Decimal(after.total) == Decimal(before.total) - Decimal("1000.00")
    assert (after.fixed_fee, after.interest, after.paid) == ("0.00", "0.00", "1000.00")
    assert Decimal(after.interest_accrued) == interest
    assert Decimal(after.principal_outstanding) == (
        Decimal("4800.00") - (Decimal("1000.00") - Decimal("50.00") - interest)
    )


@pytest.mark.parametrize("doc", ["docs/clients.md", "README.md"])
def test_the_docs_show_the_calls_this_test_makes(doc):
    """The snippet other teams copy is the one run above, line for line (indentation aside)."""
    source = inspect.getsource(register_pay_and_read)
    calls = source[source.index("claim = register_claim") : source.index("return claim")]
    wanted = [line.strip() for line in calls.splitlines() if line.strip()]
    shown = [line.strip() for line in (ROOT / doc).read_text().splitlines() if line.strip()]
    starts = [i for i, line in enumerate(shown) if line == wanted[0]]

    assert any(shown[i : i + len(wanted)] == wanted for i in starts), (
        f"{doc} no longer shows the calls of register_pay_and_read:\n" + "\n".join(wanted)
    )
