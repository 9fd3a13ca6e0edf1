"""``amiable keys``: the personal-data key store (debtor keys wrapped by a key-encryption key)."""

from __future__ import annotations

import asyncio
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
