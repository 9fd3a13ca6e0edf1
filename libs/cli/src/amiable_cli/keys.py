"""``amiable keys``: the personal-data key store (debtor keys wrapped by a key-encryption key)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer

keys_app = typer.Typer(
    no_args_is_help=True, help="The personal-data key store: wrap its keys, rotate the KEK."
)


@keys_app.command("rewrap")
def rewrap(
    old_kek: Annotated[
        str | None,
        typer.Option(
            envvar="AMIABLE_OLD_KEY_ENCRYPTION_KEY",
            help="the KEK being rotated out (base64); better from its environment variable, "
            "out of the shell's history",
        ),
    ] = None,
    batch: Annotated[int, typer.Option(help="keys read and rewritten per statement")] = 500,
) -> None:
    """Wrap every debtor key with the current KEK (AMIABLE_KEY_ENCRYPTION_KEY, or the
    AMIABLE_KEY_WRAPPER plugin): keys stored in clear before wrapping, and keys of the old KEK.
    Safe to run while the services run, and again after an interruption."""
    from amiable_events.keywrap import KeyUnwrapError
    from amiable_events.settings import ServiceSettings

    settings = ServiceSettings(**({"old_key_encryption_key": old_kek} if old_kek else {}))
    try:
        result, key_id = asyncio.run(_rewrap(settings, batch))
    except KeyUnwrapError as exc:
        typer.echo(f"stopped: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"rewrapped {result.rewrapped} keys with KEK {key_id}; "
        f"{result.current} already were wrapped by it"
    )


async def _rewrap(settings, batch: int):
    from amiable_events.personal import key_store
    from amiable_events.service import key_store_engine

    engine = key_store_engine(settings, pool_size=1)
    try:
        keys = key_store(settings, engine)
        await keys.create_schema()
        return await keys.rewrap(batch), keys.key_id
    finally:
        await engine.dispose()


@keys_app.command("replay-erasures")
def replay_erasures(
    since: Annotated[
        str | None,
        typer.Option(
            help="read the log from this time on (the restored backup's), ISO 8601, UTC "
            "unless it has an offset; default: all"
        ),
    ] = None,
) -> None:
    """After a restore of the key store from a backup: shred again the keys of the debtors
    erased on the log since (the backup brought them back). A key made after its debtor's
    erasure (a debtor registered again) stays."""
    from amiable_events.settings import ServiceSettings

    settings = ServiceSettings()
    erased, shredded = asyncio.run(_replay_erasures(settings, _moment(since)))
    typer.echo(f"{len(erased)} debtor accounts erased on the log; {len(shredded)} keys shredded")
    for account in shredded:
        typer.echo(f"  {account}")


def _moment(text: str | None) -> datetime | None:
    """An ISO 8601 time, with its offset or in UTC. Parsed here rather than by the CLI
    library, whose datetime type knows a few naive formats only."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _replay_erasures(settings, since: datetime | None):
    from amiable_events.personal import key_store
    from amiable_events.service import key_store_engine

    erased = await _erasures(settings, since)
    engine = key_store_engine(settings, pool_size=1)
    try:
        return erased, await key_store(settings, engine).shred_again(erased)
    finally:
        await engine.dispose()


async def _erasures(settings, since: datetime | None) -> dict[str, datetime]:
    """Each debtor account erased on the log (the erasure events' keys), and when: the record's
    append time, the wall clock's whatever clock the service ran on."""

    from amiable_events.claims import DebtorPersonalDataErased
    from amiable_events.kafka import client_security, log_reader
    from amiable_events.projection import topic_partitions

    erasure = DebtorPersonalDataErased.type.encode()

    consumer = log_reader(settings.kafka_bootstrap, client_security(settings))
    await consumer.start()
    erased: dict[str, datetime] = {}
    try:
        partitions = await topic_partitions(consumer, settings.topic)
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        if since is not None:
            found = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in partitions}
            )
            starts = {tp: found[tp].offset if found[tp] else ends[tp] for tp in partitions}
        for tp in partitions:
            consumer.seek(tp, starts[tp])
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp] or record.key is None:
                        continue
                    if ("ce_type", erasure) in record.headers:
                        at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
                        account = record.key.decode(errors="replace")
                        erased[account] = max(erased.get(account, at), at)
    finally:
        await consumer.stop()
    return erased
