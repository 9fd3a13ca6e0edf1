"""The formal notice's locked blocks: French, the same in every language and tone, and holding
what French law expects (the words "mise en demeure", the parties, the basis of the claim, the
itemised amount, a deadline, the consequence)."""

from __future__ import annotations

import re
from importlib.resources import files
from itertools import product

import pytest

from amiable_communications.domain import locales, templates
from amiable_communications.domain.locales import LANGUAGES
from amiable_communications.domain.templates import TONES, render

from .conftest import AGENCY, build_context

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"
LOCKED = ("_locked/notice_claim.fr.j2", "_locked/notice_consequence.fr.j2")
TEMPLATES = files("amiable_communications") / "data" / "templates"


def _locked_blocks(tag: str, tone: str) -> list[str]:
    """The locked partials rendered on their own, as the French notice renders them."""
    context = build_context()
    variables = templates._variables("notice.formal", tone, context, locales.resolve(tag))
    variables["locale"] = templates.FRENCH_LAW
    environment = templates._environment()
    return [environment.get_template(name).render(variables).strip() for name in LOCKED]


@pytest.mark.parametrize(("language", "tone"), list(product(LANGUAGES, TONES)))
def test_every_notice_variant_carries_the_locked_blocks_verbatim(language: str, tone: str) -> None:
    body = render("notice.formal", language, tone, build_context()).body
    for block in _locked_blocks(language, tone):
        assert block in body
        assert len(block) > 300  # a block that renders to nothing would pass vacuously


def test_the_locked_blocks_hold_what_the_law_expects() -> None:
    claim, consequence = _locked_blocks("fr", "firm")
    assert claim.startswith("MISE EN DEMEURE DE PAYER")
    assert "nous vous mettons en demeure de payer la somme de 2" in claim
    # the parties
    assert "Créancier : Atelier Durand SAS, 12 rue des Tanneurs, 69002 Lyon" in claim
    assert "RCS Lyon 812 345 678" in claim
    assert "Débiteur : Müller Maschinenbau GmbH, Industriestraße 5" in claim
    # the basis: invoice number and date, and the statute
    assert "Facture n° F-2031-0042 du 2 janvier 2031, échue le 31 janvier 2031" in claim
    assert "articles L441-10 et D441-5 du Code de commerce" in claim
    # the itemised amount, with the interest's rate and period (the DueLine notes)
    assert f"Principal restant dû : 1{NARROW_NBSP}234,56{NBSP}€" in claim
    assert (
        f"Intérêts de retard : 17,26{NBSP}€ (taux et période : 12.15% (ECB 2.15% + 10 pts) on "
        "1234.56 from 2031-02-01 to 2031-03-14, 42 days)"
    ) in claim
    assert claim.count(f"Indemnité forfaitaire pour frais de recouvrement : 40,00{NBSP}€") == 2
    assert f"Total réclamé : 2{NARROW_NBSP}842,81{NBSP}€" in claim
    # the deadline, and how to pay
    assert "au plus tard le 24 mars 2031" in claim
    assert "IBAN FR76 3000 6000 0112 3456 7890 189" in claim
    # the consequence
    assert "vaut mise en demeure au sens de l'article 1344 du Code civil" in consequence
    assert "au plus tard le 24 mars 2031, nous pourrons saisir la juridiction compétente" in (
        consequence
    )


def test_a_notice_sent_by_an_agency_names_it_as_acting_for_the_creditor() -> None:
    profile = build_context().creditor.model_copy(
        update={"sender_mode": "collection_agency", "agency": AGENCY}
    )
    body = render("notice.formal", "fr", "firm", build_context(creditor=profile)).body
    assert (
        "Représenté par : Recouvre Conseil SARL, 4 quai Perrache, 69002 Lyon, France, "
        "immatriculée sous le numéro RCS Lyon 901 222 333, société de recouvrement agissant au "
        "nom et pour le compte du créancier"
    ) in body


def test_the_french_text_is_formatted_as_in_france_and_the_translation_in_the_debtor_s_locale():
    message = render("notice.formal", "en-US", "neutral", build_context())
    french, _, translation = message.body.partition("Translation for information")
    assert f"Total réclamé : 2{NARROW_NBSP}842,81{NBSP}€" in french
    assert "The French text above is the formal notice (mise en demeure) and prevails." in (
        translation
    )
    assert "formal notice to pay €2,842.81 by March 24, 2031" in translation
    assert message.locale == "en-US"


def test_no_notice_variant_can_replace_the_layout_that_includes_the_locked_blocks() -> None:
    """Structure, not only output: each language's notice.formal extends the one notice layout
    and fills in nothing but its subject; the layout includes the French body unconditionally,
    and the body includes both locked partials."""
    for language in LANGUAGES:
        source = (TEMPLATES / language / "notice.formal.j2").read_text(encoding="utf-8")
        assert source.startswith('{% extends "_layout/notice.j2" %}')
        assert re.findall(r"{%\s*block\s+(\w+)", source) == ["subject"]
    layout = (TEMPLATES / "_layout" / "notice.j2").read_text(encoding="utf-8")
    before_include = layout.split('{% include "fr/_notice_body.j2" %}')[0]
    assert "{% if" not in before_include
    body = (TEMPLATES / "fr" / "_notice_body.j2").read_text(encoding="utf-8")
    for name in LOCKED:
        assert f'{{% include "{name}" %}}' in body
    assert "{% if" not in body
