"""The wording lint catches the refused phrases in any case or spacing, gives the reason, and
leaves ordinary words alone."""

from __future__ import annotations

import pytest

from amiable_communications.domain.lint import lint, refused_phrases


@pytest.mark.parametrize(
    ("language", "text", "phrase"),
    [
        ("en", "This is your LAST  WARNING before we act.", "last warning"),
        ("en", "You will be put on our blacklist.", "blacklist"),
        ("fr", "Vous êtes un mauvais\u00a0payeur.", "mauvais payeur"),
        ("de", "Wir stellen Sie an den Schuldner-Pranger.", "Schuldner-Pranger"),
        ("de", "Nicht auf die schwarzen Listen: auf die schwarze Liste.", "schwarze Liste"),
        ("nl", "Dit is uw laatste waarschuwing.", "laatste waarschuwing"),
        ("it-IT", "Siete un cattivo pagatore.", "cattivo pagatore"),
        ("fr", "Inscription en liste noire (blacklist).", "blacklist"),
    ],
)
def test_the_lint_catches_a_refused_phrase(language: str, text: str, phrase: str) -> None:
    findings = lint(text, language)
    assert phrase in [finding.phrase for finding in findings]
    found = next(finding for finding in findings if finding.phrase == phrase)
    assert found.reason
    assert text[found.position :].lower().startswith(phrase.split()[0].split("-")[0].lower())


def test_the_lint_matches_whole_words_only() -> None:
    assert lint("Our policy on criminalistics and shampoo.", "en") == []
    assert lint("Nous ne pouvons pas afficher ce fichier.", "fr") == []


def test_the_lint_reports_findings_in_text_order() -> None:
    findings = lint("A bad payer gets a final warning.", "en")
    assert [finding.phrase for finding in findings] == ["bad payer", "final warning"]


def test_every_entry_has_a_reason_and_is_caught_by_the_lint() -> None:
    for language, entries in refused_phrases().items():
        assert entries, language
        for entry in entries:
            assert entry["reason"].strip(), entry
            target = "en" if language == "all" else language
            assert entry["phrase"] in [f.phrase for f in lint(f"… {entry['phrase']} …", target)]
