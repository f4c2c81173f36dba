import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cocvm.store.secret_box import (
    SERVER_KEY_FILE_VARIABLE,
    SERVER_KEY_VARIABLE,
    SecretBox,
    ServerKeyError,
    default_server_key_path,
    load_secret_box,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep every test away from the real key file and the caller's key variables."""
    monkeypatch.delenv(SERVER_KEY_VARIABLE, raising=False)
    monkeypatch.delenv(SERVER_KEY_FILE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_secret_box_round_trip() -> None:
    box = SecretBox(Fernet.generate_key())

    assert box.decrypt(box.encrypt("0123456789ABCDEF")) == "0123456789ABCDEF"


def test_secret_box_ciphertext_hides_secret() -> None:
    box = SecretBox(Fernet.generate_key())
    secret = "0123456789ABCDEF0123456789ABCDEF"

    first = box.encrypt(secret)
    second = box.encrypt(secret)

    assert secret.encode() not in first
    assert first != second


def test_secret_box_other_key_fails() -> None:
    ciphertext = SecretBox(Fernet.generate_key()).encrypt("secret")

    with pytest.raises(ServerKeyError, match="cannot decrypt the access key secrets stored"):
        SecretBox(Fernet.generate_key()).decrypt(ciphertext)


@pytest.mark.parametrize("server_key", [b"", b"short", b"!" * 44, Fernet.generate_key()[:-4]])
def test_secret_box_malformed_key(server_key: bytes) -> None:
    with pytest.raises(ServerKeyError, match="is malformed"):
        SecretBox(server_key)


def test_default_server_key_path_uses_xdg(tmp_path: Path) -> None:
    assert default_server_key_path() == tmp_path / "config" / "cocvm" / "server.key"


def test_load_creates_default_key_file(tmp_path: Path) -> None:
    box = load_secret_box(create=True)
    key_path = tmp_path / "config" / "cocvm" / "server.key"

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_path.parent.stat().st_mode) == 0o700
    assert SecretBox(key_path.read_bytes().strip()).decrypt(box.encrypt("s")) == "s"


def test_load_creates_named_key_file(tmp_path: Path) -> None:
    key_path = tmp_path / "keys" / "server.key"

    load_secret_box(key_path, create=True)

    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_load_leaves_no_temporary_file(tmp_path: Path) -> None:
    key_path = tmp_path / "keys" / "server.key"

    load_secret_box(key_path, create=True)

    assert os.listdir(key_path.parent) == ["server.key"]


def test_load_reuses_existing_key_file(tmp_path: Path) -> None:
    key_path = tmp_path / "server.key"
    first = load_secret_box(key_path, create=True)
    content = key_path.read_bytes()

    second = load_secret_box(key_path, create=True)

    assert key_path.read_bytes() == content
    assert second.decrypt(first.encrypt("s")) == "s"


def test_load_file_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_path = tmp_path / "from-environment.key"
    monkeypatch.setenv(SERVER_KEY_FILE_VARIABLE, str(key_path))

    load_secret_box(create=True)

    assert key_path.exists()
    assert not (tmp_path / "config").exists()


def test_load_argument_beats_file_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(SERVER_KEY_FILE_VARIABLE, str(tmp_path / "variable.key"))

    load_secret_box(tmp_path / "argument.key", create=True)

    assert (tmp_path / "argument.key").exists()
    assert not (tmp_path / "variable.key").exists()


def test_load_key_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    server_key = Fernet.generate_key()
    monkeypatch.setenv(SERVER_KEY_VARIABLE, server_key.decode() + "\n")
    key_path = tmp_path / "server.key"

    box = load_secret_box(key_path, create=True)

    assert not key_path.exists()
    assert SecretBox(server_key).decrypt(box.encrypt("s")) == "s"


def test_load_missing_file_without_create(tmp_path: Path) -> None:
    key_path = tmp_path / "absent.key"

    with pytest.raises(ServerKeyError, match="does not exist") as raised:
        load_secret_box(key_path, create=False)

    assert str(key_path) in str(raised.value)
    assert not key_path.exists()


@pytest.mark.parametrize("value", ["garbage", "gärbage", "ключ"])
def test_load_malformed_environment_key(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(SERVER_KEY_VARIABLE, value)

    with pytest.raises(
        ServerKeyError, match=f"The server key in {SERVER_KEY_VARIABLE} is malformed"
    ):
        load_secret_box(create=True)


def test_load_malformed_key_file_names_file(tmp_path: Path) -> None:
    key_path = tmp_path / "bad.key"
    key_path.write_bytes(b"not a key\n")

    with pytest.raises(ServerKeyError, match="is malformed") as raised:
        load_secret_box(key_path, create=True)

    assert str(key_path) in str(raised.value)


def test_load_key_file_is_directory(tmp_path: Path) -> None:
    with pytest.raises(ServerKeyError, match="Cannot read the server key file"):
        load_secret_box(tmp_path, create=True)


def test_load_uncreatable_key_file() -> None:
    # Nobody, not even root, can create a folder in /proc.
    key_path = Path("/proc/cocvm-no-such-folder/server.key")

    with pytest.raises(ServerKeyError, match="Cannot create the server key file") as raised:
        load_secret_box(key_path, create=True)

    assert str(key_path) in str(raised.value)


def test_load_concurrent_creation_one_key(tmp_path: Path) -> None:
    key_path = tmp_path / "server.key"
    start = threading.Barrier(8)
    boxes: list[SecretBox] = []
    errors: list[BaseException] = []

    def load() -> None:
        start.wait()
        try:
            boxes.append(load_secret_box(key_path, create=True))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    ciphertext = boxes[0].encrypt("s")
    assert all(box.decrypt(ciphertext) == "s" for box in boxes)
