"""The sender's pure parts: what a message states from the account's state (compose), and how
each channel's answers are classified (temporary failures retried, permanent ones failed)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from amiable_communications.adapters.channels import (
    Accepted,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    classify_gateway,
    classify_smtp,
    sms_text,
)
from amiable_communications.adapters.letters import pdf_of
from amiable_communications.domain.compose import NothingToSay, Personal, compose, write
from amiable_communications.settings import CommunicationsSettings
from amiable_events.communications import CreditorProfile
from amiable_events.ledger import Figures
from tests.communications_givens import play, reachable
from tests.risk_givens import TODAY, at

from .conftest import CREDITOR

FIGURES = Figures.from_settings(CommunicationsSettings(env="dev"))
PROFILE = CreditorProfile(
    creditor=CREDITOR, iban="FR7630006000011234567890189", reply_email="ar@x.example"
)
PERSONAL = Personal(contact_name="Claire Martin", address_lines=("1 rue de la Paix", "75002 Paris"))


def _email_step(days: int = 40, paid: bool = False):
    history = reachable("acme")
    claim_id = history.claim(TODAY - timedelta(days=days), amount="1234.56")
    played = play(history, at(TODAY, 9))  # released, not sent: the sender is not played
    comm = next(c for c in played.account.communications.values() if c.channel == "email")
    account = played.account
    if paid:
        claim = account.claim(str(claim_id))
        ledger = claim.ledger.model_copy(update={"status": "settled"})
        account = account.with_claim(claim.model_copy(update={"ledger": ledger}))
    return account, comm, claim_id


def test_compose_states_the_open_invoice_the_unpaid_amount_and_the_next_step():
    account, comm, _ = _email_step()
    context = compose(account, comm, PROFILE, FIGURES, TODAY, PERSONAL)
    (invoice,) = context.invoices
    assert invoice.outstanding == Decimal("1234.56")
    assert invoice.due_on == TODAY - timedelta(days=10)
    assert context.contact_name == "Claire Martin"
    assert context.next_step is not None and context.next_step.on > TODAY
    rendered = write(account, comm, PROFILE, FIGURES, TODAY, PERSONAL)
    assert rendered.language_used == "fr"
    assert "1\u202f234,56\u00a0€" in rendered.body


def test_a_message_whose_claims_are_all_closed_has_nothing_to_say():
    account, comm, _ = _email_step(paid=True)
    with pytest.raises(NothingToSay):
        compose(account, comm, PROFILE, FIGURES, TODAY, PERSONAL)


def test_smtp_5xx_is_permanent_and_4xx_temporary():
    assert isinstance(classify_smtp([550], "no such user"), PermanentFailure)
    assert isinstance(classify_smtp([451], "try later"), TemporaryFailure)
    assert isinstance(classify_smtp([550, 451], "mixed"), TemporaryFailure)


def test_gateway_answers_are_classified():
    assert classify_gateway(202, "", "sms-1") == Accepted(
        provider_reference="sms-1", delivered=True
    )
    assert classify_gateway(422, "bad", None) == PermanentFailure("invalid number")
    assert isinstance(classify_gateway(503, "down", None), TemporaryFailure)
    assert isinstance(classify_gateway(400, "bad request", None), PermanentFailure)


def _outgoing(**changes) -> Outgoing:
    fields = dict(
        communication_id=UUID(int=1),
        tenant="acme",
        debtor_id="D-1",
        channel="letter",
        subject="Relance : facture INV-1",
        body="Montant dû : 1\u202f234,56\u00a0€\n\nMerci de régler.",
        language="fr",
        reply_to="ar@x.example",
        sent_at=at(TODAY),
        address_lines=("Debtor SAS", "1 rue de la Paix"),
    )
    return Outgoing(**{**fields, **changes})


def test_an_sms_is_short_and_says_whom_to_answer():
    text = sms_text(_outgoing(body="x" * 2000), 480)
    assert len(text) <= 480
    assert text.startswith("Relance") and text.endswith("ar@x.example")


def test_a_letter_is_the_same_pdf_when_made_again():
    first, again = pdf_of(_outgoing()), pdf_of(_outgoing())
    assert first.startswith(b"%PDF") and first == again
    assert pdf_of(_outgoing(body="autre")) != first
