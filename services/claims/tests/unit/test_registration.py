"""Given state, when RegisterClaim, then events: the registration rules."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from amiable_claims.domain import reference
from amiable_claims.domain.commands import RegisterClaim
from amiable_claims.domain.decide import (
    InvalidClaim,
    InvoiceNumberTaken,
    decide_registration,
    siren_is_valid,
)
from amiable_claims.domain.evolve import fold
from amiable_events.claims import ClaimQualified, ClaimRegistered, ClaimRejected
from amiable_events.envelope import Envelope
from amiable_events.errors import FieldError
from amiable_events.ids import keyed_id, seeded_ids
from tests.claims_givens import NOW, context, register_command

FR_DEBTOR = register_command().debtor


def decide(cmd: RegisterClaim, existing=None, **kwargs):
    return decide_registration(
        None, replace(cmd, taken_by=existing, **kwargs), context(NOW, seeded_ids(7))
    )


def command(**changes) -> RegisterClaim:
    return register_command(**changes)


def test_a_valid_claim_is_registered_and_qualified():
    [event, qualified] = decide(command())
    assert isinstance(qualified, ClaimQualified)
    assert qualified.prescription_date == date(2031, 10, 31)
    assert isinstance(event, ClaimRegistered)
    assert event.amount == Decimal("1250.00")
    assert event.registered_at == NOW
    assert event.claim_id == seeded_ids(7)()


def test_an_idempotency_key_fixes_the_claim_id():
    [first, _] = decide(command(idempotency_key="k-1"))
    [again, _] = decide_registration(None, command(idempotency_key="k-1"), context(NOW))
    assert first.claim_id == again.claim_id == keyed_id("acme", "claim", "k-1")


def test_an_invoice_number_is_registered_once_per_tenant():
    [event, _] = decide(command())
    with pytest.raises(InvoiceNumberTaken) as taken:
        decide(command(), existing=event.claim_id)
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
            {
                "debtor": register_command().debtor.model_copy(
                    update={"registration_id": "732829321"}
                )
            },
            FieldError("debtor.registration_id", "a French SIREN is 9 digits, Luhn-valid"),
        ),
    ],
)
def test_inconsistent_claims_are_refused_with_the_field(changes, error):
    with pytest.raises(InvalidClaim) as invalid:
        decide(command(**changes))
    assert invalid.value.errors == [error]


def test_three_decimals_are_fine_for_a_three_digit_currency():
    [event, _] = decide(command(amount=Decimal("10.125"), currency="BHD"))
    assert event.amount == Decimal("10.125")


def test_siren_luhn():
    assert siren_is_valid("732829320")
    assert siren_is_valid("552100554")
    assert not siren_is_valid("732829321")
    assert not siren_is_valid("73282932")
    assert not siren_is_valid("73282932A")


def test_a_registration_id_outside_france_is_not_checked_as_a_siren():
    debtor = register_command().debtor.model_copy(
        update={"country": "DE", "registration_id": "HRB 12345"}
    )
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
    [event, _] = decide(command())
    claim = fold([_envelope(event)])
    assert claim.status == "registered"
    assert claim.amount == Decimal("1250.00") and claim.paid == 0
    assert claim.debtor_id == "C-42"


def test_evolve_is_total_a_second_registration_of_a_claim_changes_nothing():
    [event, _] = decide(command())
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


def test_a_claim_without_any_way_to_reach_the_debtor_is_rejected():
    debtor = register_command().debtor.model_copy(update={"contacts": ()})
    [_, rejected] = decide(command(debtor=debtor))
    assert isinstance(rejected, ClaimRejected)
    assert rejected.reasons == ("missing_debtor_contact",)


def test_a_time_barred_claim_is_rejected():
    [_, rejected] = decide(command(issued_on=date(2021, 9, 1), due_on=date(2021, 10, 1)))
    assert rejected.reasons == ("time_barred",)


def test_a_look_alike_of_an_open_claim_is_rejected_as_duplicate():
    other = uuid.uuid4()
    [_, rejected] = decide(command(), duplicate_of=other)
    assert rejected.reasons == ("duplicate",)
    assert rejected.duplicate_of == other


def test_an_invoice_issued_in_the_future_is_inconsistent():
    [_, rejected] = decide(command(issued_on=date(2026, 12, 1), due_on=date(2026, 12, 31)))
    assert rejected.reasons == ("amount_or_dates_inconsistent",)


def test_a_claim_due_before_its_rate_table_starts_is_refused_naming_due_on():
    """Issue 7 (a claim older than the rate table): refused at registration with the reason,
    never a 500 on every later figure. EU law needs the ECB rate, known from 2016-03-16."""
    with pytest.raises(InvalidClaim) as invalid:
        decide(
            command(
                issued_on=date(2015, 11, 1),
                due_on=date(2015, 12, 31),
                debtor=FR_DEBTOR.model_copy(update={"country": "IT"}),
                governing_law="IT",
            )
        )
    [error] = invalid.value.errors
    assert error.field == "due_on"
    assert "ECB" in error.reason and "2016-03-16" in error.reason
