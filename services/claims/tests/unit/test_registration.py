"""Given state, when RegisterClaim, then events: the registration rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amiable_claims import reference
from amiable_claims.domain import (
    FieldError,
    InvalidClaim,
    InvoiceNumberTaken,
    RegisterClaim,
    decide_registration,
    fold,
    siren_is_valid,
)
from amiable_events.claims import ClaimRegistered, Debtor
from amiable_events.envelope import Envelope
from amiable_events.ids import keyed_id, seeded_ids

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DEBTOR = Debtor(
    id="C-42",
    legal_name="Durand SAS",
    registration_id="732829320",
    country="FR",
    language="fr-FR",
    timezone="Europe/Paris",
)


def command(**changes) -> RegisterClaim:
    values = dict(
        tenant="acme",
        invoice_number="INV-1",
        amount=Decimal("1250.00"),
        currency="EUR",
        issued_on=date(2026, 10, 1),
        due_on=date(2026, 10, 31),
        debtor=DEBTOR,
    )
    values.update(changes)
    return RegisterClaim(**values)


def decide(cmd: RegisterClaim, existing=None):
    return decide_registration(cmd, existing, now=NOW, new_id=seeded_ids(7))


def test_a_valid_claim_is_registered():
    [event] = decide(command())
    assert isinstance(event, ClaimRegistered)
    assert event.amount == Decimal("1250.00")
    assert event.registered_at == NOW
    assert event.claim_id == seeded_ids(7)()


def test_an_idempotency_key_fixes_the_claim_id():
    [first] = decide(command(idempotency_key="k-1"))
    [again] = decide_registration(command(idempotency_key="k-1"), None, now=NOW, new_id=uuid.uuid4)
    assert first.claim_id == again.claim_id == keyed_id("acme", "claim", "k-1")


def test_an_invoice_number_is_registered_once_per_tenant():
    [event] = decide(command())
    claim = fold([_envelope(event)])
    with pytest.raises(InvoiceNumberTaken) as taken:
        decide(command(), existing=claim)
    assert taken.value.claim_id == event.claim_id


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"amount": Decimal("0")}, FieldError("amount", "must be greater than 0")),
        ({"amount": Decimal("-3")}, FieldError("amount", "must be greater than 0")),
        ({"amount": Decimal("10.005")}, FieldError("amount", "EUR has at most 2 decimal digits")),
        (
            {"amount": Decimal("10.5"), "currency": "JPY"},
            FieldError("amount", "JPY has at most 0 decimal digits"),
        ),
        ({"due_on": date(2026, 9, 30)}, FieldError("due_on", "must be on or after issued_on")),
        (
            {"debtor": DEBTOR.model_copy(update={"registration_id": "732829321"})},
            FieldError("debtor.registration_id", "a French SIREN is 9 digits, Luhn-valid"),
        ),
    ],
)
def test_inconsistent_claims_are_refused_with_the_field(changes, error):
    with pytest.raises(InvalidClaim) as invalid:
        decide(command(**changes))
    assert invalid.value.errors == [error]


def test_three_decimals_are_fine_for_a_three_digit_currency():
    [event] = decide(command(amount=Decimal("10.125"), currency="BHD"))
    assert event.amount == Decimal("10.125")


def test_siren_luhn():
    assert siren_is_valid("732829320")
    assert siren_is_valid("552100554")
    assert not siren_is_valid("732829321")
    assert not siren_is_valid("73282932")
    assert not siren_is_valid("73282932A")


def test_a_registration_id_outside_france_is_not_checked_as_a_siren():
    debtor = DEBTOR.model_copy(update={"country": "DE", "registration_id": "HRB 12345"})
    assert decide(command(debtor=debtor))


def _envelope(event: ClaimRegistered) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=str(event.claim_id),
        time=NOW,
        tenant="acme",
        debtor_id=event.debtor.id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


def test_evolve_folds_a_registration_into_a_claim():
    [event] = decide(command())
    claim = fold([_envelope(event)])
    assert claim.status == "registered"
    assert claim.outstanding == claim.amount == Decimal("1250.00")
    assert claim.debtor_id == "C-42"


def test_evolve_is_total_a_second_registration_of_a_claim_changes_nothing():
    [event] = decide(command())
    later = event.model_copy(update={"amount": Decimal("99")})
    claim = fold([_envelope(event), _envelope(later)])
    assert claim.amount == Decimal("1250.00")


@pytest.mark.parametrize(
    ("country", "language", "timezone"),
    [
        ("FR", "fr-FR", "Europe/Paris"),
        ("DE", "de-DE", "Europe/Berlin"),
        ("IN", "en-IN", "Asia/Kolkata"),
        ("JP", "ja-JP", "Asia/Tokyo"),
        ("US", "en-US", None),  # several time zones: the creditor must say which
    ],
)
def test_defaults_from_the_country(country, language, timezone):
    assert reference.default_language(country) == language
    assert reference.default_timezone(country) == timezone


def test_reference_data_knows_codes():
    assert {"FR", "DE", "IN"} <= reference.countries()
    assert "EU" not in reference.countries()
    assert {"EUR", "USD", "JPY"} <= reference.currencies()
    assert reference.canonical_language("fr_fr") == "fr-FR"
    assert reference.canonical_language("xx-QQ") is None
