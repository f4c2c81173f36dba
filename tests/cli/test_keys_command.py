import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from sqlalchemy import inspect, select, text
from sqlalchemy import table as table_clause

from cocvm.cli.main import cli
from cocvm.store.database import create_catalog_engine
from cocvm.store.keys import list_access_keys
from cocvm.store.secret_box import SecretBox
from conftest import run_cocvm


def stored_bytes(database_url: str) -> bytes:
    """Return the bytes a database keeps, where a secret stored in plain text would show.

    For SQLite these are the file and its WAL and shared-memory files. For PostgreSQL they are
    every value of every row of every table, read back over SQL.
    """
    if database_url.startswith("sqlite:///"):
        database_path = Path(database_url.removeprefix("sqlite:///"))
        paths = database_path.parent.glob(f"{database_path.name}*")
        return b"".join(path.read_bytes() for path in paths)

    engine = create_catalog_engine(database_url)
    try:
        values: list[bytes] = []
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                rows = connection.execute(select(text("*")).select_from(table_clause(table)))
                for row in rows:
                    values += [
                        value if isinstance(value, bytes) else str(value).encode() for value in row
                    ]
    finally:
        engine.dispose()
    return b"\n".join(values)


class KeysCli:
    """`cocvm keys` run in this process against one database and one server key file."""

    def __init__(self, database_url: str, work_dir: Path) -> None:
        self.database_url = database_url
        self.key_file = work_dir / "secrets" / "server.key"
        # None removes a variable; 80 columns is what Rich assumes when output is not a terminal.
        self.environment: dict[str, str | None] = {
            "COCVM_SERVER_KEY_FILE": str(self.key_file),
            "COCVM_SERVER_KEY": None,
            "COLUMNS": "80",
        }

    def run(self, *arguments: str, environment: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(
            cli,
            ["keys", *arguments, "--database", self.database_url],
            env={**self.environment, **(environment or {})},
        )

    def create(self, pin: str) -> dict[str, str]:
        result = self.run("create", "--pin", pin, "--json")
        assert result.exit_code == 0, result.output
        created: dict[str, str] = json.loads(result.stdout)
        return created


@pytest.fixture
def keys_cli(database_url: str, tmp_path: Path) -> KeysCli:
    """`cocvm keys` on a new SQLite file, then on a new PostgreSQL database."""
    return KeysCli(database_url, tmp_path)


def assert_clean_failure(result: Result, message: str) -> None:
    """The command failed with exit status 1 and one error line, not a traceback."""
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr == f"Error: {message}\n"


# --- create -------------------------------------------------------------------------------------


def test_keys_create_prints_pair(keys_cli: KeysCli) -> None:
    result = keys_cli.run("create", "--pin", "alice")

    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert [line.split(":")[0] for line in lines] == ["Access key", "Secret key", "Pin"]
    assert lines[2] == "Pin:        alice"
    assert "cannot be shown again" in result.stderr


def test_keys_create_json(keys_cli: KeysCli) -> None:
    created = keys_cli.create("alice")

    assert set(created) == {"accessKey", "secretKey", "pin"}
    assert created["pin"] == "alice"
    assert len(created["accessKey"]) == 32
    assert len(created["secretKey"]) == 32


def test_keys_create_empty_pin(keys_cli: KeysCli) -> None:
    result = keys_cli.run("create", "--pin", "  ")

    assert result.exit_code == 2
    assert "The pin must not be empty." in result.stderr


def test_keys_create_key_file_mode(keys_cli: KeysCli) -> None:
    keys_cli.create("alice")

    assert stat.S_IMODE(keys_cli.key_file.stat().st_mode) == 0o600


def test_keys_create_key_from_environment(keys_cli: KeysCli) -> None:
    server_key = Fernet.generate_key()

    result = keys_cli.run(
        "create", "--pin", "alice", "--json", environment={"COCVM_SERVER_KEY": server_key.decode()}
    )

    created = json.loads(result.stdout)
    engine = create_catalog_engine(keys_cli.database_url)
    (stored,) = list_access_keys(engine)
    engine.dispose()
    assert not keys_cli.key_file.exists()
    assert SecretBox(server_key).decrypt(stored.secret_ciphertext) == created["secretKey"]


def test_keys_create_secret_only_encrypted(keys_cli: KeysCli) -> None:
    created = keys_cli.create("alice")

    stored = stored_bytes(keys_cli.database_url)

    assert created["accessKey"].encode() in stored
    assert created["secretKey"].encode() not in stored


@pytest.mark.parametrize("server_key", ["garbage", "gärbage"])
def test_keys_create_malformed_environment_key(keys_cli: KeysCli, server_key: str) -> None:
    result = keys_cli.run("create", "--pin", "alice", environment={"COCVM_SERVER_KEY": server_key})

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: The server key in COCVM_SERVER_KEY is malformed")


def test_keys_create_malformed_key_file(keys_cli: KeysCli) -> None:
    keys_cli.key_file.parent.mkdir()
    keys_cli.key_file.write_text("not a key\n")

    result = keys_cli.run("create", "--pin", "alice")

    assert_clean_failure(
        result,
        f"The server key in the file {keys_cli.key_file} is malformed: it must be 32 url-safe "
        "base64-encoded bytes, as `cocvm` writes it.",
    )


def test_keys_create_wrong_server_key(keys_cli: KeysCli) -> None:
    keys_cli.create("alice")

    result = keys_cli.run(
        "create", "--pin", "bob", environment={"COCVM_SERVER_KEY": Fernet.generate_key().decode()}
    )

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "cannot decrypt the access key secrets stored in this database" in result.stderr
    assert "bob" not in keys_cli.run("list").stdout


def test_keys_create_uncreatable_key_file(keys_cli: KeysCli) -> None:
    result = keys_cli.run(
        "create",
        "--pin",
        "alice",
        "--server-key-file",
        "/proc/cocvm-no-such-folder/server.key",
    )

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(
        "Error: Cannot create the server key file /proc/cocvm-no-such-folder/server.key"
    )


# --- list ---------------------------------------------------------------------------------------


def test_keys_list_hides_secrets(keys_cli: KeysCli) -> None:
    created = [keys_cli.create(pin) for pin in ("alice", "bob")]

    table = keys_cli.run("list")
    lines = keys_cli.run("list", "--json")

    for key in created:
        assert key["accessKey"] in table.stdout
        assert key["secretKey"] not in table.stdout
        assert key["accessKey"] in lines.stdout
        assert key["secretKey"] not in lines.stdout


def test_keys_list_json_fields(keys_cli: KeysCli) -> None:
    created = keys_cli.create("alice")

    result = keys_cli.run("list", "--json")

    (entry,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(entry) == {"accessKey", "pin", "enabled", "createdAt"}
    assert entry["accessKey"] == created["accessKey"]
    assert entry["pin"] == "alice"
    assert entry["enabled"] is True


def test_keys_list_by_pin(keys_cli: KeysCli) -> None:
    alice = keys_cli.create("alice")
    bob = keys_cli.create("bob")

    result = keys_cli.run("list", "--pin", "bob", "--json")

    listed = [json.loads(line)["accessKey"] for line in result.stdout.splitlines()]
    assert listed == [bob["accessKey"]]
    assert alice["accessKey"] not in result.stdout


def test_keys_list_table_keeps_whole_key(keys_cli: KeysCli) -> None:
    # 80 columns cannot hold this row on one line; the access key must still appear whole.
    long_pin = "a-pin-long-enough-to-make-the-table-wider-than-eighty-columns"
    created = keys_cli.create(long_pin)

    result = keys_cli.run("list")

    assert created["accessKey"] in result.stdout
    assert "…" not in result.stdout


def test_keys_list_empty(keys_cli: KeysCli) -> None:
    result = keys_cli.run("list", "--json")

    assert result.exit_code == 0
    assert result.stdout == ""


# --- disable, enable, delete --------------------------------------------------------------------


def enabled_states(keys_cli: KeysCli) -> dict[str, bool]:
    result = keys_cli.run("list", "--json")
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    return {entry["accessKey"]: entry["enabled"] for entry in entries}


def test_keys_disable_and_enable(keys_cli: KeysCli) -> None:
    access_key = keys_cli.create("alice")["accessKey"]

    disabled = keys_cli.run("disable", access_key)
    assert disabled.exit_code == 0
    assert disabled.stdout == f"Disabled {access_key}.\n"
    assert enabled_states(keys_cli) == {access_key: False}
    assert "disabled" in keys_cli.run("list").stdout

    enabled = keys_cli.run("enable", access_key)
    assert enabled.exit_code == 0
    assert enabled.stdout == f"Enabled {access_key}.\n"
    assert enabled_states(keys_cli) == {access_key: True}


def test_keys_delete(keys_cli: KeysCli) -> None:
    alice = keys_cli.create("alice")["accessKey"]
    bob = keys_cli.create("bob")["accessKey"]

    result = keys_cli.run("delete", alice)

    assert result.exit_code == 0
    assert result.stdout == f"Deleted {alice}.\n"
    assert enabled_states(keys_cli) == {bob: True}


@pytest.mark.parametrize("command", ["disable", "enable", "delete"])
def test_keys_unknown_key_fails(keys_cli: KeysCli, command: str) -> None:
    keys_cli.create("alice")

    result = keys_cli.run(command, "AKNOSUCHKEY")

    assert_clean_failure(
        result, "Access key AKNOSUCHKEY not found; `cocvm keys list` shows the keys."
    )


# --- As a separate process ----------------------------------------------------------------------


def test_keys_command_process_round_trip(database_url: str, tmp_path: Path) -> None:
    key_file = tmp_path / "first-use" / "server.key"
    environment = {"COCVM_SERVER_KEY_FILE": str(key_file)}

    created = run_cocvm(
        "keys", "create", "--pin", "alice", "--database", database_url, env=environment
    )
    listed = run_cocvm("keys", "list", "--database", database_url, env=environment)

    secret_line = created.stdout.decode().splitlines()[1]
    secret_key = secret_line.removeprefix("Secret key: ")
    assert created.returncode == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert listed.returncode == 0
    assert "alice" in listed.stdout.decode()
    assert secret_key not in listed.stdout.decode()
    assert secret_key.encode() not in stored_bytes(database_url)


def test_keys_command_process_unknown_key(database_url: str) -> None:
    result = run_cocvm("keys", "disable", "AKNOSUCHKEY", "--database", database_url)

    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode() == (
        "Error: Access key AKNOSUCHKEY not found; `cocvm keys list` shows the keys.\n"
    )


def test_keys_command_process_malformed_key(database_url: str) -> None:
    result = run_cocvm(
        "keys",
        "create",
        "--pin",
        "alice",
        "--database",
        database_url,
        env={"COCVM_SERVER_KEY": "gärbage"},
    )

    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert result.stderr.decode().startswith(
        "Error: The server key in COCVM_SERVER_KEY is malformed"
    )
