"""What a debtor owes on a claim on a given date: the principal, late interest and the fixed fee.

Pure: ``amount_due`` is a function of its arguments only (no I/O, no clock). The rules are data
(``data/late_payment_rules.json`` and one CSV per reference rate history); ``LateFeeRules.parse``
builds them from already-read content, and ``LateFeeRules.load`` is the one place that reads the
files shipped inside this package (once, cached).

Which rule applies follows the claim's **governing law** (``LateFeeRules.resolve``), never the
debtor's country: a law with its own entry uses it (FR, DE, GB), another EU member state's law
the EU default (Directive 2011/7/EU), any other law (or ``"none"``) no statute at all. The
claim's contractual ``Terms`` (a rate, a margin over a reference rate, a fixed sum) replace the
statutory figures they name.

Conventions (see docs/late-fees.md):

* Interest is simple (never capitalised) and accrues per day on the principal outstanding, from
  the day after the due date through ``as_of`` inclusive. Interest for the day of a payment is
  counted on the principal before that payment (a movement takes effect at the end of its value
  date).
* The rate of a day is a reference rate plus a margin; the reference date is the first day of
  the day's half-year (1 January / 1 July: FR, DE, EU) or the eve of the half-year in which the
  debt fell late, fixed for the debt (31 December / 30 June: GB); day count actual/365 (365
  even in leap years).
* Each interest line covers a run of days with one rate, one principal and no movement in
  between: a new line starts on 1 January / 1 July, after every movement and at every
  suspension boundary. Each line's amount is computed exactly (rational arithmetic) and rounded
  once, at the end of the line, to the currency's minor unit (babel) with ROUND_HALF_UP; totals
  are sums of rounded lines, so the itemised lines always add up.
* Movements are replayed in value-date order (stable for equal dates), so a back-dated payment
  changes every later answer; movements dated after ``as_of`` are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any, Literal

from amiable_rules import money

Allocation = Literal["fees_interest_first", "principal_first"]
ALLOCATIONS: tuple[Allocation, ...] = ("fees_interest_first", "principal_first")
#: The order in which a payment fills what is owed, per allocation.
ALLOCATION_ORDER: Mapping[str, tuple[str, str, str]] = {
    "fees_interest_first": ("fee", "interest", "principal"),
    "principal_first": ("principal", "interest", "fee"),
}
ReferenceDate = Literal["half_year_first_day", "half_year_eve"]
RatePeriod = Literal["each_half_year", "fixed_when_late"]
NO_STATUTE = "none"  # the governing law "none": no statute applies, only the contract's terms
DAY_COUNT_BASIS = 365
ONE_DAY = timedelta(days=1)
ZERO = Decimal(0)
_LAW = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Movement:
    """Something that changes what is owed, in log order."""

    on: date  # the value date (a back-dated payment has an early date)
    kind: Literal["payment", "credit"]  # payment = money received; credit = credit note
    amount: Decimal


@dataclass(frozen=True)
class Suspension:
    """Interest does not accrue between start and end inclusive (e.g. a respected plan)."""

    start: date
    end: date | None  # None = still running


@dataclass(frozen=True)
class DueLine:
    kind: Literal["principal", "interest", "fixed_fee"]
    amount: Decimal
    note: str


@dataclass(frozen=True)
class AmountDue:
    as_of: date
    currency: str
    principal_outstanding: Decimal
    interest: Decimal  # outstanding, after allocation of payments
    fixed_fee: Decimal  # outstanding
    total: Decimal  # principal_outstanding + interest + fixed_fee
    overpaid: Decimal  # credit balance, >= 0
    interest_accrued: Decimal
    paid: Decimal
    lines: tuple[DueLine, ...]
    rule: str  # the rule applied, in words
    law: str = NO_STATUTE  # the governing law
    entry: str = NO_STATUTE  # the data entry used ("EU" for an EU law without its own)
    source: str = ""  # the legal source of the statutory entry


# --- contractual terms -----------------------------------------------------------------------


@dataclass(frozen=True)
class ContractualInterest:
    """A late-payment rate the contract sets: ``fixed`` (``rate`` percent a year) or
    ``reference_plus`` (``margin`` points over a reference rate series: the governing law's
    own unless ``reference`` names one)."""

    kind: Literal["fixed", "reference_plus"]
    rate: Decimal | None = None
    margin: Decimal | None = None
    reference: str | None = None


@dataclass(frozen=True)
class Terms:
    """The late-payment terms of the claim's contract; each replaces the statutory figure."""

    interest: ContractualInterest | None = None
    fixed_fee: Decimal | None = None  # in the claim's currency

    @classmethod
    def from_mapping(cls, terms: Mapping[str, Any] | None) -> Terms | None:
        """The terms from their wire shape (``late_payment_terms`` of ``ClaimRegistered``):
        ``{"interest": {"kind", "rate", "margin", "reference"}, "fixed_fee"}``, decimals as
        strings or Decimals; None stays None."""
        if terms is None:
            return None
        interest = terms.get("interest")
        fee = terms.get("fixed_fee")
        return cls(
            interest=None
            if interest is None
            else ContractualInterest(
                kind=interest["kind"],
                rate=_decimal(interest.get("rate")),
                margin=_decimal(interest.get("margin")),
                reference=interest.get("reference"),
            ),
            fixed_fee=_decimal(fee),
        )


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


# --- rules as data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSeries:
    """A reference rate history: (effective_from, rate in percent) rows, ascending."""

    name: str
    label: str  # "ECB MRO"
    short_label: str  # "ECB"
    rows: tuple[tuple[date, Decimal], ...]
    last_checked: date
    file: str
    source: str = ""

    def in_force_on(self, day: date) -> Decimal:
        """The rate of the last row with effective_from <= day.

        Before the first row, the first row's rate: registration refuses a claim whose
        reference rate the table does not hold, but a claim registered before that rule must
        still get an amount due, never an error. The interest line says so (:meth:`covers`).
        """
        found = self.rows[0][1]
        for effective_from, rate in self.rows:
            if effective_from > day:
                break
            found = rate
        return found

    def covers(self, day: date) -> bool:
        return day >= self.rows[0][0]


def half_year_start(day: date) -> date:
    """1 January for a day of the first half-year, 1 July for one of the second."""
    return date(day.year, 1 if day.month <= 6 else 7, 1)


@dataclass(frozen=True)
class InterestRule:
    """How the late-payment rate of a day is found: a reference rate plus a margin, or a rate
    fixed by contract (``series`` None, the rate is ``margin_points``)."""

    series: RateSeries | None
    margin_points: Decimal
    reference_date: ReferenceDate = "half_year_first_day"
    period: RatePeriod = "each_half_year"
    contractual: bool = False

    def reference_day(self, day: date, first_late_day: date) -> date:
        """The day whose reference rate applies to ``day``."""
        start = half_year_start(first_late_day if self.period == "fixed_when_late" else day)
        return start - ONE_DAY if self.reference_date == "half_year_eve" else start

    def rate(self, day: date, first_late_day: date) -> Decimal:
        """The late-payment rate (percent per year) applying to ``day``."""
        if self.series is None:
            return self.margin_points
        return self.series.in_force_on(self.reference_day(day, first_late_day)) + self.margin_points

    @property
    def description(self) -> str:
        if self.series is None:
            return f"contractual rate {_pct(self.margin_points)}%"
        text = f"{self.series.label} + {_num(self.margin_points)} pts"
        if self.contractual:
            text = f"contractual {text}"
        if self.period == "fixed_when_late":
            when = "31 Dec / 30 Jun" if self.reference_date == "half_year_eve" else "1 Jan / 1 Jul"
            return f"{text}, reference rate on {when} before the debt fell late, fixed"
        return f"{text}, half-year reference rate"


@dataclass(frozen=True)
class FeeBand:
    below: Decimal | None  # the band covers debts < below (None: no upper bound)
    amount: Decimal


@dataclass(frozen=True)
class FeeRule:
    """The fixed sum per invoice: per currency, by band of the debt (one band: a flat sum)."""

    bands: Mapping[str, tuple[FeeBand, ...]]
    label: str
    contractual: bool = False
    flat: Decimal | None = None  # a contractual sum, in whatever currency the claim is in

    def amount_for(self, currency: str, debt: Decimal) -> Decimal | None:
        if self.flat is not None:
            return self.flat
        for band in self.bands.get(currency, ()):
            if band.below is None or debt < band.below:
                return band.amount
        return None


@dataclass(frozen=True)
class LawEntry:
    """One entry of the data file: the statute of a governing law (or the EU default)."""

    code: str
    name: str
    interest: InterestRule | None
    fee: FeeRule | None
    source: str


@dataclass(frozen=True)
class LateRule:
    """The rule that applies to one claim: its governing law's entry and its contract's terms."""

    law: str  # the governing law asked for: "FR", "IT", "US", "none"
    entry: LawEntry  # the entry used: "FR", the "EU" default, "none"
    interest: InterestRule | None
    fee: FeeRule | None

    @property
    def description(self) -> str:
        code = self.entry.code
        if code == self.law:
            head = code
        elif code == NO_STATUTE:
            head = f"none for {self.law} (no statutory rule configured)"
        else:
            head = f"{code} default for {self.law} (no entry of its own)"
        if self.interest is None:
            interest = "no late interest"
        else:
            interest = f"{self.interest.description}, actual/{DAY_COUNT_BASIS}"
        text = f"{head}: {interest}"
        if self.fee is not None and self.fee.contractual:
            text += "; contractual fixed fee"
        elif self.fee is None:
            text += "; no fixed fee"
        return text


@dataclass(frozen=True)
class LateFeeRules:
    last_checked: date
    default: str  # the entry for a law of an EU member state without its own
    eu_member_states: frozenset[str]
    entries: Mapping[str, LawEntry]
    series: Mapping[str, RateSeries]

    @classmethod
    def load(cls) -> LateFeeRules:
        """The rules shipped in ``amiable_rules/data`` (read once, then cached)."""
        return _load_packaged()

    @classmethod
    def parse(cls, rules: Mapping[str, Any], series_files: Mapping[str, str]) -> LateFeeRules:
        """Builds the rules from the parsed JSON and the text of each rate file, by file name."""
        last_checked = date.fromisoformat(_required(rules, "last_checked", "rules"))
        series: dict[str, RateSeries] = {}
        for name, spec in _required(rules, "rate_series", "rules").items():
            file = _required(spec, "file", name)
            if file not in series_files:
                raise ValueError(f"rate series {name}: file {file} not provided")
            rows, checked = _parse_rate_csv(series_files[file], file)
            if spec.get("changes_on_half_year_days"):
                odd = [d for d, _ in rows if (d.month, d.day) not in ((1, 1), (7, 1))]
                if odd:
                    raise ValueError(f"{file}: changes only on 1 Jan / 1 Jul, not {odd[0]}")
            series[name] = RateSeries(
                name=name,
                label=_required(spec, "label", name),
                short_label=spec.get("short_label", spec["label"]),
                rows=rows,
                last_checked=checked,
                file=file,
                source=spec.get("source", ""),
            )
        default = _required(rules, "default", "rules")
        entries: dict[str, LawEntry] = {}
        for code, spec in _required(rules, "laws", "rules").items():
            if spec.get("day_count", "actual/365") != "actual/365":
                raise ValueError(f"{code}: only day_count actual/365 is supported")
            entries[code] = LawEntry(
                code=code,
                name=spec.get("name", code),
                interest=_interest_rule(code, spec.get("interest"), series),
                fee=_fee_rule(code, spec.get("fixed_fee"), spec.get("fee_label")),
                source=_required(spec, "source", code),
            )
        for code in (default, NO_STATUTE):
            if code not in entries:
                raise ValueError(f"entry {code} is not configured")
        return cls(
            last_checked=last_checked,
            default=default,
            eu_member_states=frozenset(rules.get("eu_member_states", ())),
            entries=entries,
            series=series,
        )

    def entry_for(self, law: str) -> LawEntry:
        """The law's own entry; else the EU default for an EU member state; else none."""
        if law in self.entries:
            return self.entries[law]
        if law in self.eu_member_states:
            return self.entries[self.default]
        return self.entries[NO_STATUTE]

    def law_error(self, law: str) -> str | None:
        """Why ``law`` cannot be a governing law, or None."""
        if law == NO_STATUTE or _LAW.match(law):
            return None
        return "an ISO 3166-1 alpha-2 country code, or 'none' when no statute applies"

    def terms_errors(self, law: str, terms: Terms | None) -> list[tuple[str, str]]:
        """(field, reason) for every term that cannot apply under ``law``."""
        errors: list[tuple[str, str]] = []
        if terms is None:
            return errors
        interest = terms.interest
        if interest is not None:
            if interest.kind == "fixed":
                if interest.rate is None or interest.rate < 0:
                    errors.append(("interest.rate", "a fixed rate needs rate >= 0 (percent)"))
            elif interest.kind == "reference_plus":
                if interest.margin is None:
                    errors.append(("interest.margin", "reference_plus needs a margin (points)"))
                name = interest.reference
                if name is not None and name not in self.series:
                    known = ", ".join(sorted(self.series))
                    errors.append(("interest.reference", f"unknown rate series; one of {known}"))
                statute = self.entry_for(law).interest
                if name is None and (statute is None or statute.series is None):
                    errors.append(
                        (
                            "interest.reference",
                            f"required: no statutory reference rate under law {law}",
                        )
                    )
            else:
                errors.append(("interest.kind", "fixed or reference_plus"))
        if terms.fixed_fee is not None and terms.fixed_fee < 0:
            errors.append(("fixed_fee", "must be greater than or equal to 0"))
        return errors

    def resolve(self, law: str, terms: Terms | None = None) -> LateRule:
        """The rule for a claim governed by ``law`` with its contract's ``terms``."""
        entry = self.entry_for(law)
        interest, fee = entry.interest, entry.fee
        if terms is not None and terms.interest is not None:
            interest = self._contractual_interest(terms.interest, entry)
        if terms is not None and terms.fixed_fee is not None:
            fee = FeeRule(
                bands={},
                label="contractual fixed fee (late_payment_terms)",
                contractual=True,
                flat=terms.fixed_fee,
            )
        return LateRule(law=law, entry=entry, interest=interest, fee=fee)

    def _contractual_interest(self, spec: ContractualInterest, entry: LawEntry) -> InterestRule:
        if spec.kind == "fixed":
            return InterestRule(series=None, margin_points=spec.rate or ZERO, contractual=True)
        statute = entry.interest
        if spec.reference is not None:
            series = self.series[spec.reference]
            reference_date: ReferenceDate = "half_year_first_day"
            period: RatePeriod = "each_half_year"
        elif statute is not None and statute.series is not None:
            series, reference_date, period = (
                statute.series,
                statute.reference_date,
                statute.period,
            )
        else:
            raise ValueError(f"reference_plus terms need a reference rate under {entry.code}")
        return InterestRule(
            series=series,
            margin_points=spec.margin or ZERO,
            reference_date=reference_date,
            period=period,
            contractual=True,
        )


def _interest_rule(code: str, spec: Any, series: Mapping[str, RateSeries]) -> InterestRule | None:
    if spec is None:
        return None
    name = _required(spec, "reference_rate_series", code)
    if name not in series:
        raise ValueError(f"{code}: unknown reference_rate_series {name}")
    reference_date = spec.get("reference_date", "half_year_first_day")
    if reference_date not in ("half_year_first_day", "half_year_eve"):
        raise ValueError(f"{code}: reference_date half_year_first_day or half_year_eve")
    period = spec.get("period", "each_half_year")
    if period not in ("each_half_year", "fixed_when_late"):
        raise ValueError(f"{code}: period each_half_year or fixed_when_late")
    return InterestRule(
        series=series[name],
        margin_points=Decimal(_required(spec, "margin_points", code)),
        reference_date=reference_date,
        period=period,
    )


def _fee_rule(code: str, spec: Any, label: str | None) -> FeeRule | None:
    if not spec:
        return None
    bands: dict[str, tuple[FeeBand, ...]] = {}
    for currency, value in spec.items():
        if not money.known_currency(currency):
            raise ValueError(f"{code}: unknown fixed_fee currency {currency}")
        rows = [{"amount": value}] if isinstance(value, str) else value
        parsed = tuple(
            FeeBand(Decimal(row["below"]) if "below" in row else None, Decimal(row["amount"]))
            for row in rows
        )
        if any(band.amount < 0 for band in parsed) or any(b.below is None for b in parsed[:-1]):
            raise ValueError(f"{code}: bad fixed_fee bands for {currency}")
        if parsed[-1].below is not None:
            raise ValueError(f"{code}: the last fixed_fee band of {currency} has no 'below'")
        bounds = [band.below for band in parsed[:-1]]
        if bounds != sorted(bounds):
            raise ValueError(f"{code}: fixed_fee bands of {currency} must ascend")
        bands[currency] = parsed
    return FeeRule(bands=bands, label=label or "fixed recovery fee")


def _required(spec: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in spec:
        raise ValueError(f"{where}: missing {key}")
    return spec[key]


_LAST_CHECKED = re.compile(r"last_checked:\s*(\d{4}-\d{2}-\d{2})")


def _parse_rate_csv(text: str, file: str) -> tuple[tuple[tuple[date, Decimal], ...], date]:
    """Rows of ``effective_from,rate_percent``; ``#`` lines are comments, one has last_checked."""
    last_checked: date | None = None
    header_seen = False
    rows: list[tuple[date, Decimal]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = _LAST_CHECKED.search(line)
            if match and last_checked is None:
                last_checked = date.fromisoformat(match.group(1))
            continue
        if not header_seen:
            if [c.strip() for c in line.split(",")] != ["effective_from", "rate_percent"]:
                raise ValueError(f"{file}:{number}: expected header effective_from,rate_percent")
            header_seen = True
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 2:
            raise ValueError(f"{file}:{number}: expected 2 columns")
        day, rate = date.fromisoformat(cells[0]), Decimal(cells[1])
        if rows and day <= rows[-1][0]:
            raise ValueError(f"{file}:{number}: dates must be strictly ascending")
        rows.append((day, rate))
    if last_checked is None:
        raise ValueError(f"{file}: no '# last_checked: YYYY-MM-DD' comment")
    if not rows:
        raise ValueError(f"{file}: no rows")
    return tuple(rows), last_checked


@cache
def _load_packaged() -> LateFeeRules:
    data = resources.files("amiable_rules").joinpath("data")
    rules = json.loads(data.joinpath("late_payment_rules.json").read_text(encoding="utf-8"))
    files = {
        spec["file"]: data.joinpath(spec["file"]).read_text(encoding="utf-8")
        for spec in rules.get("rate_series", {}).values()
    }
    return LateFeeRules.parse(rules, files)


#: No late charge at all: what :func:`open_principal` applies.
PRINCIPAL_ONLY = LateRule(
    law=NO_STATUTE,
    entry=LawEntry(NO_STATUTE, "no late charges", None, None, ""),
    interest=None,
    fee=None,
)


# --- the computation -----------------------------------------------------------------------------


def open_principal(
    *, principal: Decimal, currency: str, movements: Sequence[Movement], as_of: date | None = None
) -> Decimal:
    """What is owed on the invoice itself, before any late charge, at the end of ``as_of``
    (every movement when None): :func:`amount_due` under no late-payment rule, so it is
    ``principal - credit notes - payments``, floored at 0, whatever the allocation."""
    if not movements:
        # What amount_due gives with nothing to replay, checked as it checks it, without
        # itemising: a claim's projection computes this on every event it applies.
        if not money.known_currency(currency):
            raise ValueError(f"unknown currency {currency!r}")
        _check_amount(principal, "principal", currency, allow_zero=True)
        return principal.quantize(money.unit(currency))
    return amount_due(
        principal=principal,
        currency=currency,
        due_on=date.max,
        movements=movements,
        as_of=as_of or date.max,
        rule=PRINCIPAL_ONLY,
    ).principal_outstanding


def amount_due(
    *,
    principal: Decimal,
    currency: str,
    due_on: date,
    movements: Sequence[Movement],
    as_of: date,
    rule: LateRule,
    allocation: Allocation = "fees_interest_first",
    suspensions: Sequence[Suspension] = (),
    fee_applies: bool = True,
    fee_waived_from: date | None = None,
) -> AmountDue:
    """What is owed on ``as_of`` under ``rule``, itemised; see the module docstring.

    ``fee_waived_from``: a fixed fee that would fall due on or after that day is not due (the
    debtor's collective proceedings opened then, D441-5); one that fell due before it stays."""
    if not money.known_currency(currency):
        raise ValueError(f"unknown currency {currency!r}")
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {ALLOCATIONS}")
    digits = money.minor_digits(currency)
    _check_amount(principal, "principal", currency, allow_zero=True)
    for m in movements:
        if m.kind not in ("payment", "credit"):
            raise ValueError(f"unknown movement kind {m.kind!r}")
        _check_amount(m.amount, f"{m.kind} of {m.on.isoformat()}", currency, allow_zero=False)
    for s in suspensions:
        if s.end is not None and s.end < s.start:
            raise ValueError(f"suspension ends ({s.end}) before it starts ({s.start})")

    first_day = due_on + ONE_DAY if due_on < date.max else date.max
    run = _Run(
        interest=rule.interest,
        first_late_day=first_day,
        digits=digits,
        principal=principal,
        allocation=allocation,
        suspensions=_merge(suspensions),
    )
    fee_charged = False
    fee_note = ""

    def charge_fee() -> None:
        nonlocal fee_charged, fee_note
        fee_charged = True
        fee = rule.fee
        amount = fee.amount_for(currency, run.principal) if fee is not None else None
        if not fee_applies:
            fee_note = "no fixed fee: not applicable to this claim (e.g. insolvency bars payment)"
        elif fee_waived_from is not None and first_day >= fee_waived_from:
            fee_note = (
                f"no fixed fee: waived from {fee_waived_from.isoformat()} (collective "
                f"proceedings bar paying it, D441-5); it would have fallen due on "
                f"{first_day.isoformat()}"
            )
        elif fee is None:
            where = (
                "no statute applies"
                if rule.entry.code == NO_STATUTE
                else f"the {rule.entry.code} rule sets none"
            )
            fee_note = f"no fixed fee: {where} and the contract sets none"
        elif amount is None:
            configured = ", ".join(sorted(fee.bands)) or "no currency"
            fee_note = (
                f"no fixed fee: the {rule.entry.code} rule sets it in {configured} only, "
                f"none for {currency}"
            )
        elif run.principal == 0:
            fee_note = "no fixed fee: nothing was outstanding after the due date"
        else:
            _check_amount(amount, "fixed fee", currency, allow_zero=True)
            run.fee = amount
            run.fee_charged = amount
            fee_note = (
                f"{currency} {_money(amount, digits)} {fee.label}, due from {first_day.isoformat()}"
            )
            if len(fee.bands.get(currency, ())) > 1:
                fee_note += f" (debt {_money(run.principal, digits)})"

    cursor = first_day
    for m in sorted((m for m in movements if m.on <= as_of), key=lambda m: m.on):
        if m.on >= cursor:
            run.accrue(cursor, m.on)
            cursor = m.on + ONE_DAY
        if m.on >= first_day and not fee_charged:
            charge_fee()
        run.apply(m)
    run.accrue(cursor, as_of)
    if as_of >= first_day and not fee_charged:
        charge_fee()
    if not fee_charged:
        fee_note = f"fixed fee not yet due: due from {first_day.isoformat()}"

    q = money.unit(currency)
    principal_net = principal - run.credited
    principal_note = f"invoice principal {_money(principal, digits)}"
    if run.credited:
        principal_note += f", less credit notes {_money(run.credited, digits)}"
    principal_note += (
        f"; paid to principal {_money(run.paid_to_principal, digits)}; "
        f"outstanding {_money(run.principal, digits)}"
    )
    lines = (
        DueLine("principal", principal_net.quantize(q), principal_note),
        *run.lines,
        DueLine("fixed_fee", run.fee_charged.quantize(q), fee_note),
    )
    return AmountDue(
        as_of=as_of,
        currency=currency,
        principal_outstanding=run.principal.quantize(q),
        interest=run.interest.quantize(q),
        fixed_fee=run.fee.quantize(q),
        total=(run.principal + run.interest + run.fee).quantize(q),
        overpaid=run.overpaid.quantize(q),
        interest_accrued=run.accrued.quantize(q),
        paid=run.paid.quantize(q),
        lines=lines,
        rule=rule.description,
        law=rule.law,
        entry=rule.entry.code,
        source=rule.entry.source,
    )


class _Run:
    """The mutable state of one replay (local to one ``amount_due`` call)."""

    def __init__(
        self,
        *,
        interest: InterestRule | None,
        first_late_day: date,
        digits: int,
        principal: Decimal,
        allocation: Allocation,
        suspensions: list[tuple[date, date]],
    ) -> None:
        self.rule = interest
        self.first_late_day = first_late_day
        self.digits = digits
        self.order = ALLOCATION_ORDER[allocation]
        self.suspensions = suspensions
        self.principal = principal
        self.interest = ZERO
        self.fee = ZERO
        self.fee_charged = ZERO
        self.overpaid = ZERO
        self.accrued = ZERO
        self.paid = ZERO
        self.credited = ZERO
        self.paid_to_principal = ZERO
        self.lines: list[DueLine] = []

    def accrue(self, start: date, end: date) -> None:
        """Interest lines for the days start..end inclusive, on the current principal."""
        if self.principal == 0 or self.rule is None:
            return
        day = start
        while day <= end:
            half_end = date(day.year, 6, 30) if day.month <= 6 else date(day.year, 12, 31)
            suspended, boundary = self._suspension_at(day)
            if suspended:
                last = min(end, boundary)
                days = (last - day).days + 1
                self.lines.append(
                    DueLine(
                        "interest",
                        Decimal(0).scaleb(-self.digits),
                        f"no interest: suspended from {day.isoformat()} to {last.isoformat()}, "
                        f"{days} days (on {_money(self.principal, self.digits)})",
                    )
                )
            else:
                last = min(end, half_end, boundary)
                self._interest_line(self.rule, day, last)
            day = last + ONE_DAY

    def _interest_line(self, rule: InterestRule, start: date, end: date) -> None:
        days = (end - start).days + 1
        rate = rule.rate(start, self.first_late_day)
        exact = Fraction(self.principal) * Fraction(rate) * days / (100 * DAY_COUNT_BASIS)
        amount = _round_half_up(exact, self.digits)
        span = (
            f"on {_money(self.principal, self.digits)} "
            f"from {start.isoformat()} to {end.isoformat()}, {days} days"
        )
        if rule.series is None:
            note = f"{_pct(rate)}% (contractual rate) {span}"
        else:
            reference_day = rule.reference_day(start, self.first_late_day)
            reference = rule.series.in_force_on(reference_day)
            margin = f"{_num(rule.margin_points)} pts"
            if rule.contractual:
                margin += ", contractual margin"
            note = f"{_pct(rate)}% ({rule.series.short_label} {_pct(reference)}% + {margin}) {span}"
            if not rule.series.covers(reference_day):
                note += (
                    f" (no rate in force on {reference_day.isoformat()} in {rule.series.file}, "
                    f"which starts on {rule.series.rows[0][0].isoformat()}: its first rate applied)"
                )
            if reference_day > rule.series.last_checked:
                note += (
                    f" (rate in force on {reference_day.isoformat()} not verified: "
                    f"{rule.series.file} last checked {rule.series.last_checked.isoformat()})"
                )
        self.lines.append(DueLine("interest", amount, note))
        self.interest += amount
        self.accrued += amount

    def _suspension_at(self, day: date) -> tuple[bool, date]:
        """Whether ``day`` is suspended, and the last day of that state (date.max if none)."""
        for start, end in self.suspensions:
            if start <= day <= end:
                return True, end
            if start > day:
                return False, start - ONE_DAY
        return False, date.max

    def apply(self, movement: Movement) -> None:
        amount = movement.amount
        if movement.kind == "credit":
            taken = min(amount, self.principal)
            self.principal -= taken
            self.credited += taken
            self.overpaid += amount - taken
            return
        self.paid += amount
        for bucket in self.order:
            taken = min(amount, getattr(self, bucket))
            setattr(self, bucket, getattr(self, bucket) - taken)
            if bucket == "principal":
                self.paid_to_principal += taken
            amount -= taken
        self.overpaid += amount


def _merge(suspensions: Sequence[Suspension]) -> list[tuple[date, date]]:
    """Disjoint, ascending (start, end) intervals; an open end runs to date.max."""
    merged: list[tuple[date, date]] = []
    for start, end in sorted((s.start, s.end or date.max) for s in suspensions):
        if merged and start <= merged[-1][1]:  # overlapping: one interval
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _check_amount(amount: Decimal, what: str, currency: str, *, allow_zero: bool) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"{what}: amount must be a finite Decimal, got {amount!r}")
    error = money.amount_error(amount, currency, allow_zero=allow_zero)
    if error:
        raise ValueError(f"{what}: {amount} {error}")


def _round_half_up(value: Fraction, digits: int) -> Decimal:
    """Exact rational -> Decimal with ``digits`` decimals, ROUND_HALF_UP (value >= 0)."""
    scaled = value * 10**digits
    units = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(units).scaleb(-digits).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)


def _money(amount: Decimal, digits: int) -> str:
    return f"{amount.quantize(Decimal(1).scaleb(-digits)):f}"


def _pct(rate: Decimal) -> str:
    two = rate.quantize(Decimal("0.01"))
    return f"{two if two == rate else rate.normalize():f}"


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"
