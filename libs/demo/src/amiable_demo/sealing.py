"""Personal data sealed as the services seal it (``pii:v1:``, AES-GCM with the debtor account's
key as associated data), but reproducibly: the generator's output must be the same bytes for
the same seed, and ``amiable_events.personal.seal_with`` draws a random nonce.

The keys are derived from the account's name by a public rule: demo data only, nothing secret
is sealed with them. ``amiable_events.personal.open_with`` opens the values given the account's
key (:func:`account_key`). The key does not depend on the seed: histories of two seeds on one
log share their accounts' keys, so both stay readable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from amiable_events.base import SEALED_PREFIX

_NONCE_BYTES = 12


def account_key(account: str) -> bytes:
    """The demo key of one debtor account (``<tenant>:<debtor_id>``)."""
    return hmac.digest(b"amiable-demo", account.encode(), hashlib.sha256)


def seal(key: bytes, account: str, plaintext: str) -> str:
    """``plaintext`` sealed with a nonce derived from it: the same text of the same account
    seals to the same value (synthetic-IV style), two different texts never share a nonce."""
    nonce = hmac.digest(key, plaintext.encode(), hashlib.sha256)[:_NONCE_BYTES]
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), account.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_sealed(key: bytes, account: str, sealed: str) -> str:
    """What :func:`seal` sealed: the demo gives the APIs its debtors' contacts in clear (they
    seal them themselves), without the key store's I/O."""
    raw = base64.urlsafe_b64decode(sealed.removeprefix(SEALED_PREFIX))
    nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, ciphertext, account.encode()).decode()
