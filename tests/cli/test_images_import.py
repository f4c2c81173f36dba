"""`cocvm images import`: formats, upserts, rejected records, defaults, and a large import.

Most cases run the command in-process through click's test runner. The cases that need the real
process (standard input, a running server, timing) run `python -m cocvm`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from catalog_records import REMOVE, make_record
from cocvm.cli import i18n
from cocvm.cli.main import cli
from cocvm.store.database import create_catalog_engine
from cocvm.store.writer import count_images
from conftest import TEST_PIN, RunningServer, new_database_url, run_cocvm

ServerFactory = Callable[..., RunningServer]


@pytest.fixture(autouse=True)
def english_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CHINESE", False)


def public_record(image_id: str, **overrides: Any) -> dict[str, Any]:
    return make_record(image_id, imageSource="public", ownerPin="admin", **overrides)


def json_array(records: list[Any]) -> bytes:
    return json.dumps(records, ensure_ascii=False, indent=1).encode()


def json_lines(records: list[Any]) -> bytes:
    return b"".join(json.dumps(record, ensure_ascii=False).encode() + b"\n" for record in records)


def invoke(*arguments: str, input_bytes: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(arguments), input=input_bytes)


def import_file(path: Path, data: bytes, database_url: str) -> Result:
    path.write_bytes(data)
    return invoke("images", "import", str(path), "--database", database_url)


def export(database_url: str) -> bytes:
    result = invoke("images", "export", "--database", database_url)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def exported_records(database_url: str) -> dict[str, dict[str, Any]]:
    lines = export(database_url).decode().splitlines()
    return {record["imageId"]: record for record in map(json.loads, lines)}


def listed_ids(server: RunningServer, query: str, **keywords: Any) -> list[str]:
    reply = server.get(f"/v1/regions/cn-north-1/images?{query}&pageSize=100", **keywords)
    assert reply.status == 200, reply.body
    return [image["imageId"] for image in reply.json()["result"]["images"]]


def test_import_json_array_file(tmp_path: Path, database_url: str) -> None:
    records = [make_record("img-a1"), public_record("img-a2")]

    result = import_file(tmp_path / "catalog.json", json_array(records), database_url)

    assert result.exit_code == 0, result.output
    assert result.stderr == f"Imported 2 images into {database_url}.\n"
    assert set(exported_records(database_url)) == {"img-a1", "img-a2"}


def test_import_json_lines_file_skips_blank_lines(tmp_path: Path, database_url: str) -> None:
    lines = json_lines([make_record("img-l1"), make_record("img-l2")]).split(b"\n")
    data = b"\n\n" + lines[0] + b"\n   \n\n" + lines[1] + b"\n\n"

    result = import_file(tmp_path / "catalog.jsonl", data, database_url)

    assert result.exit_code == 0, result.output
    assert set(exported_records(database_url)) == {"img-l1", "img-l2"}


def test_import_standard_input_in_process(database_url: str) -> None:
    data = json_lines([make_record("img-s1")])

    result = invoke("images", "import", "-", "--database", database_url, input_bytes=data)

    assert result.exit_code == 0, result.output
    assert set(exported_records(database_url)) == {"img-s1"}


def test_import_missing_file(tmp_path: Path, database_url: str) -> None:
    missing = tmp_path / "missing.jsonl"

    result = invoke("images", "import", str(missing), "--database", database_url)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot read {missing}: ")
    assert "No such file or directory" in result.stderr


def test_import_listed_by_server(
    tmp_path: Path, database_url: str, server_factory: ServerFactory
) -> None:
    array_file = tmp_path / "catalog.json"
    array_file.write_bytes(
        json_array(
            [
                public_record("img-pub1", createTime="2024-05-01 00:00:00"),
                public_record("img-pub2", createTime="2024-04-01 00:00:00"),
                public_record("img-east", regionId="cn-east-2"),
                make_record("img-alice", sharedWith=["bob"]),
            ]
        )
    )
    from_file = run_cocvm("images", "import", str(array_file), "--database", database_url)
    from_stdin = run_cocvm(
        "images",
        "import",
        "-",
        "--database",
        database_url,
        input_bytes=b"\n" + json_lines([make_record("img-mine", ownerPin=TEST_PIN)]) + b"\n\n",
    )

    server = server_factory("--profile", "vm", database_url=database_url)
    bob = server.create_key("bob")

    assert from_file.returncode == 0, from_file.stderr
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert listed_ids(server, "imageSource=public") == ["img-pub1", "img-pub2"]
    assert listed_ids(server, "imageSource=private") == ["img-mine"]
    assert listed_ids(server, "imageSource=shared", credentials=bob) == ["img-alice"]
    assert listed_ids(server, "imageSource=private", credentials=bob) == []


def test_import_upsert_seen_by_running_server(
    tmp_path: Path, database_url: str, server_factory: ServerFactory
) -> None:
    first = tmp_path / "first.jsonl"
    first.write_bytes(
        json_lines([public_record("img-pub1"), make_record("img-alice", sharedWith=["bob"])])
    )
    assert run_cocvm("images", "import", str(first), "--database", database_url).returncode == 0
    server = server_factory("--profile", "vm", database_url=database_url)
    bob = server.create_key("bob")
    dave = server.create_key("dave")
    assert listed_ids(server, "imageSource=shared", credentials=bob) == ["img-alice"]

    second = tmp_path / "second.jsonl"
    second.write_bytes(
        json_lines(
            [
                public_record("img-pub1", name="renamed"),
                make_record("img-alice", sharedWith=["dave"]),
            ]
        )
    )
    replaced = run_cocvm("images", "import", str(second), "--database", database_url)

    assert replaced.returncode == 0, replaced.stderr
    reply = server.get("/v1/regions/cn-north-1/images?imageSource=public")
    assert [image["name"] for image in reply.json()["result"]["images"]] == ["renamed"]
    assert listed_ids(server, "imageSource=shared", credentials=bob) == []
    assert listed_ids(server, "imageSource=shared", credentials=dave) == ["img-alice"]


def test_import_replaces_name_region_and_sharing(tmp_path: Path, database_url: str) -> None:
    seed = [make_record("img-a1", sharedWith=["bob", "carol"]), make_record("img-a2")]
    assert import_file(tmp_path / "seed.jsonl", json_lines(seed), database_url).exit_code == 0
    changed = make_record("img-a1", name="renamed", regionId="cn-east-2", sharedWith=["dave"])

    result = import_file(tmp_path / "changed.jsonl", json_lines([changed]), database_url)

    assert result.exit_code == 0, result.output
    stored = exported_records(database_url)
    assert set(stored) == {"img-a1", "img-a2"}
    assert stored["img-a1"]["name"] == "renamed"
    assert stored["img-a1"]["regionId"] == "cn-east-2"
    assert stored["img-a1"]["sharedWith"] == ["dave"]
    assert stored["img-a2"]["name"] == "image img-a2"


def test_import_private_image_made_public(tmp_path: Path, database_url: str) -> None:
    seed = [make_record("img-a1", sharedWith=["bob"])]
    assert import_file(tmp_path / "seed.jsonl", json_lines(seed), database_url).exit_code == 0

    result = import_file(
        tmp_path / "public.jsonl", json_lines([public_record("img-a1")]), database_url
    )

    assert result.exit_code == 0, result.output
    stored = exported_records(database_url)["img-a1"]
    assert stored["imageSource"] == "public"
    assert stored["sharedWith"] == []


def test_import_same_file_twice_changes_nothing(tmp_path: Path, database_url: str) -> None:
    data = json_lines([make_record("img-a1", sharedWith=["bob"]), public_record("img-a2")])
    assert import_file(tmp_path / "catalog.jsonl", data, database_url).exit_code == 0
    before = export(database_url)

    result = import_file(tmp_path / "catalog.jsonl", data, database_url)

    assert result.exit_code == 0, result.output
    assert export(database_url) == before


def test_import_fills_defaults(tmp_path: Path, database_url: str) -> None:
    data = json_lines([make_record("img-min", platform="CentOS")])

    assert import_file(tmp_path / "catalog.jsonl", data, database_url).exit_code == 0

    stored = exported_records(database_url)["img-min"]
    assert stored["distribution"] == "CentOS"
    assert stored["status"] == "ready"
    assert stored["systemDiskSizeGB"] == 40
    assert stored["sizeMB"] == 0
    assert stored["osVersion"] == ""
    assert stored["desc"] == ""
    assert stored["offline"] is False
    assert stored["sharedWith"] == []
    assert stored["rootDeviceType"] == "cloudDisk"
    assert stored["bootMode"] == "bios"
    assert stored["progress"] == "100"
    assert stored["imported"] is False
    assert stored["snapshots"] == []
    assert stored["dataDisks"] == []
    assert stored["systemDisk"] is None
    assert stored["chargeInfo"] is None


# Bad records, each the third record of a four-record file whose other records would change the
# seeded catalog: (case, changes to a valid record, field named, reason).
BAD_RECORDS: list[tuple[str, dict[str, Any], str, str]] = [
    ("name-wrong-type", {"name": 5}, "name", "Expected `str`, got `int`"),
    ("name-null", {"name": None}, "name", "Expected `str`, got `null`"),
    ("size-wrong-type", {"sizeMB": "10"}, "sizeMB", "Expected `int`, got `str`"),
    ("offline-wrong-type", {"offline": "yes"}, "offline", "Expected `bool`, got `str`"),
    ("snapshots-wrong-type", {"snapshots": {}}, "snapshots", "Expected `array`, got `object`"),
    ("sharing-wrong-type", {"sharedWith": "bob"}, "sharedWith", "Expected `array`, got `str`"),
    ("region-missing", {"regionId": REMOVE}, "regionId", "missing required field `regionId`"),
    ("owner-missing", {"ownerPin": REMOVE}, "ownerPin", "missing required field `ownerPin`"),
    ("time-missing", {"createTime": REMOVE}, "createTime", "missing required field `createTime`"),
    ("unknown-field", {"colour": "red"}, "colour", "contains unknown field `colour`"),
    (
        "unknown-nested-field",
        {"snapshots": [{"size": 1}]},
        "snapshots[0].size",
        "contains unknown field `size`",
    ),
    (
        "architecture",
        {"architecture": "i386"},
        "architecture",
        "Invalid enum value 'i386'; allowed values: x86_64, arm64",
    ),
    ("image-source", {"imageSource": "shared"}, "imageSource", "Invalid enum value 'shared'"),
    ("os-type", {"osType": "macos"}, "osType", "Invalid enum value 'macos'"),
    ("status", {"status": "gone"}, "status", "Invalid enum value 'gone'"),
    ("root-device-type", {"rootDeviceType": "ssd"}, "rootDeviceType", "Invalid enum value 'ssd'"),
    ("boot-mode", {"bootMode": "efi"}, "bootMode", "Invalid enum value 'efi'"),
    ("image-id-case", {"imageId": "IMG-3"}, "imageId", "expected `img-` followed by"),
    ("image-id-prefix", {"imageId": "image-3"}, "imageId", "expected `img-` followed by"),
    ("image-id-symbol", {"imageId": "img-a_b"}, "imageId", "expected `img-` followed by"),
    (
        "time-format",
        {"createTime": "2024-03-01T08:00:00"},
        "createTime",
        "expected YYYY-MM-DD HH:MM:SS",
    ),
    ("time-short", {"createTime": "2024-03-01"}, "createTime", "expected YYYY-MM-DD HH:MM:SS"),
    (
        "time-impossible",
        {"createTime": "2021-02-30 08:00:00"},
        "createTime",
        "'2021-02-30 08:00:00' is not a valid date and time",
    ),
    (
        "time-hour-24",
        {"createTime": "2021-01-01 24:00:00"},
        "createTime",
        "'2021-01-01 24:00:00' is not a valid date and time",
    ),
    ("size-negative", {"sizeMB": -1}, "sizeMB", "Expected `int` >= 0"),
    ("disk-negative", {"systemDiskSizeGB": -40}, "systemDiskSizeGB", "Expected `int` >= 0"),
    (
        "snapshot-negative",
        {"snapshots": [{"diskSize": -1}]},
        "snapshots[0].diskSize",
        "Expected `int` >= 0",
    ),
    (
        "data-disk-negative",
        {"dataDisks": [{"localDisk": {"diskSizeGB": -1}}]},
        "dataDisks[0].localDisk.diskSizeGB",
        "Expected `int` >= 0",
    ),
    (
        "shared-public",
        {"imageSource": "public", "sharedWith": ["bob"]},
        "sharedWith",
        "only private images can be shared, but imageSource is 'public'",
    ),
    (
        "shared-thirdparty",
        {"imageSource": "thirdparty", "sharedWith": ["bob"]},
        "sharedWith",
        "only private images can be shared, but imageSource is 'thirdparty'",
    ),
    ("duplicate-image-id", {"imageId": "img-seed1"}, "imageId", "'img-seed1' repeats record 1"),
]


@pytest.fixture(scope="module")
def seeded_catalog(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, bytes]:
    """A catalog of three images, and its export, that rejected imports must leave unchanged."""
    folder = tmp_path_factory.mktemp("seeded")
    database_url = new_database_url(request, store, folder)
    seed = [
        make_record("img-seed1", sharedWith=["bob"]),
        make_record("img-seed2"),
        public_record("img-seed3"),
    ]
    assert import_file(folder / "seed.jsonl", json_lines(seed), database_url).exit_code == 0
    return database_url, export(database_url)


def bad_file_records(changes: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        make_record("img-seed1", name="changed", sharedWith=["mallory"]),
        make_record("img-seed2", regionId="cn-east-2"),
        make_record("img-bad3", **changes),
        make_record("img-new4"),
    ]


def assert_rejected(result: Result, expected_start: str, reason: str) -> None:
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(f"Error: Import failed, nothing was changed: {expected_start}")
    assert reason in result.stderr


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_RECORDS],
)
def test_import_rejects_bad_record_json_lines(
    tmp_path: Path,
    seeded_catalog: tuple[str, bytes],
    changes: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    database_url, before = seeded_catalog
    data = json_lines(bad_file_records(changes))

    result = import_file(tmp_path / "bad.jsonl", data, database_url)

    assert_rejected(result, f"record 3 (line 3), field '{field}': ", reason)
    assert export(database_url) == before


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_RECORDS],
)
def test_import_rejects_bad_record_json_array(
    tmp_path: Path,
    seeded_catalog: tuple[str, bytes],
    changes: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    database_url, before = seeded_catalog
    data = json_array(bad_file_records(changes))

    result = import_file(tmp_path / "bad.json", data, database_url)

    assert_rejected(result, f"record 3, field '{field}': ", reason)
    assert export(database_url) == before


# Files that are wrong as a whole: (case, content, message start, reason).
BAD_FILES: list[tuple[str, bytes, str, str]] = [
    ("empty", b"", "the file contains no image records", ""),
    ("blank-lines", b"\n  \n\t\n", "the file contains no image records", ""),
    ("empty-array", b"[]\n", "the file contains no image records", ""),
    (
        "invalid-json-line",
        json_lines([make_record("img-seed1", name="changed")]) + b'{"imageId": "img-x",\n',
        "record 2 (line 2): not valid JSON",
        "",
    ),
    (
        "invalid-json-array",
        json_array([make_record("img-seed1", name="changed")]).rstrip(b"]"),
        "not valid JSON",
        "",
    ),
    (
        "trailing-comma",
        b"[\n" + json.dumps(make_record("img-seed1", name="changed")).encode() + b",\n]",
        "line 3: not valid JSON",
        "trailing comma",
    ),
    ("number", b"42\n", "record 1 (line 1): ", "Expected `object`, got `int`"),
    ("string", b'"catalog"\n', "record 1 (line 1): ", "Expected `object`, got `str`"),
    ("null", b"null\n", "record 1 (line 1): ", "Expected `object`, got `null`"),
    ("array-of-numbers", b"[1, 2]", "record 1: ", "Expected `object`, got `int`"),
]


@pytest.mark.parametrize(
    ("data", "expected_start", "reason"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_FILES],
)
def test_import_rejects_bad_file(
    tmp_path: Path,
    seeded_catalog: tuple[str, bytes],
    data: bytes,
    expected_start: str,
    reason: str,
) -> None:
    database_url, before = seeded_catalog

    result = import_file(tmp_path / "bad-file", data, database_url)

    assert_rejected(result, expected_start, reason)
    assert export(database_url) == before


@pytest.mark.parametrize("encode", [json_lines, json_array], ids=["json-lines", "json-array"])
def test_import_rejects_bad_5000th_record(
    tmp_path: Path, seeded_catalog: tuple[str, bytes], encode: Callable[[list[Any]], bytes]
) -> None:
    database_url, before = seeded_catalog
    records = [make_record(f"img-{number:05d}") for number in range(1, 6001)]
    records[0] = make_record("img-seed1", name="changed")
    records[4999]["osType"] = "plan9"

    result = import_file(tmp_path / "large", encode(records), database_url)

    assert_rejected(result, "record 5000", "Invalid enum value 'plan9'")
    assert "field 'osType'" in result.stderr
    assert export(database_url) == before


# For each store, the statements that create and drop a trigger that rejects the row of
# img-04500, and the start of the error message that the driver reports for it.
REJECT_TRIGGERS = {
    "sqlite": (
        [
            "CREATE TRIGGER reject_one BEFORE INSERT ON images "
            "WHEN NEW.image_id = 'img-04500' "
            "BEGIN SELECT RAISE(ABORT, 'rejected by the test trigger'); END"
        ],
        ["DROP TRIGGER reject_one"],
        "IntegrityError: rejected by the test trigger",
    ),
    "postgresql": (
        [
            "CREATE FUNCTION reject_one() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'rejected by the test trigger'; END $$",
            "CREATE TRIGGER reject_one BEFORE INSERT ON images FOR EACH ROW "
            "WHEN (NEW.image_id = 'img-04500') EXECUTE FUNCTION reject_one()",
        ],
        ["DROP TRIGGER reject_one ON images", "DROP FUNCTION reject_one()"],
        "RaiseException: rejected by the test trigger",
    ),
}


def run_statements(database_url: str, statements: list[str]) -> None:
    engine = create_catalog_engine(database_url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def test_import_database_error_mid_way_changes_nothing(
    tmp_path: Path, store: str, seeded_catalog: tuple[str, bytes]
) -> None:
    database_url, before = seeded_catalog
    create_trigger, drop_trigger, message = REJECT_TRIGGERS[store]
    # The trigger fails the write of one image in the third batch, after two batches went in.
    run_statements(database_url, create_trigger)
    records = [make_record(f"img-{number:05d}") for number in range(1, 6001)]
    records.append(make_record("img-seed1", name="changed"))

    try:
        result = import_file(tmp_path / "large.jsonl", json_lines(records), database_url)
    finally:
        run_statements(database_url, drop_trigger)

    assert_rejected(result, message, "")
    assert "INSERT" not in result.stderr
    assert "img-00001" not in result.stderr
    assert export(database_url) == before


def write_generated_catalog(path: Path, count: int, public_count: int) -> None:
    """Write `count` records as JSON Lines: `public_count` public, the rest private."""
    regions = ("cn-north-1", "cn-east-1", "cn-east-2", "cn-south-1", "cn-hongkong-11")
    with path.open("w", encoding="utf-8") as output:
        for number in range(count):
            public = number < public_count
            record = make_record(
                f"img-{number:08d}",
                regionId=regions[number % len(regions)],
                name=f"generated image {number}",
                imageSource="public" if public else "private",
                ownerPin="admin" if public else f"owner-{number % 5000}",
                createTime=f"2024-{1 + number % 12:02d}-{1 + number % 28:02d} "
                f"{number % 24:02d}:{number % 60:02d}:{number % 59:02d}",
                sizeMB=number % 20000,
                desc="generated for the import timing test",
            )
            if not public and number % 10 == 0:
                record["sharedWith"] = [f"owner-{(number + 1) % 5000}", f"owner-{number % 7}"]
            output.write(json.dumps(record))
            output.write("\n")


def test_import_100000_records(tmp_path: Path, database_url: str) -> None:
    catalog = tmp_path / "large.jsonl"
    write_generated_catalog(catalog, count=100_000, public_count=300)

    started = time.perf_counter()
    result = run_cocvm("images", "import", str(catalog), "--database", database_url)
    seconds = time.perf_counter() - started

    print(f"\nimporting 100000 records with `python -m cocvm images import` took {seconds:.1f} s")
    assert result.returncode == 0, result.stderr.decode()
    engine = create_catalog_engine(database_url)
    try:
        assert count_images(engine) == 100_000
    finally:
        engine.dispose()
