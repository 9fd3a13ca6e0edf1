from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from amiable_events.base import SEALED_PREFIX
from amiable_events.personal import ERASED, Sealer, open_with, seal_with


class MemoryKeyStore:
    """A key store in a dict: the interface's reference behaviour for unit tests."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}

    async def get(self, account: str) -> bytes | None:
        return self.keys.get(account)

    async def get_or_create(self, account: str) -> bytes:
        return self.keys.setdefault(account, AESGCM.generate_key(bit_length=256))

    async def delete(self, account: str) -> None:
        self.keys.pop(account, None)

    def forget(self, account: str) -> None:
        pass  # nothing cached


def test_seal_then_open_round_trips():
    key = AESGCM.generate_key(bit_length=256)
    token = seal_with(key, "acme:d1", "claire@debtor.example")
    assert token.startswith(SEALED_PREFIX)
    assert "claire" not in token
    assert open_with(key, "acme:d1", token) == "claire@debtor.example"


def test_a_token_is_bound_to_its_account():
    key = AESGCM.generate_key(bit_length=256)
    token = seal_with(key, "acme:d1", "secret")
    assert open_with(key, "acme:d2", token) == ERASED


@pytest.mark.parametrize("token", ["plain text", SEALED_PREFIX + "!!!", SEALED_PREFIX + "AAAA"])
def test_garbage_reads_as_erased_not_an_exception(token):
    assert open_with(AESGCM.generate_key(bit_length=256), "acme:d1", token) == ERASED


async def test_erasing_the_key_makes_every_copy_unreadable():
    sealer = Sealer(MemoryKeyStore())
    seal = await sealer.sealer_for("acme:d1")
    tokens = [seal("Claire Martin"), seal("+33612345678")]
    opened = await sealer.opener_for("acme:d1")
    assert [opened(t) for t in tokens] == ["Claire Martin", "+33612345678"]
    await sealer.erase("acme:d1")
    opened = await sealer.opener_for("acme:d1")
    assert [opened(t) for t in tokens] == [ERASED, ERASED]
    assert opened(None) is None
