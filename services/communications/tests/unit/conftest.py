"""A message context with every part filled: two invoices of one group (the consolidated case),
one of them itemised under French law as a formal notice carries it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from amiable_communications.domain.context import (
    DisputeReceived,
    Installment,
    Invoice,
    MessageContext,
    NextStep,
    Promise,
    Remission,
)
from amiable_events.communications import CreditorProfile, Party
from amiable_events.dunning import AmountDue, DueLine

CREDITOR = Party(
    legal_name="Atelier Durand SAS",
    address=("12 rue des Tanneurs", "69002 Lyon", "France"),
    registration_number="RCS Lyon 812 345 678",
)
AGENCY = Party(
    legal_name="Recouvre Conseil SARL",
    address=("4 quai Perrache", "69002 Lyon", "France"),
    registration_number="RCS Lyon 901 222 333",
)


def itemised(principal: str, interest: str, as_of: date) -> AmountDue:
    total = Decimal(principal) + Decimal(interest) + Decimal("40.00")
    return AmountDue(
        as_of=as_of,
        currency="EUR",
        principal_outstanding=Decimal(principal),
        interest=Decimal(interest),
        fixed_fee=Decimal("40.00"),
        total=total,
        rule="FR: ECB MRO + 10 pts, half-year reference rate, actual/365",
        lines=(
            DueLine(
                kind="principal",
                amount=Decimal(principal),
                note=f"invoice principal {principal}; paid to principal 0.00; "
                f"outstanding {principal}",
            ),
            DueLine(
                kind="interest",
                amount=Decimal(interest),
                note=f"12.15% (ECB 2.15% + 10 pts) on {principal} from 2031-02-01 to "
                "2031-03-14, 42 days",
            ),
            DueLine(
                kind="fixed_fee",
                amount=Decimal("40.00"),
                note="EUR 40.00 fixed recovery fee (Code de commerce D441-5), due from 2031-02-01",
            ),
        ),
    )


def build_context(**changes: Any) -> MessageContext:
    """Dates are inputs of a pure function, so fixed ones are as good as any."""
    written_on = date(2031, 3, 14)
    fields: dict[str, Any] = {
        "debtor_name": "Müller Maschinenbau GmbH",
        "debtor_address": ("Industriestraße 5", "70173 Stuttgart", "Deutschland"),
        "contact_name": None,
        "contact_role": "accounts_payable",
        "creditor": CreditorProfile(
            creditor=CREDITOR,
            iban="FR7630006000011234567890189",
            bic="AGRIFRPP",
            reference_format="DUR-{invoice}",
            reply_email="recouvrement@atelier-durand.example",
            reply_phone="+33 4 72 00 00 00",
        ),
        "currency": "EUR",
        "invoices": (
            Invoice(
                reference="F-2031-0042",
                issued_on=date(2031, 1, 2),
                due_on=date(2031, 1, 31),
                amount=Decimal("1234.56"),
                outstanding=Decimal("1234.56"),
                itemised=itemised("1234.56", "17.26", written_on),
            ),
            Invoice(
                reference="F-2031-0057",
                issued_on=date(2031, 1, 9),
                due_on=date(2031, 2, 8),
                amount=Decimal("2500.00"),
                outstanding=Decimal("1500.00"),
                itemised=itemised("1500.00", "10.99", written_on),
            ),
        ),
        "written_on": written_on,
        "next_step": NextStep(action="formal_notice", on=date(2031, 3, 28)),
        "payment_deadline": date(2031, 3, 24),
        "plan": (
            Installment(number=1, amount=Decimal("1367.28"), due_on=date(2031, 4, 1)),
            Installment(number=2, amount=Decimal("1367.28"), due_on=date(2031, 5, 1)),
        ),
        "installment": Installment(number=2, amount=Decimal("1367.28"), due_on=date(2031, 5, 1)),
        "remission": Remission(forgiven=Decimal("273.46"), pay_by=date(2031, 4, 15)),
        "promise": Promise(amount=Decimal("2734.56"), on=date(2031, 3, 31)),
        "dispute": DisputeReceived(reference="D-7781", amount=Decimal("300.00")),
    }
    fields.update(changes)
    return MessageContext(**fields)


@pytest.fixture
def make_context() -> Callable[..., MessageContext]:
    return build_context
