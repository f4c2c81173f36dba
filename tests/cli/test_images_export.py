"""`cocvm images export`: formats, round trips, the region filter and output files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from catalog_records import make_record
from cocvm.cli import i18n
from cocvm.cli.main import cli
from cocvm.images.default_catalog import default_catalog
from cocvm.store.database import create_catalog_engine
from conftest import run_cocvm
from services import fresh_database


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CHINESE", False)


def varied_records() -> list[dict[str, Any]]:
    """Records that use defaults, nested models, sharing, Unicode and several regions."""
    return [
        make_record("img-minimal"),
        make_record(
            "img-full",
            regionId="cn-east-2",
            name="Windows Server 2019 数据中心版 64位中文版",
            platform="Windows Server",
            distribution="Windows Server",
            osVersion="2019",
            osType="windows",
            architecture="x86_64",
            systemDiskSizeGB=50,
            sizeMB=20480,
            status="error",
            desc='带 "引号" 和\n换行',
            partnerImageId="partner-1",
            snapshots=[
                {
                    "diskSnapshotId": "snap-1",
                    "diskSnapshotName": "system disk",
                    "diskSize": 50,
                    "diskCategory": "system",
                    "diskType": "ssd",
                }
            ],
            offline=True,
            sharedWith=["bob", "carol"],
            loginName="Administrator",
            rootDeviceType="localDisk",
            bootMode="uefi",
            progress="42",
            imported=True,
            expiredTime="2030-01-01 00:00:00",
            instanceId="i-abc",
            serviceCode="market-1",
            snapshotId="snap-1",
            systemDisk={
                "diskCategory": "local",
                "autoDelete": True,
                "localDisk": {"diskType": "ssd", "diskSizeGB": 50},
            },
            dataDisks=[{"diskCategory": "cloud", "cloudDisk": {"diskSizeGB": 100, "iops": 3000}}],
            chargeInfo={"serviceCode": "market-1", "formula": ["hourly"]},
        ),
        make_record(
            "img-public",
            imageSource="public",
            ownerPin="admin",
            regionId="cn-south-1",
            createTime="2025-12-31 23:59:59",
        ),
        make_record("img-arm", architecture="arm64", createTime="2020-02-29 00:00:00"),
    ]


def invoke(*arguments: str, input_bytes: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(arguments), input=input_bytes)


def import_records(tmp_path: Path, database_url: str, records: list[Any]) -> None:
    path = tmp_path / "import.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    result = invoke("images", "import", str(path), "--database", database_url)
    assert result.exit_code == 0, result.output


def export(database_url: str, *arguments: str) -> bytes:
    result = invoke("images", "export", "--database", database_url, *arguments)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def exported_ids(data: bytes) -> list[str]:
    return [json.loads(line)["imageId"] for line in data.decode().splitlines()]


@pytest.fixture
def copy_database_url(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A second new, empty database of the same store as `database_url`."""
    if database_url.startswith("sqlite:///"):
        yield f"sqlite:///{tmp_path / 'copy.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres")) as url:
        yield url


def set_schema_revision(database_url: str, revision: str) -> None:
    engine = create_catalog_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
            )
    finally:
        engine.dispose()


def test_export_round_trip_byte_identical(
    tmp_path: Path, database_url: str, copy_database_url: str
) -> None:
    catalog = tmp_path / "catalog.json"
    records = varied_records() + default_catalog(("cn-north-1", "cn-east-2"))
    catalog.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    first_export = tmp_path / "first.jsonl"

    steps = [
        run_cocvm("images", "import", str(catalog), "--database", database_url),
        run_cocvm("images", "export", "--database", database_url, "--output", str(first_export)),
        run_cocvm("images", "import", str(first_export), "--database", copy_database_url),
    ]
    second = run_cocvm("images", "export", "--database", copy_database_url)

    for step in [*steps, second]:
        assert step.returncode == 0, step.stderr.decode()
    assert second.stdout == first_export.read_bytes()
    assert len(second.stdout.splitlines()) == len(records)


def test_export_round_trip_across_stores(tmp_path: Path, postgres_url: str) -> None:
    records = varied_records() + default_catalog(("cn-north-1", "cn-east-2"))
    sqlite_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    import_records(tmp_path, sqlite_url, records)
    from_sqlite = tmp_path / "from-sqlite.jsonl"
    from_sqlite.write_bytes(export(sqlite_url))

    result = invoke("images", "import", str(from_sqlite), "--database", postgres_url)

    assert result.exit_code == 0, result.output
    assert export(postgres_url) == from_sqlite.read_bytes()
    assert export(postgres_url, "--format", "json") == export(sqlite_url, "--format", "json")


def test_export_json_array_imports_back(
    tmp_path: Path, database_url: str, copy_database_url: str
) -> None:
    import_records(tmp_path, database_url, varied_records())
    array_file = tmp_path / "export.json"
    array_file.write_bytes(export(database_url, "--format", "json"))

    result = invoke("images", "import", str(array_file), "--database", copy_database_url)

    assert result.exit_code == 0, result.output
    assert export(copy_database_url) == export(database_url)


def test_export_json_array_is_json(tmp_path: Path, database_url: str) -> None:
    import_records(tmp_path, database_url, varied_records())

    exported = json.loads(export(database_url, "--format", "json"))

    assert [record["imageId"] for record in exported] == exported_ids(export(database_url))


def test_export_shows_stored_values(tmp_path: Path, database_url: str) -> None:
    records = varied_records()
    import_records(tmp_path, database_url, records)

    lines = export(database_url).splitlines()
    exported = {record["imageId"]: record for record in map(json.loads, lines)}

    full = exported["img-full"]
    for field, value in records[1].items():
        assert full[field] == value, field


def test_export_keeps_unicode_as_utf8(tmp_path: Path, database_url: str) -> None:
    import_records(tmp_path, database_url, varied_records())

    data = export(database_url)

    assert "数据中心版".encode() in data


def test_export_order(tmp_path: Path, database_url: str) -> None:
    import_records(
        tmp_path,
        database_url,
        [
            make_record("img-b", createTime="2024-01-01 00:00:00"),
            make_record("img-new", createTime="2025-01-01 00:00:00"),
            make_record("img-a", createTime="2024-01-01 00:00:00"),
            make_record("img-east", regionId="cn-east-1", createTime="2000-01-01 00:00:00"),
        ],
    )

    assert exported_ids(export(database_url)) == ["img-east", "img-new", "img-a", "img-b"]


def test_export_region_filter(tmp_path: Path, database_url: str) -> None:
    import_records(tmp_path, database_url, varied_records())

    north = export(database_url, "--region", "cn-north-1")
    east = export(database_url, "--region", "cn-east-2")

    assert exported_ids(north) == ["img-minimal", "img-arm"]
    assert exported_ids(east) == ["img-full"]


def test_export_region_filter_json(tmp_path: Path, database_url: str) -> None:
    import_records(tmp_path, database_url, varied_records())

    exported = json.loads(export(database_url, "--region", "cn-south-1", "--format", "json"))

    assert [record["imageId"] for record in exported] == ["img-public"]


def test_export_unknown_region_is_empty(tmp_path: Path, database_url: str) -> None:
    import_records(tmp_path, database_url, varied_records())

    result = invoke("images", "export", "--database", database_url, "--region", "eu-west-9")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "Exported 0 images.\n"


def test_export_empty_catalog(database_url: str) -> None:
    assert export(database_url) == b""
    assert export(database_url, "--format", "json") == b"[]\n"


def test_export_output_file(tmp_path: Path, database_url: str) -> None:
    import_records(tmp_path, database_url, varied_records())
    output = tmp_path / "out.jsonl"

    result = invoke("images", "export", "--database", database_url, "--output", str(output))

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == "Exported 4 images.\n"
    assert output.read_bytes() == export(database_url)


def test_export_failure_keeps_output_file(tmp_path: Path, database_url: str) -> None:
    import_records(tmp_path, database_url, varied_records())
    output = tmp_path / "out.jsonl"
    output.write_text("previous export\n")
    set_schema_revision(database_url, "f00dfeed")

    result = invoke("images", "export", "--database", database_url, "--output", str(output))

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "Error: Export failed: The database schema is at revision f00dfeed"
    )
    assert output.read_text() == "previous export\n"


def test_export_output_folder_missing(tmp_path: Path, database_url: str) -> None:
    output = tmp_path / "missing" / "out.jsonl"

    result = invoke("images", "export", "--database", database_url, "--output", str(output))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot write {output}: ")


def test_export_invalid_database_url() -> None:
    result = invoke("images", "export", "--database", "catalog.db")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: Export failed: Invalid database URL 'catalog.db'")


def test_export_stops_quietly_when_reader_closes(tmp_path: Path, database_url: str) -> None:
    records = [make_record(f"img-{number:05d}", desc="x" * 500) for number in range(2000)]
    import_records(tmp_path, database_url, records)

    process = subprocess.Popen(
        [sys.executable, "-m", "cocvm", "images", "export", "--database", database_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)

    assert json.loads(first_line)["imageId"] == "img-00000"
    assert process.returncode == 1
    assert b"Traceback" not in stderr
    assert b"Broken pipe" not in stderr
