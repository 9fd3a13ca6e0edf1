"""What a debtor owes on a claim on a given date under statutory late-payment rules.

Pure: ``amount_due`` is a function of its arguments only (no I/O, no clock). The rules are data
(``data/late_payment_rules.json`` and the ECB rate history ``data/ecb_rates.csv``);
``LateFeeRules.parse`` builds them from already-read content, and ``LateFeeRules.load`` is the one
place that reads the two files shipped inside this package (once, cached).

Conventions (see docs/late-fees.md):

* Interest is simple (never capitalised) and accrues per day on the principal outstanding, from
  the day after the due date through ``as_of`` inclusive. Interest for the day of a payment is
  counted on the principal before that payment (a movement takes effect at the end of its value
  date).
* The rate of a day is the reference rate in force on the first day of its half-year (1 January
  or 1 July) plus the entry's margin; day count actual/365 (365 even in leap years).
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
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any, Literal

from babel.numbers import get_currency_precision, is_currency

Allocation = Literal["fees_interest_first", "principal_first"]
ALLOCATIONS: tuple[Allocation, ...] = ("fees_interest_first", "principal_first")
DAY_COUNT_BASIS = 365
ONE_DAY = timedelta(days=1)
ZERO = Decimal(0)


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
    rule: str


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

    def in_force_on(self, day: date) -> Decimal:
        """The rate of the last row with effective_from <= day."""
        found: Decimal | None = None
        for effective_from, rate in self.rows:
            if effective_from > day:
                break
            found = rate
        if found is None:
            raise ValueError(
                f"no {self.label} rate in force on {day.isoformat()}: {self.file} starts on "
                f"{self.rows[0][0].isoformat()}; extend it"
            )
        return found


@dataclass(frozen=True)
class CountryRule:
    code: str  # the entry used: "FR", or the default "EU"
    applied_for: str  # the country asked for
    is_default: bool
    name: str
    series: RateSeries
    margin_points: Decimal
    fixed_fee: Mapping[str, Decimal]
    fee_label: str
    source: str

    @staticmethod
    def reference_date(day: date) -> date:
        """1 January for a day of the first half-year, 1 July for one of the second."""
        return date(day.year, 1 if day.month <= 6 else 7, 1)

    def reference_rate(self, day: date) -> Decimal:
        """The reference rate (percent) applying to ``day``: in force on its half-year's start."""
        return self.series.in_force_on(self.reference_date(day))

    def rate(self, day: date) -> Decimal:
        """The late-payment rate (percent per year) applying to ``day``."""
        return self.reference_rate(day) + self.margin_points

    def fee_for(self, currency: str) -> Decimal | None:
        return self.fixed_fee.get(currency)

    @property
    def description(self) -> str:
        head = (
            f"{self.code} default for {self.applied_for} (no entry of its own)"
            if self.is_default and self.applied_for != self.code
            else self.code
        )
        return (
            f"{head}: {self.series.label} + {_num(self.margin_points)} pts, "
            f"half-year reference rate, actual/{DAY_COUNT_BASIS}"
        )


@dataclass(frozen=True)
class LateFeeRules:
    last_checked: date
    default: str
    entries: Mapping[str, CountryRule]

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
            series[name] = RateSeries(
                name=name,
                label=_required(spec, "label", name),
                short_label=spec.get("short_label", spec["label"]),
                rows=rows,
                last_checked=checked,
                file=file,
            )
        default = _required(rules, "default", "rules")
        entries: dict[str, CountryRule] = {}
        for code, spec in _required(rules, "countries", "rules").items():
            if spec.get("reference_date", "half_year_first_day") != "half_year_first_day":
                raise ValueError(f"{code}: only reference_date half_year_first_day is supported")
            if spec.get("day_count", "actual/365") != "actual/365":
                raise ValueError(f"{code}: only day_count actual/365 is supported")
            series_name = _required(spec, "reference_rate_series", code)
            if series_name not in series:
                raise ValueError(f"{code}: unknown reference_rate_series {series_name}")
            fees = {cur: Decimal(amount) for cur, amount in spec.get("fixed_fee", {}).items()}
            for cur, amount in fees.items():
                if not is_currency(cur) or amount < 0:
                    raise ValueError(f"{code}: bad fixed_fee {cur} {amount}")
            entries[code] = CountryRule(
                code=code,
                applied_for=code,
                is_default=code == default,
                name=spec.get("name", code),
                series=series[series_name],
                margin_points=Decimal(_required(spec, "margin_points", code)),
                fixed_fee=fees,
                fee_label=spec.get("fee_label", "fixed recovery fee"),
                source=_required(spec, "source", code),
            )
        if default not in entries:
            raise ValueError(f"default entry {default} is not configured")
        return cls(last_checked=last_checked, default=default, entries=entries)

    def for_country(self, country: str) -> CountryRule:
        """The country's own entry, else the default one (marked as applied for that country)."""
        code = country.strip().upper()
        if code in self.entries:
            return self.entries[code]
        rule = self.entries[self.default]
        return replace(rule, applied_for=code)


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


# --- the computation -----------------------------------------------------------------------------


def amount_due(
    *,
    principal: Decimal,
    currency: str,
    due_on: date,
    country: str,
    movements: Sequence[Movement],
    as_of: date,
    rules: LateFeeRules,
    allocation: Allocation = "fees_interest_first",
    suspensions: Sequence[Suspension] = (),
    fee_applies: bool = True,
) -> AmountDue:
    """What is owed on ``as_of``, itemised; see the module docstring for the conventions."""
    if not is_currency(currency):
        raise ValueError(f"unknown currency {currency!r}")
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {ALLOCATIONS}")
    digits = get_currency_precision(currency)
    _check_amount(principal, "principal", digits, allow_zero=True)
    for m in movements:
        if m.kind not in ("payment", "credit"):
            raise ValueError(f"unknown movement kind {m.kind!r}")
        _check_amount(m.amount, f"{m.kind} of {m.on.isoformat()}", digits, allow_zero=False)
    for s in suspensions:
        if s.end is not None and s.end < s.start:
            raise ValueError(f"suspension ends ({s.end}) before it starts ({s.start})")

    rule = rules.for_country(country)
    run = _Run(
        rule=rule,
        digits=digits,
        principal=principal,
        allocation=allocation,
        suspensions=_merge(suspensions),
    )
    first_day = due_on + ONE_DAY
    fee_amount = rule.fee_for(currency) if fee_applies else None
    fee_charged = False
    fee_note = ""

    def charge_fee() -> None:
        nonlocal fee_charged, fee_note
        fee_charged = True
        if not fee_applies:
            fee_note = "no fixed fee: not applicable to this claim (e.g. insolvency bars payment)"
        elif fee_amount is None:
            configured = ", ".join(sorted(rule.fixed_fee)) or "no currency"
            fee_note = (
                f"no fixed fee: the {rule.code} rule sets it in {configured} only, "
                f"none for {currency}"
            )
        elif run.principal == 0:
            fee_note = "no fixed fee: nothing was outstanding after the due date"
        else:
            run.fee = fee_amount
            run.fee_charged = fee_amount
            fee_note = (
                f"{currency} {_money(fee_amount, digits)} {rule.fee_label}, "
                f"due from {first_day.isoformat()}"
            )

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

    q = Decimal(1).scaleb(-digits)
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
    )


class _Run:
    """The mutable state of one replay (local to one ``amount_due`` call)."""

    def __init__(
        self,
        *,
        rule: CountryRule,
        digits: int,
        principal: Decimal,
        allocation: Allocation,
        suspensions: list[tuple[date, date]],
    ) -> None:
        self.rule = rule
        self.digits = digits
        self.allocation = allocation
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
        if self.principal == 0:
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
                self._interest_line(day, last)
            day = last + ONE_DAY

    def _interest_line(self, start: date, end: date) -> None:
        days = (end - start).days + 1
        reference_date = self.rule.reference_date(start)
        reference = self.rule.series.in_force_on(reference_date)
        rate = reference + self.rule.margin_points
        exact = Fraction(self.principal) * Fraction(rate) * days / (100 * DAY_COUNT_BASIS)
        amount = _round_half_up(exact, self.digits)
        note = (
            f"{_pct(rate)}% ({self.rule.series.short_label} {_pct(reference)}% + "
            f"{_num(self.rule.margin_points)} pts) on {_money(self.principal, self.digits)} "
            f"from {start.isoformat()} to {end.isoformat()}, {days} days"
        )
        if reference_date > self.rule.series.last_checked:
            note += (
                f" (rate in force on {reference_date.isoformat()} not verified: "
                f"{self.rule.series.file} last checked "
                f"{self.rule.series.last_checked.isoformat()})"
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
        order = (
            ("fee", "interest", "principal")
            if self.allocation == "fees_interest_first"
            else ("principal", "interest", "fee")
        )
        for bucket in order:
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


def _check_amount(amount: Decimal, what: str, digits: int, *, allow_zero: bool) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"{what}: amount must be a finite Decimal, got {amount!r}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValueError(f"{what}: amount must be {'>= 0' if allow_zero else '> 0'}")
    if amount != amount.quantize(Decimal(1).scaleb(-digits)):
        raise ValueError(f"{what}: {amount} has more than {digits} decimals for this currency")


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
