"""Encryption at rest for access key secrets, with a server key kept outside the database.

Secrets are encrypted with Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`). The server
key comes from the environment variable COCVM_SERVER_KEY when it is set, else from a key file: by
default `$XDG_CONFIG_HOME/cocvm/server.key` (`~/.config/cocvm/server.key`), created on first use
with mode 0600.
Every process that reads or writes keys of one database needs the same server key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

SERVER_KEY_VARIABLE = "COCVM_SERVER_KEY"
SERVER_KEY_FILE_VARIABLE = "COCVM_SERVER_KEY_FILE"


class ServerKeyError(RuntimeError):
    """The server key is missing, unreadable, malformed, or does not match the stored secrets."""


def default_server_key_path() -> Path:
    """Return where the server key file lives unless configured otherwise."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "cocvm" / "server.key"


class SecretBox:
    """Encrypts and decrypts access key secrets with the server key."""

    def __init__(self, server_key: bytes, source: str = "the server key") -> None:
        """Use `server_key` (a Fernet key); `source` names where it came from, in lower case."""
        self.source = source
        try:
            self._fernet = Fernet(server_key)
        except ValueError as error:
            raise ServerKeyError(
                f"{_capitalized(source)} is malformed: it must be 32 url-safe base64-encoded "
                "bytes, as `cocvm` writes it."
            ) from error

    def encrypt(self, secret: str) -> bytes:
        """Encrypt a secret for storage."""
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> str:
        """Decrypt a stored secret; raises ServerKeyError when another server key encrypted it."""
        try:
            return self._fernet.decrypt(ciphertext).decode("utf-8")
        except InvalidToken as error:
            raise ServerKeyError(
                f"{_capitalized(self.source)} cannot decrypt the access key secrets stored in "
                "this database: every cocvm process of one database needs the key that encrypted "
                "them. Point "
                f"--server-key-file (or {SERVER_KEY_FILE_VARIABLE}) at that key's file, or set "
                f"{SERVER_KEY_VARIABLE} to it."
            ) from error


def load_secret_box(key_file: str | os.PathLike[str] | None = None, *, create: bool) -> SecretBox:
    """Load the server key from the environment or the key file, creating the file if asked.

    `key_file` overrides COCVM_SERVER_KEY_FILE and the default path. Commands that write keys pass
    `create=True`; the server passes it too, so that a fresh installation needs no set-up step.
    """
    from_environment = os.environ.get(SERVER_KEY_VARIABLE)
    if from_environment:
        source = f"the server key in {SERVER_KEY_VARIABLE}"
        if not from_environment.isascii():
            raise ServerKeyError(
                f"{_capitalized(source)} is malformed: it contains characters other than "
                "url-safe base64."
            )
        return SecretBox(from_environment.strip().encode("ascii"), source)

    path = Path(key_file or os.environ.get(SERVER_KEY_FILE_VARIABLE) or default_server_key_path())
    source = f"the server key in the file {path}"
    try:
        return SecretBox(path.read_bytes().strip(), source)
    except FileNotFoundError:
        if not create:
            raise ServerKeyError(
                f"The server key file {path} does not exist. Set {SERVER_KEY_VARIABLE} or point "
                "--server-key-file at the key that encrypted this database's secrets."
            ) from None
    except OSError as error:
        raise ServerKeyError(f"Cannot read the server key file {path}: {error}") from error

    try:
        return SecretBox(_create_key_file(path), source)
    except OSError as error:
        raise ServerKeyError(
            f"Cannot create the server key file {path}: {error}. Point --server-key-file at a "
            f"writable location or set {SERVER_KEY_VARIABLE}."
        ) from error


def _create_key_file(path: Path) -> bytes:
    """Write a new key to `path` with mode 0600, or return the key another process wrote first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    # The key is written to a temporary file (mkstemp makes it 0600) and then linked into place,
    # so the key file never exists half-written. When two processes start at once, the link of
    # the second one fails and it reads the first one's key.
    descriptor, temporary_name = tempfile.mkstemp(prefix=".server.key.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(key + b"\n")
            key_file.flush()
            os.fsync(key_file.fileno())
        try:
            os.link(temporary_name, path)
        except FileExistsError:
            return path.read_bytes().strip()
    finally:
        os.unlink(temporary_name)
    return key


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
