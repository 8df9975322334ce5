"""Secrets at rest: data-source headers, database connection strings, webhook secrets.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) before they
reach the database and decrypted when a row is loaded; the database, its backups and a
``milepost backup`` file hold only ciphertext.

The key comes from ``MILEPOST_FIELD_ENCRYPTION_KEY`` (``settings.FIELD_ENCRYPTION_KEY``):

* unset: a key derived from ``SECRET_KEY`` with HKDF-SHA256 (so a new install works with no
  extra setting; changing SECRET_KEY then makes stored secrets unreadable);
* one or more comma-separated keys: the first encrypts, every one decrypts (rotation: put the
  new key first, re-save the secrets, then drop the old key). A key is a Fernet key
  (``Fernet.generate_key()``, 44 url-safe base64 characters) or any other string, from which a
  key is derived with HKDF.

A value that cannot be decrypted (wrong key) never hands back ciphertext: `decrypt` raises
`SecretUnreadable`, and the field loads it as an `UnreadableSecret` (so one bad row never
breaks a page or the worker) that `reveal` refuses; the data source or webhook using it fails
with a message saying the key changed.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

__all__ = [
    "EncryptedTextField",
    "SecretUnreadable",
    "UnreadableSecret",
    "decrypt",
    "encrypt",
    "fernet",
    "reveal",
]

_HKDF_SALT = b"milepost.integrations.crypto"
_HKDF_INFO = b"milepost field encryption v1"
# Every stored ciphertext starts with this, so a plaintext value (say, written before the
# column was encrypted) is never mistaken for one.
PREFIX = "enc1:"


class SecretUnreadable(Exception):
    """A stored secret could not be decrypted with any configured key."""

    silent_variable_failure = True  # a template shows nothing rather than failing the page


class UnreadableSecret(str):
    """What an `EncryptedTextField` holds when its ciphertext cannot be decrypted (the key
    changed): an empty string that remembers the ciphertext, so loading the row never fails
    and saving it keeps the ciphertext (readable again once the old key is back). Code that
    uses a secret calls `reveal`, which raises `SecretUnreadable` for it."""

    stored: str

    def __new__(cls, stored: str) -> UnreadableSecret:
        value = super().__new__(cls, "")
        value.stored = stored
        return value


def reveal(value: str) -> str:
    """`value`, or `SecretUnreadable` if it is an `UnreadableSecret`."""
    if isinstance(value, UnreadableSecret):
        raise SecretUnreadable(
            "a stored secret cannot be decrypted: MILEPOST_FIELD_ENCRYPTION_KEY (or SECRET_KEY, "
            "from which the key is derived when unset) changed since it was saved; enter it again"
        )
    return value


def derive_key(material: str) -> bytes:
    """A Fernet key derived from any string (HKDF-SHA256, fixed salt and context)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        material.encode()
    )
    return base64.urlsafe_b64encode(raw)


def _as_fernet_key(text: str) -> bytes:
    """`text` itself when it is a Fernet key, else a key derived from it."""
    candidate = text.encode()
    try:
        if len(base64.urlsafe_b64decode(candidate)) == 32 and len(candidate) == 44:
            return candidate
    except (binascii.Error, ValueError):
        pass
    return derive_key(text)


@functools.lru_cache(maxsize=8)
def _fernet_for(configured: str, secret_key: str) -> MultiFernet:
    keys = [k.strip() for k in configured.split(",") if k.strip()]
    if not keys:
        return MultiFernet([Fernet(derive_key(secret_key))])
    return MultiFernet([Fernet(_as_fernet_key(k)) for k in keys])


def fernet() -> MultiFernet:
    """The cipher for the current settings (cached per key setting)."""
    configured = str(getattr(settings, "FIELD_ENCRYPTION_KEY", "") or "")
    return _fernet_for(configured, settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    """Ciphertext for `plaintext` (different each call: Fernet uses a random IV)."""
    return PREFIX + fernet().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    """The plaintext of a value written by `encrypt`; `SecretUnreadable` if no key opens it."""
    if not stored.startswith(PREFIX):
        raise SecretUnreadable("the stored value is not an encrypted secret")
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted: MILEPOST_FIELD_ENCRYPTION_KEY (or SECRET_KEY, "
            "from which the key is derived when unset) changed since it was saved"
        ) from exc


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column stored encrypted. The Python value is the plaintext; the empty string is
    stored as is (there is nothing to hide). Not usable in lookups (ciphertexts differ)."""

    description = "Text stored encrypted (Fernet)"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        try:
            return decrypt(value)
        except SecretUnreadable:
            return UnreadableSecret(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, UnreadableSecret):
            return value.stored
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
