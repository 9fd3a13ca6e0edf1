"""Communications service settings (env prefix ``AMIABLE_``). The figure settings are the
claims service's, by the same names, so a message states the amounts claims computes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field

from amiable_events.settings import FigureSettings


class CommunicationsSettings(FigureSettings):
    # Email: the SMTP server the service hands its messages to.
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 30.0
    #: The envelope sender and From: address; the creditor's reply_email is the Reply-To.
    mail_from: str = "recovery@amiable.invalid"
    #: The right-hand side of every Message-ID: <communication id@this>.
    message_id_domain: str = "amiable.invalid"
    # SMS: the HTTP gateway (POST {url}/messages).
    sms_gateway_url: str = "http://localhost:11080"
    sms_gateway_token: str | None = None
    # What one message costs on each channel, in ``cost_currency`` (the tenant's currency):
    # claims counts it in the cost of recovery.
    cost_currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    communication_costs: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "email": Decimal("0.02"),
            "sms": Decimal("0.08"),
            "letter": Decimal("1.45"),
            "registered_letter": Decimal("6.95"),
            "phone": Decimal("3.50"),
            "visit": Decimal("45.00"),
            "bailiff": Decimal("0"),
            "lawyer": Decimal("0"),
        }
    )
    #: The contact governor's rules; the shipped data/contact_rules.yaml when unset.
    contact_rules: Path | None = None
    # The sender: how often it looks for released messages, and how it retries a temporary
    # failure (SMTP 4xx, a gateway 5xx, a refused connection): backoff doubling from
    # send_retry_base seconds, at most send_max_attempts tries, then CommunicationFailed.
    send_interval: float = 0.5
    send_retry_base: float = 2.0
    send_max_attempts: int = Field(6, ge=1)
