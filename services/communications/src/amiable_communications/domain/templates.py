"""Render a message: ``render(key, language, tone, context) -> Rendered``. Pure: the templates
ship inside the package and are read once; the clock is the context's ``written_on``.

Layout of ``data/templates`` (docs/communications.md):

- ``<lang>/<key>.j2``: one file per template key and language. It extends a layout and fills
  in what is particular to the key (the subject, the purpose paragraph).
- ``<lang>/_blocks.j2``: the language's shared wording, as macros: the tone's register
  (opening, solutions, next step, closing) is written there once per language, not once per
  key.
- ``_layout/{reminder,confirmation,notice}.j2``: the order of the blocks, fixed once for every
  language (the solutions before any consequence).
- ``_locked/notice_*.fr.j2``: the formal notice's legal blocks, in French, which every
  ``notice.formal`` includes whatever its language and tone.

A rendered template's first line is the subject, the rest the body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Any

from babel import Locale
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context

from amiable_communications.domain import locales
from amiable_communications.domain.context import MessageContext
from amiable_events.dunning import Tone

TONES: tuple[Tone, ...] = ("courteous", "neutral", "direct", "firm")

#: Every key a dunning policy or a confirmation may name, and the optional parts of the
#: context it cannot do without.
REQUIRED: dict[str, tuple[str, ...]] = {
    "call.before_due": (),
    "call.first_overdue": (),
    "call.overdue_firm": (),
    "email.reminder": (),
    "email.letter_copy": (),
    "email.check_in": (),
    "email.overdue_firm": (),
    "letter.reminder": (),
    "letter.registered": (),
    "notice.formal": ("payment_deadline", "itemised"),
    "handoff.litigation": (),
    "offer.payment_plan": ("plan",),
    "offer.partial_remission": ("remission",),
    "plan.installment_before": ("installment",),
    "plan.installment_after": ("installment",),
    "confirm.payment_plan": ("plan",),
    "confirm.promise": ("promise",),
    "confirm.dispute": ("dispute",),
    "thanks.settled": (),
}
KEYS: tuple[str, ...] = tuple(REQUIRED)
#: The formal notice is an act of French law: its French text is formatted as in France
#: whatever the debtor's locale.
FRENCH_LAW = Locale.parse("fr_FR")


class MissingContext(ValueError):
    """The context lacks a part the template needs."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    language_used: str
    locale: str
    """The BCP 47 tag figures were formatted in."""


def render(key: str, language: str, tone: Tone, context: MessageContext) -> Rendered:
    """``language`` is the debtor's BCP 47 tag; the template is chosen by its language (English
    when there is none) and figures are formatted in its full locale."""
    if key not in REQUIRED:
        raise KeyError(f"no template {key!r}")
    if tone not in TONES:
        raise ValueError(f"no tone {tone!r}")
    _check_required(key, context)
    resolved = locales.resolve(language)
    template = _environment().get_template(f"{resolved.language}/{key}.j2")
    text = template.render(_variables(key, tone, context, resolved))
    subject, _, body = _tidy(text).partition("\n")
    return Rendered(subject.strip(), body.strip() + "\n", resolved.language, resolved.tag)


def _variables(
    key: str, tone: Tone, context: MessageContext, resolved: locales.Resolved
) -> dict[str, Any]:
    """What every template sees."""
    return {
        "ctx": context,
        "key": key,
        "tone": tone,
        "lang": resolved.language,
        "locale": resolved.locale,
        "french_locale": FRENCH_LAW,
        "currency": context.currency,
        "creditor": context.creditor.creditor,
        "sender": context.creditor.sender,
        "profile": context.creditor,
    }


def _check_required(key: str, context: MessageContext) -> None:
    missing = [
        part
        for part in REQUIRED[key]
        if (
            any(invoice.itemised is None for invoice in context.invoices)
            if part == "itemised"
            else not getattr(context, part)
        )
    ]
    if missing:
        raise MissingContext(f"{key} needs {', '.join(missing)} in its context")


def _tidy(text: str) -> str:
    """Trailing spaces off, at most one blank line in a row: the layouts' optional blocks leave
    gaps when they are empty."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@pass_context
def _money(jinja: Any, amount: Decimal) -> str:
    return locales.money(amount, jinja["currency"], jinja["locale"])


@pass_context
def _date(jinja: Any, day: date) -> str:
    return locales.long_date(day, jinja["locale"])


@pass_context
def _percent(jinja: Any, rate_points: Decimal) -> str:
    return locales.percent(rate_points, jinja["locale"])


@cache
def _environment() -> Environment:
    root = files("amiable_communications") / "data" / "templates"
    environment = Environment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        autoescape=False,  # plain text: an HTML rendering would escape
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(money=_money, date=_date, percent=_percent)
    return environment
