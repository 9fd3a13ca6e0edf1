"""Every template renders in every language and tone, states what a reminder must state, puts
the way out before any consequence, and passes the wording lint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from itertools import product

import pytest

from amiable_communications.domain.context import Invoice, MessageContext, NextStep
from amiable_communications.domain.lint import lint
from amiable_communications.domain.locales import LANGUAGES
from amiable_communications.domain.templates import KEYS, TONES, MissingContext, Rendered, render
from amiable_events.communications import CreditorProfile

from .conftest import AGENCY, CREDITOR, build_context

ALL = list(product(KEYS, LANGUAGES, TONES))
CONFIRMATIONS = {"confirm.payment_plan", "confirm.promise", "confirm.dispute", "thanks.settled"}
REMINDERS = [key for key in KEYS if key not in CONFIRMATIONS and key != "notice.formal"]
#: The headings that open the solutions block and the consequence (the next step, or the formal
#: notice's consequence) in each language.
SOLUTIONS = {
    "fr": "Vos solutions",
    "en": "Your options",
    "de": "Ihre Möglichkeiten",
    "es": "Sus opciones",
    "it": "Le vostre opzioni",
    "nl": "Uw mogelijkheden",
}
CONSEQUENCES = {
    "fr": ("Prochaine étape", "Conséquence d'un défaut de paiement"),
    "en": ("Next step", "Consequence of non-payment"),
    "de": ("Nächster Schritt", "Folgen bei Nichtzahlung"),
    "es": ("Próximo paso", "Consecuencia del impago"),
    "it": ("Prossima fase", "Conseguenza del mancato pagamento"),
    "nl": ("Volgende stap", "Gevolg van niet-betaling"),
}
PAY_BY_TRANSFER = {
    "fr": "Par virement",
    "en": "By bank transfer",
    "de": "Per Überweisung",
    "es": "Por transferencia",
    "it": "Con bonifico",
    "nl": "Per overschrijving",
}


@pytest.fixture(scope="module")
def rendered() -> dict[tuple[str, str, str], str]:
    """Every key x language x tone, rendered once for the whole module (480 renders)."""
    context = build_context()
    return {where: _text(render(*where, context)) for where in ALL}


def _text(message: Rendered) -> str:
    return f"{message.subject}\n{message.body}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_and_tone_renders_with_nothing_left_unfilled(
    rendered: dict[tuple[str, str, str], str], language: str
) -> None:
    for key, tone in product(KEYS, TONES):
        text = rendered[key, language, tone]
        subject = text.partition("\n")[0]
        assert subject, (key, tone)
        assert "{" not in text and "}" not in text, (key, tone)
        assert "None" not in text, (key, tone)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_rendering_passes_the_wording_lint(
    rendered: dict[tuple[str, str, str], str], language: str
) -> None:
    failures = {
        (key, tone): lint(rendered[key, language, tone], language)
        for key, tone in product(KEYS, TONES)
    }
    assert {where: found for where, found in failures.items() if found} == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reminder_states_amounts_invoices_how_to_pay_options_and_next_step(
    rendered: dict[tuple[str, str, str], str], language: str
) -> None:
    for key, tone in product(REMINDERS, TONES):
        text = rendered[key, language, tone]
        for reference in ("F-2031-0042", "F-2031-0057"):
            assert reference in text, (key, tone)
            assert f"DUR-{reference}" in text, (key, tone)
        assert PAY_BY_TRANSFER[language] in text, (key, tone)
        assert "FR76 3000 6000 0112 3456 7890 189" in text, (key, tone)
        assert SOLUTIONS[language] in text, (key, tone)
        assert CONSEQUENCES[language][0] in text, (key, tone)
        assert "recouvrement@atelier-durand.example" in text, (key, tone)


@pytest.mark.parametrize("solution_first", [False, True])
def test_the_solutions_come_before_any_consequence_in_every_tone(solution_first: bool) -> None:
    context = build_context(solution_first=solution_first)
    for key, language, tone in ALL:
        if key in CONFIRMATIONS:
            continue
        body = render(key, language, tone, context).body
        # a formal notice in another language is the French text, then its translation: each
        # part must put the solutions first
        parts = [body] if language == "fr" or key != "notice.formal" else [body, body]
        languages = ["fr", language] if key == "notice.formal" and language != "fr" else [language]
        start = 0
        for part_language, part in zip(languages, parts, strict=True):
            solutions = part.index(SOLUTIONS[part_language], start)
            consequence = min(
                part.index(heading, start)
                for heading in CONSEQUENCES[part_language]
                if heading in part[start:]
            )
            assert solutions < consequence, (key, language, tone)
            start = consequence


@pytest.mark.parametrize("language", LANGUAGES)
def test_solution_first_opens_with_the_way_out(language: str) -> None:
    body = render("email.reminder", language, "neutral", build_context(solution_first=True)).body
    later = render("email.reminder", language, "neutral", build_context()).body
    greeting = body.partition("\n\n")[0]
    assert body.partition("\n\n")[2].startswith(SOLUTIONS[language])
    assert not later.partition("\n\n")[2].startswith(SOLUTIONS[language])
    assert later.startswith(greeting)


def test_a_grouped_statement_lists_every_invoice_of_the_group(
    make_context: Callable[..., MessageContext],
) -> None:
    invoices = tuple(
        Invoice(
            reference=f"F-2031-01{n:02d}",
            issued_on=date(2031, 1, n),
            due_on=date(2031, 2, n),
            amount=Decimal(f"{n}00.00"),
            outstanding=Decimal(f"{n}00.00"),
        )
        for n in range(1, 6)
    )
    for key in ("email.reminder", "letter.reminder", "letter.registered"):
        message = render(key, "de-DE", "direct", make_context(invoices=invoices))
        for n in range(1, 6):
            assert f"Rechnung F-2031-01{n:02d} vom {n}. Januar 2031" in message.body
        # 100 + 200 + ... + 500, as Babel writes it in de (a no-break space before the sign)
        assert "Zu zahlen insgesamt: 1.500,00\u00a0€" in message.body


def test_a_disputed_part_is_named_and_not_claimed() -> None:
    message = render("email.reminder", "fr", "neutral", build_context(disputed_amount="300.00"))
    assert "Une partie de 300,00\u00a0€ fait l'objet d'une contestation" in message.body
    # 2 734,56 outstanding less the 300,00 contested (Babel's fr: a narrow no-break space)
    assert "Total à régler : 2\u202f434,56\u00a0€" in message.body


def test_a_collection_agency_says_it_acts_for_the_creditor() -> None:
    profile = build_context().creditor.model_copy(
        update={"sender_mode": "collection_agency", "agency": AGENCY}
    )
    message = render("letter.reminder", "fr", "neutral", build_context(creditor=profile))
    assert message.body.startswith("Recouvre Conseil SARL\n4 quai Perrache")
    assert (
        "Recouvre Conseil SARL (RCS Lyon 901 222 333), société de recouvrement, agit au nom et "
        "pour le compte de Atelier Durand SAS (RCS Lyon 812 345 678" in message.body
    )
    assert "Par virement à Atelier Durand SAS" in message.body


def test_an_agency_is_named_exactly_in_agency_mode() -> None:
    with pytest.raises(ValueError, match="agency"):
        CreditorProfile(
            creditor=CREDITOR,
            iban="FR7630006000011234567890189",
            reply_email="a@b.example",
            sender_mode="collection_agency",
        )


def test_the_letter_goes_to_the_management_when_the_step_says_so() -> None:
    message = render("letter.registered", "en-GB", "firm", build_context(contact_role="management"))
    assert "For the attention of the management" in message.body
    assert "Yours faithfully," in message.body


def test_the_next_step_is_named_with_its_date_in_the_locale() -> None:
    context = build_context(next_step=NextStep(action="registered_letter", on=date(2031, 4, 2)))
    message = render("letter.reminder", "it-IT", "courteous", context)
    assert "Una raccomandata indirizzata alla vostra direzione, il 2 aprile 2031." in message.body


def test_a_language_without_templates_falls_back_to_english() -> None:
    message = render("thanks.settled", "pt-BR", "neutral", build_context())
    assert message.language_used == "en"
    assert message.subject == "Thank you for your payment"


@pytest.mark.parametrize(
    ("key", "part"),
    [
        ("notice.formal", "payment_deadline"),
        ("offer.payment_plan", "plan"),
        ("confirm.promise", "promise"),
        ("plan.installment_after", "installment"),
    ],
)
def test_a_key_refuses_a_context_without_the_part_it_needs(key: str, part: str) -> None:
    empty = {"payment_deadline": None, "plan": (), "promise": None, "installment": None}
    with pytest.raises(MissingContext, match=part):
        render(key, "fr", "neutral", build_context(**{part: empty[part]}))


def test_a_formal_notice_needs_every_invoice_itemised() -> None:
    first, second = build_context().invoices
    context = build_context(invoices=(first, second.model_copy(update={"itemised": None})))
    with pytest.raises(MissingContext, match="itemised"):
        render("notice.formal", "fr", "firm", context)


def test_an_unknown_key_or_tone_is_refused() -> None:
    with pytest.raises(KeyError):
        render("email.nonexistent", "fr", "neutral", build_context())
    with pytest.raises(ValueError, match="tone"):
        render("email.reminder", "fr", "angry", build_context())  # type: ignore[arg-type]
