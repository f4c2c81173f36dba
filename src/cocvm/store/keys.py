"""Access keys: the key pairs that sign requests, each owned by one pin.

The secret is stored encrypted (see `secret_box`); only `create_access_key` ever returns it in
plain text, once. Disabling or deleting a key takes effect on the server's next request, because
the server reads the key's row on every request (PostgreSQL) or drops its cached rows as soon as
the database file changes (SQLite).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Engine, delete, select, update

from cocvm.store.schema import access_keys
from cocvm.store.secret_box import SecretBox, ServerKeyError

# How many of the newest stored secrets `create_access_key` tries before it calls the server
# key wrong: one key damaged by hand must not block every new key.
_SERVER_KEY_CHECK_SAMPLE = 20


class AccessKeyNotFoundError(LookupError):
    """No access key with that id exists."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    """An access key's row; the secret stays encrypted."""

    access_key: str
    pin: str
    secret_ciphertext: bytes
    enabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key pair, the only time the secret is shown."""

    access_key: str
    secret_key: str
    pin: str


def _new_key_text() -> str:
    # 32 upper-case hex characters, the shape of JD Cloud's own access keys and secrets.
    return secrets.token_hex(16).upper()


def create_access_key(engine: Engine, box: SecretBox, pin: str) -> NewKey:
    """Create and store an enabled key pair for `pin`.

    Raises ServerKeyError, and stores nothing, when stored keys exist but `box` decrypts none of
    the newest of them: a key encrypted with another server key would fail every request.
    """
    access_key, secret_key = _new_key_text(), _new_key_text()
    with engine.begin() as connection:
        newest_ciphertexts = connection.execute(
            select(access_keys.c.secret_ciphertext)
            .order_by(access_keys.c.created_at.desc(), access_keys.c.access_key.desc())
            .limit(_SERVER_KEY_CHECK_SAMPLE)
        ).scalars()
        _check_server_key(box, list(newest_ciphertexts))
        connection.execute(
            access_keys.insert().values(
                access_key=access_key,
                pin=pin,
                secret_ciphertext=box.encrypt(secret_key),
                enabled=True,
                created_at=int(time.time()),
            )
        )
    return NewKey(access_key=access_key, secret_key=secret_key, pin=pin)


def verify_server_key(engine: Engine, box: SecretBox) -> None:
    """Raise ServerKeyError unless `box` decrypts one of the newest stored secrets, if any."""
    with engine.connect() as connection:
        newest_ciphertexts = connection.execute(
            select(access_keys.c.secret_ciphertext)
            .order_by(access_keys.c.created_at.desc(), access_keys.c.access_key.desc())
            .limit(_SERVER_KEY_CHECK_SAMPLE)
        ).scalars()
        _check_server_key(box, list(newest_ciphertexts))


def _check_server_key(box: SecretBox, ciphertexts: list[bytes]) -> None:
    """Raise ServerKeyError unless `box` decrypts one of `ciphertexts` (or there are none)."""
    error: ServerKeyError | None = None
    for ciphertext in ciphertexts:
        try:
            box.decrypt(ciphertext)
        except ServerKeyError as decrypt_error:
            error = decrypt_error
        else:
            return
    if error is not None:
        raise error


def list_access_keys(engine: Engine, pin: str | None = None) -> list[StoredKey]:
    """Return all keys, or one pin's keys, oldest first."""
    statement = select(access_keys).order_by(access_keys.c.created_at, access_keys.c.access_key)
    if pin is not None:
        statement = statement.where(access_keys.c.pin == pin)
    with engine.connect() as connection:
        return [StoredKey(**row._mapping) for row in connection.execute(statement)]


def set_access_key_enabled(engine: Engine, access_key: str, enabled: bool) -> None:
    """Enable or disable a key; raises AccessKeyNotFoundError for an unknown key."""
    with engine.begin() as connection:
        result = connection.execute(
            update(access_keys)
            .where(access_keys.c.access_key == access_key)
            .values(enabled=enabled)
        )
        if result.rowcount == 0:
            raise AccessKeyNotFoundError(access_key)


def delete_access_key(engine: Engine, access_key: str) -> None:
    """Delete a key; raises AccessKeyNotFoundError for an unknown key."""
    with engine.begin() as connection:
        result = connection.execute(
            delete(access_keys).where(access_keys.c.access_key == access_key)
        )
        if result.rowcount == 0:
            raise AccessKeyNotFoundError(access_key)
