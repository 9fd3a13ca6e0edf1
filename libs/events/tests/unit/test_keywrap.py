"""Wrapping debtor keys with a key-encryption key, and choosing the wrapper from the settings."""

from __future__ import annotations

import base64

import pytest

from amiable_events.keywrap import KeyUnwrapError, LocalKeyWrapper, decode_kek, key_wrappers
from amiable_events.settings import DEV_KEY_ENCRYPTION_KEY, ServiceSettings

JWT = "a-long-enough-test-secret-for-hs256-0123456789"
KEK = base64.b64encode(b"k" * 32).decode()
KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def _no_kek_from_the_environment(monkeypatch):
    for name in ("KEY_ENCRYPTION_KEY", "OLD_KEY_ENCRYPTION_KEY", "KEY_WRAPPER"):
        monkeypatch.delenv(f"AMIABLE_{name}", raising=False)


async def test_a_wrapped_key_is_not_the_key_and_unwraps_for_its_account_only():
    wrapper = LocalKeyWrapper(b"k" * 32)
    wrapped = await wrapper.wrap(KEY, "acme:D1")
    assert KEY not in wrapped
    assert wrapped != await wrapper.wrap(KEY, "acme:D1")  # a nonce of its own each time
    assert await wrapper.unwrap(wrapped, "acme:D1") == KEY
    with pytest.raises(KeyUnwrapError, match="acme:D2"):
        await wrapper.unwrap(wrapped, "acme:D2")


def test_a_kek_is_named_by_a_stable_id_of_its_own():
    ids = [LocalKeyWrapper(kek).key_id for kek in (b"k" * 32, b"k" * 32, b"j" * 32)]
    assert ids[0] == ids[1] != ids[2]
    assert all(i.startswith("local:") for i in ids)


@pytest.mark.parametrize("text", ["", "not base64!", base64.b64encode(b"short").decode()])
def test_a_kek_must_be_the_base64_of_32_bytes(text):
    with pytest.raises(ValueError, match="base64 of 32 random bytes"):
        decode_kek(text)


def test_production_refuses_to_start_without_a_kek_or_with_the_dev_one():
    with pytest.raises(ValueError, match="AMIABLE_KEY_ENCRYPTION_KEY must be set"):
        ServiceSettings(env="prod", jwt_secret=JWT)
    with pytest.raises(ValueError, match="AMIABLE_KEY_ENCRYPTION_KEY must be set"):
        ServiceSettings(env="prod", jwt_secret=JWT, key_encryption_key=DEV_KEY_ENCRYPTION_KEY)
    with pytest.raises(ValueError, match="AMIABLE_KEY_ENCRYPTION_KEY must be the base64"):
        ServiceSettings(env="prod", jwt_secret=JWT, key_encryption_key="c2hvcnQ=")
    with pytest.raises(ValueError, match="AMIABLE_OLD_KEY_ENCRYPTION_KEY must be the base64"):
        ServiceSettings(env="test", jwt_secret=JWT, old_key_encryption_key="c2hvcnQ=")
    assert ServiceSettings(env="prod", jwt_secret=JWT, key_encryption_key=KEK).env == "prod"


def test_dev_and_test_share_one_fixed_kek():
    dev, test = ServiceSettings(env="dev"), ServiceSettings(env="test", jwt_secret=JWT)
    assert dev.key_encryption_key == test.key_encryption_key == DEV_KEY_ENCRYPTION_KEY
    assert key_wrappers(dev)[0].key_id == key_wrappers(test)[0].key_id


def test_the_local_wrapper_opens_the_old_kek_during_a_rotation():
    old = base64.b64encode(b"o" * 32).decode()
    settings = ServiceSettings(
        env="prod", jwt_secret=JWT, key_encryption_key=KEK, old_key_encryption_key=old
    )
    current, older = key_wrappers(settings)
    assert current.key_id == LocalKeyWrapper(b"k" * 32).key_id
    assert [w.key_id for w in older] == [LocalKeyWrapper(b"o" * 32).key_id]


class PlainKms:
    """A KMS plugin as a module:attribute path names it (here, a test double)."""

    key_id = "kms:test"

    def __init__(self, settings) -> None:
        self.env = settings.env

    async def wrap(self, key: bytes, account: str) -> bytes:
        return key[::-1]

    async def unwrap(self, wrapped: bytes, account: str) -> bytes:
        return wrapped[::-1]


async def test_a_kms_plugin_is_chosen_by_import_path_and_needs_no_local_kek():
    settings = ServiceSettings(env="prod", jwt_secret=JWT, key_wrapper=f"{__name__}:PlainKms")
    current, older = key_wrappers(settings)
    assert (current.key_id, current.env, older) == ("kms:test", "prod", ())
    assert await current.unwrap(await current.wrap(KEY, "acme:D1"), "acme:D1") == KEY


def test_an_unknown_plugin_name_is_a_clear_error():
    settings = ServiceSettings(env="test", jwt_secret=JWT, key_wrapper="vault")
    with pytest.raises(ValueError, match="AMIABLE_KEY_WRAPPER='vault'"):
        key_wrappers(settings)
