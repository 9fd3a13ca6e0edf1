"""Which law governs a claim: the claim's own choice, else its creditor's (the tenant's).

A claim names its governing law when it is registered (``governing_law``); without one, the
tenant's setting applies, else the service's default (the creditor's country). The law chosen
is recorded with the claim, with where it came from, so a later change of a setting never
changes a claim already registered. The debtor's country plays no part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

GoverningLawSource = Literal["claim", "tenant", "service_default"]


@dataclass(frozen=True)
class GoverningLaws:
    default: str  # the service's default: the creditors' country ("FR"), or "none"
    by_tenant: Mapping[str, str] = field(default_factory=dict)

    def choose(self, tenant: str, on_claim: str | None) -> tuple[str, GoverningLawSource]:
        """The law governing a claim of ``tenant`` that names ``on_claim`` (or None)."""
        if on_claim:
            return on_claim, "claim"
        if tenant in self.by_tenant:
            return self.by_tenant[tenant], "tenant"
        return self.default, "service_default"
