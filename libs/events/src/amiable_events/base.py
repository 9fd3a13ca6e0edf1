"""Base types shared by every event payload: the frozen model, money and sealed personal data."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

SEALED_PREFIX = "pii:v1:"


class Event(BaseModel):
    """An event payload. ``type`` is its CloudEvents ``ce_type``; ``source`` the emitting service.

    Published payloads are never changed incompatibly: add a new ``vN`` model and an upcaster.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: ClassVar[str]
    source: ClassVar[str]
    summary_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def subject(self) -> str:
        """The envelope's ``ce_subject``: the claim id for an event about a claim. An event
        about a debtor account or a tenant overrides this (docs/events.md)."""
        claim_id = getattr(self, "claim_id", None)
        if claim_id is None:
            raise TypeError(f"{self.type} has no claim_id: it must say what its subject is")
        return str(claim_id)


Amount = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?\d+(\.\d+)?$",
            "description": "Exact decimal amount in the currency's major unit, as a string.",
        }
    ),
]

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]

Sealed = Annotated[
    str,
    Field(
        pattern=rf"^{SEALED_PREFIX}",
        description="Personal data, AES-GCM encrypted with the debtor account's key.",
        json_schema_extra={"x-amiable-personal-data": True},
    ),
]
