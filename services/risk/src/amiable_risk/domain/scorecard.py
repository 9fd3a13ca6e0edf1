"""The scorecard as data: points per feature band, grades, segment rules and signal thresholds,
read from a versioned YAML file (``data/scorecard.yaml`` unless the settings name another).

Validated on load, so a malformed scorecard stops the service at start-up rather than scoring
with half a table.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

GRADES = ("A", "B", "C", "D", "E")


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Band(_Data):
    upto: float | None = Field(None, description="Inclusive upper bound; the last band has none")
    points: int
    code: str


class Missing(_Data):
    points: int
    code: str


class FeatureBands(_Data):
    bands: tuple[Band, ...]
    missing: Missing | None = None

    @model_validator(mode="after")
    def _ordered(self) -> FeatureBands:
        bounds = [band.upto for band in self.bands[:-1]]
        if not self.bands or self.bands[-1].upto is not None or None in bounds:
            raise ValueError("every band but the last has an upper bound; the last has none")
        if bounds != sorted(bounds):
            raise ValueError("bands must be in increasing order")
        return self

    def band(self, value: float | None) -> tuple[int, str]:
        """(points, reason code) for ``value``."""
        if value is None:
            if self.missing is None:
                raise ValueError("this feature always has a value")
            return self.missing.points, self.missing.code
        for band in self.bands:
            if band.upto is None or value <= band.upto:
                return band.points, band.code
        raise AssertionError("the last band is unbounded")


FeatureName = Literal[
    "oldest_days_past_due",
    "mean_days_late",
    "late_slope",
    "share_paid_late",
    "broken_promises_365",
    "defaulted_plans_365",
    "disputed_share",
    "volume_ratio",
    "tenure_days",
    "exposure_ratio",
]


class SystematicDisputer(_Data):
    min_disputed: int
    min_disputed_share: float


class HighRisk(_Data):
    min_score: int


class NewCustomer(_Data):
    max_tenure_days: int
    max_settled: int


class ChronicLatePayer(_Data):
    min_settled: int
    min_share_paid_late: float
    min_mean_days_late: float


class LoyalTemporaryDifficulty(_Data):
    min_tenure_days: int
    min_oldest_days_past_due: int
    min_late_slope: float
    min_broken_or_defaulted: int


class SegmentRules(_Data):
    systematic_disputer: SystematicDisputer
    high_risk: HighRisk
    new_customer: NewCustomer
    chronic_late_payer: ChronicLatePayer
    loyal_temporary_difficulty: LoyalTemporaryDifficulty


class SlowingPayments(_Data):
    min_payments: int
    min_slope_days: float


class DisputeFrequency(_Data):
    min_disputes_90: int
    min_disputed: int
    min_disputed_share: float


class VolumeAnomaly(_Data):
    min_baseline_months: int
    min_claims: int
    min_ratio: float


class BrokenPromises(_Data):
    min_broken_or_defaulted: int


class SignalRules(_Data):
    slowing_payments: SlowingPayments
    dispute_frequency: DisputeFrequency
    volume_anomaly: VolumeAnomaly
    broken_promises: BrokenPromises
    exposure_above_limit: dict = Field(default_factory=dict)


class History(_Data):
    settlements: int = Field(ge=2)
    recent_claims: int = Field(ge=1)
    baseline_months: int = Field(ge=1)


class Scorecard(_Data):
    version: str
    band_width: int = Field(gt=0)
    grades: dict[str, int]
    features: dict[FeatureName, FeatureBands]
    segments: SegmentRules
    signals: SignalRules
    history: History

    @model_validator(mode="after")
    def _complete(self) -> Scorecard:
        if tuple(self.grades) != GRADES or list(self.grades.values()) != sorted(
            self.grades.values()
        ):
            raise ValueError(f"grades must be {', '.join(GRADES)} with increasing lowest scores")
        missing = set(FeatureName.__args__) - set(self.features)
        if missing:
            raise ValueError(f"the scorecard gives no points for {', '.join(sorted(missing))}")
        return self

    @classmethod
    def load(cls, path: Path | None = None) -> Scorecard:
        text = (
            path.read_text()
            if path is not None
            else files("amiable_risk").joinpath("data/scorecard.yaml").read_text()
        )
        return cls.model_validate(yaml.safe_load(text))

    def grade(self, score: int) -> str:
        return next(grade for grade in reversed(GRADES) if score >= self.grades[grade])

    def band(self, score: int) -> int:
        return score // self.band_width
