"""A dunning policy as data: the tracks of steps a claim follows, the tone per country, the
contact hours, and the limits that keep reminders from teaching debtors to wait.

Read from a versioned YAML file (``data/policies/default.yaml`` unless another is given) and
validated on load: a policy that could send a formal notice without a reminder before it, press
a fragile customer, or hand a claim to litigation without a person's approval is refused, with
the path of the faulty field and the reason.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from amiable_events.base import Amount, CurrencyCode
from amiable_events.dunning import Action, Channel, Stage, Tone
from amiable_events.risk import Segment
from amiable_rules.money import amount_error

Anchor = Literal["issued_on", "due_on"]
TrackId = Literal["standard_b2b", "large_claim", "fragile_customer", "chronic_late_payer"]
Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
CountryKey = Annotated[str, Field(pattern=r"^([A-Z]{2}|default)$")]

#: The channels each action can go by. A proposal is a conversation, so it may go by any channel
#: that reaches a person; a formal notice must leave a written trace.
CHANNELS: dict[Action, frozenset[Channel]] = {
    "call_task": frozenset({"phone"}),
    "email": frozenset({"email"}),
    "sms": frozenset({"sms"}),
    "letter": frozenset({"letter", "registered_letter"}),
    "registered_letter": frozenset({"registered_letter"}),
    "visit_task": frozenset({"visit"}),
    "propose_payment_plan": frozenset({"phone", "email", "letter", "visit"}),
    "propose_partial_remission": frozenset({"phone", "email", "letter", "visit"}),
    "formal_notice": frozenset({"registered_letter", "letter", "email", "bailiff"}),
    "bailiff_summons": frozenset({"bailiff"}),
    "litigation_handoff": frozenset({"lawyer"}),
}
#: Steps that ask the debtor to pay, and that the per-stage cap counts.
REMINDERS: frozenset[Action] = frozenset(
    {"call_task", "email", "sms", "letter", "registered_letter"}
)
PROPOSALS: frozenset[Action] = frozenset({"propose_payment_plan", "propose_partial_remission"})
#: Steps that end the amicable tone whatever their wording.
FIRM_ACTIONS: frozenset[Action] = frozenset(
    {"registered_letter", "formal_notice", "bailiff_summons", "litigation_handoff"}
)
NEEDS_A_PERSON: frozenset[Action] = frozenset({"bailiff_summons", "litigation_handoff"})
DEFAULT_PAYMENT_DEADLINE_DAYS = 8
#: Debtors in these segments are never chased: collective proceedings freeze individual claims.
NEVER_CHASED: frozenset[str] = frozenset({"insolvency"})
FRAGILE_SEGMENT = "loyal_temporary_difficulty"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(_Data):
    amount: Amount
    currency: CurrencyCode

    @model_validator(mode="after")
    def _valid(self) -> Money:
        error = amount_error(self.amount, self.currency)
        if error:
            raise ValueError(f"amount {error}")
        return self

    def reached_by(self, amount: Decimal, currency: str) -> bool:
        """Whether ``amount`` reaches this one. Amounts in another currency are never compared:
        the policy knows no exchange rate."""
        return currency == self.currency and amount >= self.amount


class Conditions(_Data):
    """When a step applies; a condition left out always holds."""

    min_amount: Money | None = None
    segments: tuple[Segment, ...] | None = None
    countries: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], ...] | None = None

    def hold(self, amount: Decimal, currency: str, segment: str | None, country: str) -> bool:
        if self.min_amount is not None and not self.min_amount.reached_by(amount, currency):
            return False
        if self.segments is not None and segment not in self.segments:
            return False
        return self.countries is None or country in self.countries


class Step(_Data):
    key: Key
    anchor: Anchor
    offset_business_days: int
    action: Action
    channels: tuple[Channel, ...] = Field(min_length=1, description="Tried in order")
    template: Key
    tone: Tone | None = Field(None, description="None: the culture map's tone for the country")
    contact_role: Key = "accounts_payable"
    conditions: Conditions = Conditions()
    needs_approval: bool = False
    #: The message waits in the communications review queue until a person approves,
    #: edits or rejects it.
    review: bool = False
    payment_deadline_days: int | None = Field(None, ge=1, le=60)

    @model_validator(mode="before")
    @classmethod
    def _deadline_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("action") == "formal_notice":
            return {"payment_deadline_days": DEFAULT_PAYMENT_DEADLINE_DAYS, **data}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Step:
        wrong = [channel for channel in self.channels if channel not in CHANNELS[self.action]]
        if wrong:
            allowed = ", ".join(sorted(CHANNELS[self.action]))
            raise ValueError(
                f"step {self.key}: a {self.action} cannot go by {', '.join(wrong)} "
                f"(it goes by {allowed})"
            )
        if len(set(self.channels)) != len(self.channels):
            raise ValueError(f"step {self.key}: a channel appears twice in the fallback list")
        if self.action in NEEDS_A_PERSON and not self.needs_approval:
            raise ValueError(f"step {self.key}: a {self.action} needs a person's approval")
        if self.payment_deadline_days is not None and self.action != "formal_notice":
            raise ValueError(f"step {self.key}: only a formal_notice has a payment deadline")
        return self

    @property
    def firm(self) -> bool:
        return self.tone == "firm" or self.action in FIRM_ACTIONS


class AppliesTo(_Data):
    segments: tuple[Segment, ...] = ()
    hardship: bool = False


class Track(_Data):
    id: TrackId
    applies_to: AppliesTo = AppliesTo()
    steps: tuple[Step, ...] = Field(min_length=1)

    @property
    def fragile(self) -> bool:
        return self.applies_to.hardship or FRAGILE_SEGMENT in self.applies_to.segments

    @model_validator(mode="after")
    def _rules(self) -> Track:
        keys = [step.key for step in self.steps]
        twice = sorted({key for key in keys if keys.count(key) > 1})
        if twice:
            raise ValueError(f"step keys must be unique in a track: {', '.join(twice)} repeated")
        never = NEVER_CHASED.intersection(self.applies_to.segments)
        if never:
            raise ValueError(f"segment {', '.join(sorted(never))} is never chased")
        self._check_order()
        notice = next((s for s in self.steps if s.action == "formal_notice"), None)
        # unconditional: a reminder the claim's amount or country leaves out reminds nobody
        if notice is not None and not any(
            s.action in REMINDERS and s.conditions == Conditions()
            for s in self.steps[: self.steps.index(notice)]
        ):
            raise ValueError(
                f"step {notice.key}: a formal_notice needs a reminder with no condition before it"
            )
        if self.fragile:
            self._check_fragile()
        return self

    def _check_order(self) -> None:
        """The listed order must be the planned order for any claim: offsets grow within an
        anchor, and every step counted from the issue comes before those counted from the due
        date (a due date is never before the issue)."""
        for before, after in zip(self.steps, self.steps[1:], strict=False):
            if before.anchor == "due_on" and after.anchor == "issued_on":
                raise ValueError(
                    f"step {after.key}: a step anchored on issued_on must come before the steps "
                    "anchored on due_on"
                )
            if (
                before.anchor == after.anchor
                and after.offset_business_days < before.offset_business_days
            ):
                raise ValueError(
                    f"step {after.key}: steps must be listed by their planned day "
                    f"({after.offset_business_days} comes before {before.offset_business_days})"
                )

    def _check_fragile(self) -> None:
        handoff = [s.key for s in self.steps if s.action == "litigation_handoff"]
        if handoff:
            raise ValueError(f"step {handoff[0]}: a fragile customer is never handed to litigation")
        for step in self.steps:
            if step.action in PROPOSALS:
                return
            if step.firm:
                raise ValueError(
                    f"step {step.key}: a fragile track proposes a payment plan or a partial "
                    "remission before any firm step"
                )
        raise ValueError("a fragile track proposes a payment plan or a partial remission")

    def stages(self) -> list[Stage]:
        """Each step's stage, in order: amicable until the first firm step, firm until the
        formal notice, and after it everything is after the formal notice."""
        out: list[Stage] = []
        noticed = firm = False
        for step in self.steps:
            if step.action == "formal_notice" and not noticed:
                noticed = True
                out.append("formal_notice")
                continue
            firm = firm or step.firm
            out.append("after_formal_notice" if noticed else "firm" if firm else "amicable")
        return out


class Culture(_Data):
    """How to address debtors of a country. Firmness is a step's choice, never a country's."""

    tone: Literal["courteous", "neutral", "direct"]
    #: Open with the way out (a plan, a call) before the amount: what US debtors expect.
    solution_first: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"tone": data} if isinstance(data, str) else data


class ContactHours(_Data):
    """Local opening and closing time, on the debtor's business days."""

    opens: time = time(9)
    closes: time = time(18)

    @model_validator(mode="after")
    def _ordered(self) -> ContactHours:
        if self.opens >= self.closes:
            raise ValueError(f"contact hours open ({self.opens}) before they close ({self.closes})")
        return self


class ContactHoursMap(_Data):
    default: ContactHours = ContactHours()
    countries: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], ContactHours] = {}


class Policy(_Data):
    id: Key
    version: str = Field(min_length=1)
    tracks: dict[TrackId, Track]
    large_claim_threshold: Money
    culture: dict[CountryKey, Culture]
    tenant_culture_overrides: dict[str, dict[CountryKey, Culture]] = {}
    contact_hours: ContactHoursMap = ContactHoursMap()
    consolidation_window_business_days: int = Field(2, ge=0, le=20)
    #: A partial dispute pauses the whole claim when less than this remains undisputed.
    partial_dispute_min_remainder: Money
    max_reminders_per_stage: int = Field(3, ge=1)

    @field_validator("tracks", mode="before")
    @classmethod
    def _track_ids(cls, tracks: Any) -> Any:
        """A track's id is its key in the file; writing it again is allowed if it agrees."""
        if not isinstance(tracks, dict):
            return tracks
        return {
            key: {"id": key, **value} if isinstance(value, dict) else value
            for key, value in tracks.items()
        }

    @model_validator(mode="after")
    def _complete(self) -> Policy:
        missing = set(TrackId.__args__) - set(self.tracks)
        if missing:
            raise ValueError(f"the policy has no track {', '.join(sorted(missing))}")
        for key, track in self.tracks.items():
            if track.id != key:
                raise ValueError(f"tracks.{key}: its id says {track.id}")
            self._check_caps(track)
        if "default" not in self.culture:
            raise ValueError("culture: a default tone for every other country is required")
        routed = [t.applies_to.segments for t in self.tracks.values()]
        for segment in {s for segments in routed for s in segments}:
            if sum(segment in segments for segments in routed) > 1:
                raise ValueError(f"segment {segment} is routed to more than one track")
        if sum(t.applies_to.hardship for t in self.tracks.values()) != 1:
            raise ValueError("exactly one track must apply to a declared hardship")
        return self

    def _check_caps(self, track: Track) -> None:
        """At most ``max_reminders_per_stage`` reminders per stage; reminders planned the same
        day (a letter doubled by an email) are one reminder in two channels."""
        days: dict[Stage, set[tuple[Anchor, int]]] = {}
        for step, stage in zip(track.steps, track.stages(), strict=True):
            if step.action not in REMINDERS:
                continue
            days.setdefault(stage, set()).add((step.anchor, step.offset_business_days))
            if len(days[stage]) > self.max_reminders_per_stage:
                raise ValueError(
                    f"tracks.{track.id}: {len(days[stage])} reminders in the {stage} stage, "
                    f"more than max_reminders_per_stage ({self.max_reminders_per_stage}); "
                    "too many teach the debtor to wait for the last one"
                )

    def culture_for(self, country: str, tenant: str | None = None) -> Culture:
        """The tenant's choice for the country, else the policy's, else the tenant's default,
        else the policy's."""
        own = self.tenant_culture_overrides.get(tenant, {}) if tenant else {}
        return (
            own.get(country)
            or self.culture.get(country)
            or own.get("default")
            or self.culture["default"]
        )

    def contact_hours_for(self, country: str) -> ContactHours:
        return self.contact_hours.countries.get(country, self.contact_hours.default)

    @classmethod
    def from_yaml(cls, text: str) -> Policy:
        return cls.model_validate(yaml.safe_load(text))

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        """The policy in ``path``, or the shipped default."""
        text = (
            path.read_text()
            if path is not None
            else files("amiable_dunning").joinpath("data/policies/default.yaml").read_text()
        )
        return cls.from_yaml(text)
