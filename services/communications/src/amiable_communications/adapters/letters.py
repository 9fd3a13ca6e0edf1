"""Letters: the rendered message as a PDF (fpdf2), its SHA-256, and the PDF kept sealed with the
debtor account's key in the sender's schema (``sender.letters``), so that erasing the debtor
shreds it. Posting it is a person's job; a registered letter's tracking number comes later
(``TrackingRecorded``).

The PDF is deterministic (its creation date is the letter's own date), so a letter made again
after a crash has the same bytes and the same SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from fpdf import FPDF
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, Text, Uuid
from sqlalchemy.ext.asyncio import AsyncEngine

from amiable_communications.adapters.channels import Accepted, Outcome, Outgoing
from amiable_communications.adapters.deliveries import SCHEMA
from amiable_events.db import raw
from amiable_events.personal import Sealer

metadata = MetaData(schema=SCHEMA)
letters = Table(
    "letters",
    metadata,
    Column("communication_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("document_sha256", String(64), nullable=False),
    Column("registered", Boolean, nullable=False),
    Column("pdf", Text, nullable=False, comment="the PDF, base64, sealed"),
    Column("written_at", DateTime(timezone=True), nullable=False),
)


def _printable(text: str) -> str:
    """The PDF's built-in fonts write Windows-1252: Babel's narrow no-break space becomes a
    no-break space, and a character outside it a question mark, rather than no letter."""
    text = text.replace("\u202f", "\u00a0")
    return text.encode("cp1252", "replace").decode("cp1252")


def pdf_of(message: Outgoing) -> bytes:
    pdf = FPDF(format="A4")
    written = message.sent_at if isinstance(message.sent_at, datetime) else None
    pdf.set_creation_date(written or datetime(2000, 1, 1, tzinfo=UTC))
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_title(_printable(message.subject))
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    for line in message.sender_lines:
        pdf.cell(0, 5, _printable(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    for line in message.address_lines:
        pdf.cell(0, 5, _printable(line), new_x="LMARGIN", new_y="NEXT", align="R")
    pdf.ln(10)
    pdf.set_font("helvetica", style="B", size=11)
    pdf.multi_cell(0, 6, _printable(message.subject), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", size=10)
    pdf.multi_cell(0, 5, _printable(message.body), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class LetterChannel:
    def __init__(self, engine: AsyncEngine, sealer: Sealer) -> None:
        self.engine = engine
        self.sealer = sealer

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
            await conn.run_sync(metadata.create_all)

    async def send(self, message: Outgoing) -> Outcome:
        document = pdf_of(message)
        digest = hashlib.sha256(document).hexdigest()
        tenant, debtor_id = message.tenant, message.debtor_id
        seal = await self.sealer.sealer_for(f"{tenant}:{debtor_id}")
        registered = message.channel == "registered_letter"
        # A letter made again after a crash keeps the first one's PDF and digest.
        async with raw(self.engine) as conn:
            digest = await conn.fetchval(
                f"INSERT INTO {SCHEMA}.letters AS l (communication_id, tenant, debtor_id, "
                "document_sha256, registered, pdf, written_at) VALUES ($1, $2, $3, $4, $5, $6, "
                "$7) ON CONFLICT (communication_id) DO UPDATE SET tenant = l.tenant "
                "RETURNING document_sha256",
                message.communication_id,
                tenant,
                debtor_id,
                digest,
                registered,
                seal(base64.b64encode(document).decode()),
                message.sent_at,
            )
        return Accepted(document_sha256=digest, registered=registered)

    async def document(self, communication_id, tenant: str, debtor_id: str) -> bytes | None:
        """The kept PDF, or None (none kept, or the debtor erased)."""
        async with raw(self.engine) as conn:
            sealed = await conn.fetchval(
                f"SELECT pdf FROM {SCHEMA}.letters WHERE communication_id = $1 AND tenant = $2",
                communication_id,
                tenant,
            )
        if sealed is None:
            return None
        opened = (await self.sealer.opener_for(f"{tenant}:{debtor_id}"))(sealed)
        try:
            return base64.b64decode(opened, validate=True)
        except ValueError:
            return None  # "[erased]"
