"""Debtor keys are stored wrapped by a key-encryption key (KEK), never in clear.

A dump or a backup of the key store alone then opens nothing: it takes the KEK too, which lives
elsewhere (a Secret, or a KMS behind :class:`KeyWrapper`).

The local wrapper is AES-256-GCM with the debtor account as associated data, rather than AES
key wrap (RFC 3394): a wrapped key only opens for the account it was made for, so a row copied
onto another account's does not silently hand that account someone else's key; and it is the
shape KMS APIs have (encrypt with an "encryption context" or AAD), so a KMS plugin is the same
three lines. Each wrapped key takes 12 random nonce bytes: a KEK wraps far fewer keys than the
2^32 that random nonces allow.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from amiable_events.settings import ServiceSettings

#: ``AMIABLE_KEY_WRAPPER`` names a KMS plugin registered in this entry point group, or gives an
#: import path ``module:attribute``; either is a callable taking the settings, giving a wrapper.
ENTRY_POINT_GROUP = "amiable.key_wrappers"
KEK_BYTES = 32
_NONCE_BYTES = 12


class KeyWrapper(Protocol):
    #: Stored with every key it wraps, so the store knows which wrapper opens a row, and says
    #: which KEK a row needs when none of those configured does.
    key_id: str

    async def wrap(self, key: bytes, account: str) -> bytes: ...

    async def unwrap(self, wrapped: bytes, account: str) -> bytes: ...


class KeyUnwrapError(RuntimeError):
    """A stored key that the configured KEK cannot open. Never read as erased: the key is
    there, the configuration is wrong (or the row was tampered with)."""


def decode_kek(text: str, setting: str = "AMIABLE_KEY_ENCRYPTION_KEY") -> bytes:
    try:
        kek = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        kek = b""
    if len(kek) != KEK_BYTES:
        raise ValueError(
            f"{setting} must be the base64 of {KEK_BYTES} random bytes (openssl rand -base64 32)"
        )
    return kek


class LocalKeyWrapper:
    """AES-256-GCM under a KEK held by the process (from a Secret)."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEK_BYTES:
            raise ValueError(f"a key-encryption key is {KEK_BYTES} bytes, not {len(kek)}")
        self._aead = AESGCM(kek)
        # Names the KEK without revealing it: a hash of it, in a domain of its own.
        self.key_id = "local:" + hashlib.sha256(b"amiable-kek-id\x00" + kek).hexdigest()[:16]

    async def wrap(self, key: bytes, account: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, key, account.encode())

    async def unwrap(self, wrapped: bytes, account: str) -> bytes:
        try:
            return self._aead.decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], account.encode()
            )
        except InvalidTag:
            raise KeyUnwrapError(
                f"the key of {account} does not open with KEK {self.key_id} although it names "
                "it: the row was altered or moved from another account"
            ) from None


def key_wrappers(settings: ServiceSettings) -> tuple[KeyWrapper, tuple[KeyWrapper, ...]]:
    """The wrapper new keys are wrapped with, and the older ones still opening keys not yet
    rewrapped (``AMIABLE_OLD_KEY_ENCRYPTION_KEY`` during a KEK rotation)."""
    older: tuple[KeyWrapper, ...] = ()
    if settings.old_key_encryption_key:
        old = decode_kek(settings.old_key_encryption_key, "AMIABLE_OLD_KEY_ENCRYPTION_KEY")
        older = (LocalKeyWrapper(old),)
    if settings.key_wrapper == "local":
        current = LocalKeyWrapper(decode_kek(settings.key_encryption_key or ""))
    else:
        current = _plugin(settings.key_wrapper)(settings)
    return current, older


def _plugin(name: str):
    if ":" in name:
        module, _, attribute = name.partition(":")
        return getattr(import_module(module), attribute)
    found = entry_points(group=ENTRY_POINT_GROUP, name=name)
    if not found:
        raise ValueError(
            f"AMIABLE_KEY_WRAPPER={name!r}: not 'local', not module:attribute, and no "
            f"{ENTRY_POINT_GROUP} entry point of that name is installed"
        )
    return next(iter(found)).load()
