"""The claim's governing law, not its debtor's country, chooses the late-payment rule."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amiable_claims.domain.decide import InvalidClaim, decide_registration
from amiable_claims.domain.figures import amount_due, governing_law, prescription_date
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.claims import ClaimRegistered, ContractualInterest, LatePaymentTerms
from amiable_events.errors import FieldError
from amiable_events.ids import seeded_ids
from amiable_rules.governing_law import GoverningLaws
from tests.claims_givens import DEBTOR, POLICY, context, given, register_command

D = Decimal
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 9, 30)
INDIAN = DEBTOR.model_copy(
    update={"country": "IN", "registration_id": None, "timezone": "Asia/Kolkata"}
)
LONDON = replace(POLICY, governing_laws=GoverningLaws(default="FR", by_tenant={"acme": "GB"}))


def register(policy=POLICY, **changes):
    """EUR 10,000 due 2026-01-15 (the worked example), registered for tenant acme."""
    values = dict(amount=D("10000.00"), issued_on=date(2026, 1, 1), due_on=date(2026, 1, 15))
    values.update(changes)
    events = decide_registration(
        None, register_command(**values), context(NOW, seeded_ids(5), policy)
    )
    return events[0], given(*events)


def test_an_indian_debtor_under_french_law_gets_the_french_rule() -> None:
    """The service default (the creditor's country) is FR: the worked example, to the cent."""
    event, claim = register(debtor=INDIAN)
    assert (event.governing_law, event.governing_law_source) == ("FR", "service_default")
    due = amount_due(claim, AS_OF, POLICY)
    assert due.rule == "FR: ECB MRO + 10 pts, half-year reference rate, actual/365"
    assert (due.interest, due.fixed_fee, due.total) == (D("858.83"), D("40.00"), D("10898.83"))


def test_the_claims_own_law_beats_the_tenant_default() -> None:
    event, claim = register(LONDON)
    assert (event.governing_law, event.governing_law_source) == ("GB", "tenant")
    assert amount_due(claim, AS_OF, LONDON).rule.startswith("GB: BoE Bank Rate + 8")
    event, claim = register(LONDON, governing_law="DE")
    assert (event.governing_law, event.governing_law_source) == ("DE", "claim")
    due = amount_due(claim, AS_OF, LONDON)
    assert due.rule.startswith("DE: Basiszinssatz + 9 pts")
    assert governing_law(claim, LONDON) == ("DE", "claim")


def test_the_law_recorded_at_registration_outlives_a_change_of_setting() -> None:
    _, claim = register(LONDON)
    assert governing_law(claim, POLICY) == ("GB", "tenant")


def test_a_claim_registered_before_laws_were_recorded_takes_its_tenants_default() -> None:
    event, _ = register()
    old = ClaimRegistered.model_validate(
        event.model_dump(exclude={"governing_law", "governing_law_source", "late_payment_terms"})
    )
    claim = given(old)
    assert claim.governing_law is None
    assert governing_law(claim, LONDON) == ("GB", "tenant")
    assert governing_law(claim, POLICY) == ("FR", "service_default")


def test_no_statute_with_a_contractual_rate_and_fee() -> None:
    """US law, contract 12% and USD 25: 2026-01-16..03-31 = 75 days:
    10000 x 12% x 75/365 = 246.5753... -> 246.58; fee 25.00."""
    terms = LatePaymentTerms(
        interest=ContractualInterest(kind="fixed", rate=D("12")), fixed_fee=D("25.00")
    )
    event, claim = register(governing_law="US", currency="USD", late_payment_terms=terms)
    assert event.late_payment_terms == terms
    due = amount_due(claim, date(2026, 3, 31), POLICY)
    assert (due.interest, due.fixed_fee, due.total) == (D("246.58"), D("25.00"), D("10271.58"))
    assert due.entry == "none"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"governing_law": "France"},
            FieldError(
                "governing_law",
                "an ISO 3166-1 alpha-2 country code, or 'none' when no statute applies",
            ),
        ),
        (
            {
                "governing_law": "none",
                "late_payment_terms": LatePaymentTerms(
                    interest=ContractualInterest(kind="reference_plus", margin=D("4"))
                ),
            },
            FieldError(
                "late_payment_terms.interest.reference",
                "required: no statutory reference rate under law none",
            ),
        ),
        (
            {"late_payment_terms": LatePaymentTerms(fixed_fee=D("10.001"))},
            FieldError("late_payment_terms.fixed_fee", "EUR has at most 2 decimal digits"),
        ),
    ],
)
def test_a_law_or_terms_that_cannot_apply_are_refused_by_field(changes, error) -> None:
    with pytest.raises(InvalidClaim) as invalid:
        register(**changes)
    assert invalid.value.errors == [error]


def test_the_settings_give_the_default_and_the_tenants_laws(monkeypatch) -> None:
    monkeypatch.setenv("AMIABLE_DEFAULT_GOVERNING_LAW", "DE")
    monkeypatch.setenv("AMIABLE_TENANT_GOVERNING_LAW", '{"acme": "GB", "acme-us": "none"}')
    laws = policy(ClaimsSettings(env="dev")).governing_laws
    assert laws.choose("acme", None) == ("GB", "tenant")
    assert laws.choose("acme-us", None) == ("none", "tenant")
    assert laws.choose(str(uuid.uuid4()), None) == ("DE", "service_default")


def test_limitation_follows_the_governing_law_too() -> None:
    """Due 2026-01-15: FR 5 years -> 2031-01-15; DE 3 years from the end of 2026 ->
    2029-12-31; GB 6 years -> 2032-01-15. A DE claim due 2022-06-01 was time-barred on
    2025-12-31, so on 2026-01-10 it is rejected; under French law it is not."""
    _, fr = register(debtor=INDIAN)
    _, de = register(governing_law="DE")
    _, gb = register(LONDON)
    assert prescription_date(fr, POLICY) == date(2031, 1, 15)
    assert prescription_date(de, POLICY) == date(2029, 12, 31)
    assert prescription_date(gb, LONDON) == date(2032, 1, 15)
    old = {"issued_on": date(2022, 5, 1), "due_on": date(2022, 6, 1)}
    assert register(governing_law="DE", **old)[1].rejection_reasons == ("time_barred",)
    assert register(**old)[1].status == "qualified"
