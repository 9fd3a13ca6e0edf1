"""The creditor's profile: who the debtor owes, how to pay, and who writes on whose behalf.

Letters and formal notices need it (issue 12): the service will record it as a tenant event
(``PUT /v1/creditor-profile``); here it is only the model the templates read.
"""

from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SenderMode = Literal["creditor", "collection_agency"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Part):
    """A company as a letter names it: a formal notice must identify both parties."""

    legal_name: str = Field(min_length=1, max_length=200)
    address: tuple[str, ...] = Field(min_length=1, description="Postal lines, in order")
    registration_number: str = Field(min_length=1, max_length=100, description="e.g. a SIREN")


class CreditorProfile(_Part):
    """The tenant's identity and payment details. With ``sender_mode`` ``collection_agency``
    the letters come from ``agency``, which must say that it acts for the creditor."""

    creditor: Party
    iban: str = Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{10,40}$")
    bic: str | None = Field(None, pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")
    reference_format: str = Field(
        "{invoice}",
        description="The payment reference the debtor quotes; {invoice} is the invoice number",
    )
    reply_email: str = Field(min_length=3, max_length=200)
    reply_phone: str | None = Field(None, max_length=50)
    sender_mode: SenderMode = "creditor"
    agency: Party | None = None

    @field_validator("reference_format")
    @classmethod
    def _only_invoice_field(cls, value: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if names != {"invoice"}:
            raise ValueError("the reference format must contain {invoice} and no other field")
        return value

    @model_validator(mode="after")
    def _agency_iff_agency_mode(self) -> CreditorProfile:
        if (self.sender_mode == "collection_agency") != (self.agency is not None):
            raise ValueError("an agency is named exactly when the sender mode is collection_agency")
        return self

    @property
    def sender(self) -> Party:
        """Who signs: the agency when one acts, else the creditor."""
        return self.agency or self.creditor

    def payment_reference(self, invoice: str) -> str:
        return self.reference_format.format(invoice=invoice)

    @property
    def iban_grouped(self) -> str:
        """The IBAN in groups of four, as it is printed so a person can copy it."""
        compact = re.sub(r"\s", "", self.iban)
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
