"""Secrets at rest: round trips, ciphertext in the database, the key's source, rotation."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from milepost.integrations.crypto import (
    PREFIX,
    SecretUnreadable,
    UnreadableSecret,
    decrypt,
    derive_key,
    encrypt,
    reveal,
)
from milepost.integrations.models import WebhookSubscription
from milepost.organizations.models import Organization


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=300))
def test_round_trip(text: str) -> None:
    stored = encrypt(text)
    assert stored.startswith(PREFIX)
    assert decrypt(stored) == text


def test_each_encryption_differs_and_hides_the_text() -> None:
    first, second = encrypt("hunter2-hunter2"), encrypt("hunter2-hunter2")
    assert first != second
    assert "hunter2" not in first


def test_default_key_is_derived_from_secret_key(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = ""
    settings.SECRET_KEY = "one secret key for the test"
    stored = encrypt("payload")
    token = stored[len(PREFIX) :].encode()
    assert Fernet(derive_key("one secret key for the test")).decrypt(token) == b"payload"
    settings.SECRET_KEY = "another secret key entirely"
    with pytest.raises(SecretUnreadable, match="MILEPOST_FIELD_ENCRYPTION_KEY"):
        decrypt(stored)


def test_configured_fernet_key_is_used_as_is(settings: Any) -> None:
    key = Fernet.generate_key()
    settings.FIELD_ENCRYPTION_KEY = key.decode()
    stored = encrypt("payload")
    assert Fernet(key).decrypt(stored[len(PREFIX) :].encode()) == b"payload"


def test_any_other_configured_string_is_stretched(settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEY = "correct horse battery staple"
    stored = encrypt("payload")
    token = stored[len(PREFIX) :].encode()
    assert Fernet(derive_key("correct horse battery staple")).decrypt(token) == b"payload"


def test_rotation_new_key_first_old_still_reads(settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    written_with_old = encrypt("payload")
    settings.FIELD_ENCRYPTION_KEY = f"{new}, {old}"
    assert decrypt(written_with_old) == "payload"
    written_with_new = encrypt("payload")
    assert Fernet(new.encode()).decrypt(written_with_new[len(PREFIX) :].encode()) == b"payload"
    settings.FIELD_ENCRYPTION_KEY = new
    with pytest.raises(SecretUnreadable):
        decrypt(written_with_old)


def test_plain_text_is_never_taken_for_a_secret() -> None:
    with pytest.raises(SecretUnreadable):
        decrypt("not-encrypted")


@pytest.mark.django_db
def test_the_field_stores_ciphertext_and_loads_plaintext(org: Organization) -> None:
    sub = WebhookSubscription.objects.create(
        organization=org, url="https://hooks.example.com/", events=[], secret="whsec_very-secret"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM integrations_webhooksubscription WHERE id = %s", [sub.pk]
        )
        raw = cursor.fetchone()[0]
    assert raw.startswith(PREFIX)
    assert "very-secret" not in raw
    assert WebhookSubscription.objects.get(pk=sub.pk).secret == "whsec_very-secret"
    # Saving again re-encrypts the plaintext (never encrypts the ciphertext).
    loaded = WebhookSubscription.objects.get(pk=sub.pk)
    loaded.description = "changed"
    loaded.save()
    assert WebhookSubscription.objects.get(pk=sub.pk).secret == "whsec_very-secret"


@pytest.mark.django_db
def test_an_unreadable_secret_loads_and_survives_a_save(org: Organization, settings: Any) -> None:
    sub = WebhookSubscription.objects.create(
        organization=org, url="https://hooks.example.com/", events=[], secret="whsec_kept-secret"
    )
    original = settings.FIELD_ENCRYPTION_KEY
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()  # the key changed
    loaded = WebhookSubscription.objects.get(pk=sub.pk)  # loading never fails
    assert isinstance(loaded.secret, UnreadableSecret)
    assert loaded.secret == ""
    with pytest.raises(SecretUnreadable):
        reveal(loaded.secret)
    loaded.description = "saved while unreadable"
    loaded.save()
    settings.FIELD_ENCRYPTION_KEY = original  # the old key is back: nothing was lost
    assert WebhookSubscription.objects.get(pk=sub.pk).secret == "whsec_kept-secret"
