import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from cocvm.images.default_catalog import default_catalog
from conftest import RunningServer, new_database_url, page_through, run_cocvm, start_server

IMAGES = "/v1/regions/cn-north-1/images"
CREATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
CHINESE_NAME = "CentOS 7.9 64位"

Image = dict[str, Any]

# JSON types of JD Cloud's Go SDK models. As in Go, a `bool` is not an `int` here.
COC_VM_FIELDS: dict[str, type] = {
    "imageId": str,
    "partnerImageId": str,
    "name": str,
    "platform": str,
    "architecture": str,
    "systemDiskSizeGB": int,
    "imageSource": str,
    "osType": str,
    "status": str,
    "createTime": str,
    "desc": str,
    "ownerPin": str,
    "snapshots": list,
    "sizeMB": int,
}
VM_FIELDS: dict[str, type] = {
    "imageId": str,
    "name": str,
    "platform": str,
    "osVersion": str,
    "architecture": str,
    "systemDiskSizeGB": int,
    "imageSource": str,
    "osType": str,
    "status": str,
    "createTime": str,
    "sizeMB": int,
    "desc": str,
    "ownerPin": str,
    "loginName": str,
    "launchPermission": str,
    "systemDisk": dict,
    "dataDisks": list,
    "snapshotId": str,
    "rootDeviceType": str,
    "progress": str,
    "offline": bool,
    "serviceCode": str,
    "imported": bool,
    "expiredTime": str,
    "instanceId": str,
    "bootMode": str,
    "chargeInfo": dict,
}
SNAPSHOT_FIELDS: dict[str, type] = {
    "diskSnapshotId": str,
    "diskSnapshotName": str,
    "diskSize": int,
    "diskCategory": str,
    "diskType": str,
}
DISK_FIELDS: dict[str, type] = {
    "diskCategory": str,
    "autoDelete": bool,
    "deviceName": str,
    "status": str,
    "localDisk": dict,
    "cloudDisk": dict,
}
LOCAL_DISK_FIELDS: dict[str, type] = {"diskType": str, "diskSizeGB": int}
CLOUD_DISK_FIELDS: dict[str, type] = {
    "diskId": str,
    "az": str,
    "name": str,
    "description": str,
    "diskType": str,
    "diskSizeGB": int,
    "iops": int,
    "throughput": int,
    "status": str,
    "snapshotId": str,
    "multiAttachable": bool,
    "encrypted": bool,
    "enabled": bool,
    "createTime": str,
}


def record(image_id: str, name: str, create_time: str, **fields: Any) -> Image:
    """Return an import record: a public x86_64 CentOS image in cn-north-1 unless fields differ."""
    return {
        "regionId": "cn-north-1",
        "imageId": image_id,
        "name": name,
        "platform": "CentOS",
        "architecture": "x86_64",
        "osType": "linux",
        "imageSource": "public",
        "ownerPin": "admin",
        "createTime": create_time,
        "sizeMB": 1024,
        "systemDisk": {
            "diskCategory": "cloud",
            "autoDelete": True,
            "deviceName": "vda",
            "cloudDisk": {"diskType": "ssd.gp1", "diskSizeGB": 40, "encrypted": False},
        },
        **fields,
    }


UBUNTU = {"platform": "Ubuntu"}
OTHER_LINUX = {"platform": "Other Linux"}

# A catalog small enough that every expected result is known. The public images listed in
# cn-north-1 are LISTED_PUBLIC_ORDER. Three groups share a createTime, and the records are not
# in listing order.
SMALL_CATALOG: list[Image] = [
    record("img-tiec", "Tie C", "2024-02-01 08:00:00", **UBUNTU),
    record("img-deleted", "Gone CentOS", "2024-05-01 00:00:00", status="deleted"),
    record("img-centos79arm", f"{CHINESE_NAME} ARM版", "2024-03-01 10:00:00", architecture="arm64"),
    record("img-tiea", "Tie A", "2024-02-01 08:00:00", **UBUNTU),
    record("img-centos79", CHINESE_NAME, "2024-03-01 10:00:00", osVersion="7.9"),
    record("img-tieb", "Tie B", "2024-02-01 08:00:00", **UBUNTU),
    record("img-pending", "New CentOS", "2024-04-01 00:00:00", status="pending", progress="45"),
    record(
        "img-debian12",
        "Debian 12.5 64位",
        "2024-01-10 12:00:00",
        distribution="Debian",
        **OTHER_LINUX,
    ),
    record(
        "img-win2022",
        "Windows Server 2022 数据中心版 64位中文版",
        "2023-12-01 00:00:00",
        platform="Windows Server",
        osType="windows",
        systemDisk={
            "diskCategory": "local",
            "autoDelete": True,
            "deviceName": "vda",
            "localDisk": {"diskType": "NVMe SSD", "diskSizeGB": 50},
        },
        rootDeviceType="localDisk",
        systemDiskSizeGB=50,
    ),
    record(
        "img-literal",
        "Alpha 100% Pure_Build*",
        "2023-11-01 00:00:00",
        distribution="Alpine",
        **OTHER_LINUX,
    ),
    # A createTime shared across the boundary of the first page of ten.
    record(
        "img-decoy",
        "Alpha 100X PureXBuild",
        "2023-10-01 00:00:00",
        distribution="Alpine",
        **OTHER_LINUX,
    ),
    record("img-deleting", "Old Ubuntu", "2023-10-01 00:00:00", status="deleting", **UBUNTU),
    record("img-error", "Broken CentOS", "2023-08-01 00:00:00", status="error"),
    record("img-offline", "CentOS 6.5 64位", "2015-01-01 00:00:00", offline=True),
    record("img-centosmin", f"{CHINESE_NAME} Minimal", "2023-07-01 00:00:00"),
    record(
        "img-market",
        "WordPress 6.4 (Ubuntu 22.04)",
        "2024-01-20 00:00:00",
        imageSource="thirdparty",
        ownerPin="partner1",
        loginName="partner1",
        partnerImageId="pi-wordpress",
        chargeInfo={"serviceCode": "market_wp", "formula": ["0.1"]},
        **UBUNTU,
    ),
    record(
        "img-marketold",
        "LAMP (CentOS 6.5)",
        "2016-01-01 00:00:00",
        imageSource="thirdparty",
        ownerPin="partner1",
        offline=True,
    ),
    record(
        "img-community",
        "Community CentOS tuned",
        "2023-06-01 00:00:00",
        imageSource="community",
        ownerPin="carol",
        snapshots=[
            {
                "diskSnapshotId": "snapshot-1",
                "diskSnapshotName": "system",
                "diskSize": 40,
                "diskCategory": "system_disk",
                "diskType": "ssd.gp1",
            }
        ],
    ),
    record(
        "img-alice1", "Alice CentOS", "2024-06-01 00:00:00", imageSource="private", ownerPin="alice"
    ),
    record(
        "img-alice2",
        "Alice shared",
        "2024-06-02 00:00:00",
        imageSource="private",
        ownerPin="alice",
        sharedWith=["bob"],
    ),
    {**record("img-east", CHINESE_NAME, "2024-03-01 10:00:00"), "regionId": "cn-east-2"},
]

LISTED_PUBLIC_ORDER = [
    "img-pending",
    "img-centos79",
    "img-centos79arm",
    "img-tiea",
    "img-tieb",
    "img-tiec",
    "img-debian12",
    "img-win2022",
    "img-literal",
    "img-decoy",
    "img-deleting",
    "img-error",
    "img-centosmin",
]


def default_offline_public_ids() -> list[str]:
    """Return the ids of the default catalog's offline public images in cn-north-1."""
    return [
        image["imageId"]
        for image in default_catalog(["cn-north-1"])
        if image["imageSource"] == "public" and image["offline"]
    ]


def write_catalog(folder: Path, records: list[Image]) -> Path:
    path = folder / "records.jsonl"
    lines = [json.dumps(item, ensure_ascii=False) for item in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_catalog(records: list[Image], folder: Path, database_url: str) -> None:
    result = run_cocvm(
        "images", "import", str(write_catalog(folder, records)), "--database", database_url
    )
    assert result.returncode == 0, result.stderr.decode()


@pytest.fixture(scope="module")
def small_catalog(
    store: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A folder for the server key and a database of the store under test with SMALL_CATALOG."""
    folder = tmp_path_factory.mktemp("small-catalog")
    database_url = new_database_url(request, store, folder)
    import_catalog(SMALL_CATALOG, folder, database_url)
    return folder, database_url


def start_anonymous_server(
    tmp_path_factory: pytest.TempPathFactory, catalog: tuple[Path, str], *arguments: str
) -> RunningServer:
    """Start a server over the small catalog that treats every caller as anonymous."""
    folder, database_url = catalog
    return start_server(
        tmp_path_factory.mktemp("small-server"),
        "--auth",
        "off",
        *arguments,
        database_url=database_url,
        # Every process on one database needs the same server key.
        env={"COCVM_SERVER_KEY_FILE": str(folder / "server.key")},
    )


@pytest.fixture(scope="module")
def small_coc_vm(
    tmp_path_factory: pytest.TempPathFactory, small_catalog: tuple[Path, str]
) -> Iterator[RunningServer]:
    server = start_anonymous_server(tmp_path_factory, small_catalog)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small_vm(
    tmp_path_factory: pytest.TempPathFactory, small_catalog: tuple[Path, str]
) -> Iterator[RunningServer]:
    server = start_anonymous_server(tmp_path_factory, small_catalog, "--profile", "vm")
    yield server
    server.stop()


PROFILES = pytest.mark.parametrize("profile", ["coc-vm", "vm"])


@pytest.fixture
def server(profile: str, coc_vm_server: RunningServer, vm_server: RunningServer) -> RunningServer:
    """The session's server over the default catalog, in the test's profile."""
    return coc_vm_server if profile == "coc-vm" else vm_server


@pytest.fixture
def small(profile: str, small_coc_vm: RunningServer, small_vm: RunningServer) -> RunningServer:
    """The module's server over SMALL_CATALOG, in the test's profile."""
    return small_coc_vm if profile == "coc-vm" else small_vm


def result_of(server: RunningServer, query: str, region_id: str = "cn-north-1") -> dict[str, Any]:
    reply = server.get(f"/v1/regions/{region_id}/images?{query}")
    assert reply.status == 200, reply.body
    result: dict[str, Any] = reply.json()["result"]
    return result


def images_of(server: RunningServer, query: str) -> list[Image]:
    images: list[Image] = result_of(server, query)["images"]
    return images


def image_ids(server: RunningServer, query: str) -> list[str]:
    return [image["imageId"] for image in images_of(server, query)]


def ids_query(ids: list[str]) -> str:
    return "&".join(f"ids.{number}={image_id}" for number, image_id in enumerate(ids, start=1))


def every_image(server: RunningServer, query: str, page_size: int = 100) -> list[Image]:
    pages = page_through(server, f"{IMAGES}?{query}", page_size)
    return [image for page in pages for image in page["images"]]


def sorted_as_listed(images: list[Image]) -> list[Image]:
    """Sort images newest first, then by imageId. createTime text sorts like the time it names."""
    by_id = sorted(images, key=lambda image: image["imageId"])
    return sorted(by_id, key=lambda image: image["createTime"], reverse=True)


def type_faults(value: dict[str, Any], fields: dict[str, type], where: str) -> list[str]:
    """List the fields of `value` whose JSON type differs from `fields`."""
    return [
        f"{where}.{name}: {type(value[name]).__name__}"
        for name, expected in fields.items()
        if name in value and type(value[name]) is not expected
    ]


def disk_type_faults(disk: dict[str, Any], where: str) -> list[str]:
    faults = type_faults(disk, DISK_FIELDS, where)
    if isinstance(disk.get("localDisk"), dict):
        faults += type_faults(disk["localDisk"], LOCAL_DISK_FIELDS, f"{where}.localDisk")
    if isinstance(disk.get("cloudDisk"), dict):
        faults += type_faults(disk["cloudDisk"], CLOUD_DISK_FIELDS, f"{where}.cloudDisk")
    return faults


def image_type_faults(image: Image, profile: str) -> list[str]:
    """List every field of a rendered image, nested ones included, whose JSON type is wrong."""
    where = image["imageId"]
    faults = type_faults(image, COC_VM_FIELDS if profile == "coc-vm" else VM_FIELDS, where)
    for snapshot in image.get("snapshots", []):
        faults += type_faults(snapshot, SNAPSHOT_FIELDS, f"{where}.snapshots")
    if isinstance(image.get("systemDisk"), dict):
        faults += disk_type_faults(image["systemDisk"], f"{where}.systemDisk")
    for disk in image.get("dataDisks", []):
        faults += disk_type_faults(disk, f"{where}.dataDisks")
    charge_info = image.get("chargeInfo")
    if isinstance(charge_info, dict):
        faults += type_faults(charge_info, {"serviceCode": str, "formula": list}, where)
        faults += [
            f"{where}.chargeInfo.formula: {type(item).__name__}"
            for item in charge_info.get("formula", [])
            if type(item) is not str
        ]
    return faults


# Order


@PROFILES
def test_describe_public_listing_sorted(server: RunningServer) -> None:
    images = every_image(server, "imageSource=public")

    assert len(images) > 100
    assert [image["imageId"] for image in images] == [
        image["imageId"] for image in sorted_as_listed(images)
    ]


@PROFILES
def test_describe_equal_create_times_by_image_id(small: RunningServer) -> None:
    assert image_ids(small, "imageSource=public&pageSize=100") == LISTED_PUBLIC_ORDER


@PROFILES
def test_describe_ids_listed_in_catalog_order(small: RunningServer) -> None:
    query = ids_query(["img-tiec", "img-centos79", "img-tiea", "img-pending"])

    assert image_ids(small, query) == ["img-pending", "img-centos79", "img-tiea", "img-tiec"]


# Paging


@PROFILES
@pytest.mark.parametrize("source", ["public", "thirdparty", "community"])
def test_describe_paging_each_image_once(server: RunningServer, source: str) -> None:
    total = result_of(server, f"imageSource={source}")["totalCount"]

    for page_size in (10, 100):
        pages = page_through(server, f"{IMAGES}?imageSource={source}", page_size)
        images = [image for page in pages for image in page["images"]]
        ids = [image["imageId"] for image in images]

        assert {page["totalCount"] for page in pages} == {total}, page_size
        assert len(ids) == total, page_size
        assert len(set(ids)) == len(ids), page_size
        assert images == sorted_as_listed(images), page_size


@PROFILES
def test_describe_paging_across_equal_create_times(small: RunningServer) -> None:
    pages = page_through(small, f"{IMAGES}?imageSource=public", 10)

    assert [len(page["images"]) for page in pages] == [10, 3]
    assert [page["totalCount"] for page in pages] == [13, 13]
    assert [image["imageId"] for page in pages for image in page["images"]] == LISTED_PUBLIC_ORDER


@PROFILES
def test_describe_default_page_size(server: RunningServer) -> None:
    result = result_of(server, "imageSource=public")

    assert len(result["images"]) == 20
    assert [image["imageId"] for image in result["images"]] == image_ids(
        server, "imageSource=public&pageSize=20&pageNumber=1"
    )


@PROFILES
def test_describe_second_page_continues_first(server: RunningServer) -> None:
    first = image_ids(server, "imageSource=public&pageSize=15&pageNumber=1")
    second = image_ids(server, "imageSource=public&pageSize=15&pageNumber=2")
    both = image_ids(server, "imageSource=public&pageSize=30&pageNumber=1")

    assert first + second == both


@PROFILES
@pytest.mark.parametrize("page_number", ["3", "1000", "2147483647"])
def test_describe_page_past_end(small: RunningServer, page_number: str) -> None:
    result = result_of(small, f"imageSource=public&pageSize=10&pageNumber={page_number}")

    assert result == {"images": [], "totalCount": 13}


@PROFILES
def test_describe_page_past_end_default_catalog(server: RunningServer) -> None:
    total = result_of(server, "imageSource=public")["totalCount"]

    result = result_of(server, "imageSource=public&pageSize=100&pageNumber=100")

    assert result == {"images": [], "totalCount": total}


# Conditions combine with AND


@PROFILES
def test_describe_ids_and_platform(small: RunningServer) -> None:
    ids = ["img-centos79", "img-debian12", "img-win2022", "img-tiea", "img-error"]

    result = result_of(small, f"{ids_query(ids)}&platform=CentOS")

    assert [image["imageId"] for image in result["images"]] == ["img-centos79", "img-error"]
    assert result["totalCount"] == 2


@PROFILES
def test_describe_ids_and_every_filter(small: RunningServer) -> None:
    ids = ["img-centos79", "img-centos79arm", "img-centosmin", "img-tiea"]
    name = quote(f"{CHINESE_NAME} ARM版")
    query = f"{ids_query(ids)}&imageSource=public&platform=centos&architecture=arm64"

    assert image_ids(small, query) == ["img-centos79arm"]
    assert image_ids(small, f"{query}&imageName={name}") == ["img-centos79arm"]
    assert image_ids(small, f"{query}&imageName=Tie") == []


@PROFILES
def test_describe_ids_and_source(small: RunningServer) -> None:
    ids = ["img-centos79", "img-market", "img-community"]

    assert image_ids(small, f"{ids_query(ids)}&imageSource=thirdparty") == ["img-market"]
    assert image_ids(small, f"{ids_query(ids)}&imageSource=community") == ["img-community"]


@PROFILES
def test_describe_platform_and_architecture(server: RunningServer) -> None:
    images = every_image(server, "imageSource=public&platform=Ubuntu&architecture=arm64")

    assert images != []
    assert {image["platform"] for image in images} == {"Ubuntu"}
    assert {image["architecture"] for image in images} == {"arm64"}


# ids


@PROFILES
def test_describe_ids_deduplicated(small: RunningServer) -> None:
    result = result_of(small, ids_query(["img-tiea", "img-tieb", "img-tiea", "img-tiea"]))

    assert [image["imageId"] for image in result["images"]] == ["img-tiea", "img-tieb"]
    assert result["totalCount"] == 2


@PROFILES
def test_describe_unknown_ids_left_out(small: RunningServer) -> None:
    result = result_of(small, ids_query(["img-nosuch", "img-tiea", "img-zzz"]))

    assert [image["imageId"] for image in result["images"]] == ["img-tiea"]
    assert result["totalCount"] == 1


@PROFILES
def test_describe_only_unknown_ids(small: RunningServer) -> None:
    assert result_of(small, ids_query(["img-nosuch"])) == {"images": [], "totalCount": 0}


@PROFILES
def test_describe_ids_paged(small: RunningServer) -> None:
    ids = LISTED_PUBLIC_ORDER[::-1]

    result = result_of(small, f"{ids_query(ids)}&pageSize=10&pageNumber=2")

    assert [image["imageId"] for image in result["images"]] == LISTED_PUBLIC_ORDER[10:]
    assert result["totalCount"] == 13


@PROFILES
def test_describe_ids_of_offline_images(small: RunningServer) -> None:
    ids = ["img-offline", "img-marketold"]

    assert image_ids(small, ids_query(ids)) == ["img-marketold", "img-offline"]
    assert image_ids(small, f"{ids_query(ids)}&imageSource=public") == ["img-offline"]
    assert image_ids(small, f"{ids_query(ids)}&imageSource=thirdparty") == ["img-marketold"]


def test_describe_ids_of_offline_images_vm_offline_false(small_vm: RunningServer) -> None:
    query = f"{ids_query(['img-offline', 'img-tiea'])}&imageSource=public&offline=false"

    assert image_ids(small_vm, query) == ["img-tiea", "img-offline"]


@PROFILES
def test_describe_ids_of_default_offline_images(server: RunningServer) -> None:
    offline_ids = default_offline_public_ids()

    result = result_of(server, ids_query(offline_ids))

    assert len(offline_ids) == 7
    assert sorted(image["imageId"] for image in result["images"]) == sorted(offline_ids)


@PROFILES
def test_describe_ids_of_thirdparty_and_community(small: RunningServer) -> None:
    result = result_of(small, ids_query(["img-community", "img-market"]))

    assert [image["imageId"] for image in result["images"]] == ["img-market", "img-community"]
    assert [image["imageSource"] for image in result["images"]] == ["thirdparty", "community"]


@PROFILES
def test_describe_ids_of_default_thirdparty_and_community(server: RunningServer) -> None:
    thirdparty = image_ids(server, "imageSource=thirdparty&pageSize=10")[:2]
    community = image_ids(server, "imageSource=community&pageSize=10")[:2]

    result = result_of(server, ids_query(thirdparty + community))

    assert len(thirdparty + community) == 4
    assert sorted(image["imageId"] for image in result["images"]) == sorted(thirdparty + community)


@PROFILES
def test_describe_ids_other_region_left_out(small: RunningServer) -> None:
    result = result_of(small, ids_query(["img-east", "img-tiea"]))

    assert [image["imageId"] for image in result["images"]] == ["img-tiea"]


# Visibility and status


@PROFILES
def test_describe_offline_left_out_of_listings(small: RunningServer) -> None:
    public = image_ids(small, "imageSource=public&pageSize=100")
    thirdparty = image_ids(small, "imageSource=thirdparty&pageSize=100")

    assert "img-offline" not in public
    assert thirdparty == ["img-market"]


@PROFILES
def test_describe_default_offline_left_out(server: RunningServer) -> None:
    images = every_image(server, "imageSource=public") + every_image(
        server, "imageSource=thirdparty"
    )
    offline_ids = set(default_offline_public_ids())

    assert [image["imageId"] for image in images if image["imageId"] in offline_ids] == []


@pytest.mark.parametrize("spelling", ["true", "True", "TRUE"])
def test_describe_vm_offline_true(small_vm: RunningServer, spelling: str) -> None:
    public = result_of(small_vm, f"imageSource=public&offline={spelling}")
    thirdparty = result_of(small_vm, f"imageSource=thirdparty&offline={spelling}")

    assert [image["imageId"] for image in public["images"]] == ["img-offline"]
    assert [image["offline"] for image in public["images"]] == [True]
    assert public["totalCount"] == 1
    assert [image["imageId"] for image in thirdparty["images"]] == ["img-marketold"]


@pytest.mark.parametrize("spelling", ["false", "False", "FALSE"])
def test_describe_vm_offline_false(small_vm: RunningServer, spelling: str) -> None:
    ids = image_ids(small_vm, f"imageSource=public&offline={spelling}&pageSize=100")

    assert ids == LISTED_PUBLIC_ORDER


def test_describe_vm_offline_true_default_catalog(vm_server: RunningServer) -> None:
    images = every_image(vm_server, "imageSource=public&offline=true")

    assert sorted(image["imageId"] for image in images) == sorted(default_offline_public_ids())
    assert {image["offline"] for image in images} == {True}


def test_describe_vm_offline_true_community_listed(small_vm: RunningServer) -> None:
    assert image_ids(small_vm, "imageSource=community&offline=true") == ["img-community"]


def test_describe_coc_vm_offline_ignored(small_coc_vm: RunningServer) -> None:
    ids = image_ids(small_coc_vm, "imageSource=public&offline=true&pageSize=100")

    assert ids == LISTED_PUBLIC_ORDER


@PROFILES
def test_describe_deleting_and_error_listed(small: RunningServer) -> None:
    statuses = {
        image["imageId"]: image["status"]
        for image in images_of(small, "imageSource=public&pageSize=100")
    }

    assert statuses["img-deleting"] == "deleting"
    assert statuses["img-error"] == "error"
    assert statuses["img-pending"] == "pending"


@PROFILES
def test_describe_deleted_never_listed(small: RunningServer) -> None:
    listed = image_ids(small, "imageSource=public&pageSize=100")

    assert "img-deleted" not in listed
    assert result_of(small, ids_query(["img-deleted"])) == {"images": [], "totalCount": 0}
    assert image_ids(small, f"{ids_query(['img-deleted'])}&imageSource=public") == []


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("deleting", ["img-deleting"]),
        ("ERROR", ["img-error"]),
        ("pending", ["img-pending"]),
    ],
)
def test_describe_vm_status_filter(
    small_vm: RunningServer, status: str, expected: list[str]
) -> None:
    assert image_ids(small_vm, f"imageSource=public&status={status}") == expected


def test_describe_coc_vm_status_ignored(small_coc_vm: RunningServer) -> None:
    ids = image_ids(small_coc_vm, "imageSource=public&status=deleting&pageSize=100")

    assert ids == LISTED_PUBLIC_ORDER


@PROFILES
def test_describe_private_anonymous_empty(small: RunningServer) -> None:
    assert result_of(small, "imageSource=private") == {"images": [], "totalCount": 0}


@PROFILES
def test_describe_private_ids_anonymous_empty(small: RunningServer) -> None:
    query = ids_query(["img-alice1", "img-alice2", "img-tiea"])

    result = result_of(small, query)

    assert [image["imageId"] for image in result["images"]] == ["img-tiea"]
    assert result["totalCount"] == 1
    assert image_ids(small, f"{query}&imageSource=private") == []


def test_describe_shared_anonymous_empty(small_vm: RunningServer) -> None:
    assert result_of(small_vm, "imageSource=shared") == {"images": [], "totalCount": 0}


@PROFILES
def test_describe_private_default_catalog_empty(server: RunningServer) -> None:
    assert result_of(server, "imageSource=private") == {"images": [], "totalCount": 0}


@PROFILES
def test_describe_listings_keep_sources_apart(small: RunningServer) -> None:
    for source in ("public", "thirdparty", "community"):
        images = images_of(small, f"imageSource={source}&pageSize=100")

        assert {image["imageSource"] for image in images} == {source}


@PROFILES
def test_describe_region_scoped(small: RunningServer) -> None:
    assert image_ids(small, "imageSource=public&pageSize=100") == LISTED_PUBLIC_ORDER
    assert [
        image["imageId"] for image in result_of(small, "imageSource=public", "cn-east-2")["images"]
    ] == ["img-east"]
    assert result_of(small, "imageSource=public", "cn-south-1") == {"images": [], "totalCount": 0}


# platform


@PROFILES
@pytest.mark.parametrize("spelling", ["CentOS", "centos", "CENTOS", "cEnToS"])
def test_describe_platform_case_insensitive(small: RunningServer, spelling: str) -> None:
    result = result_of(small, f"imageSource=public&platform={spelling}&pageSize=100")

    assert [image["imageId"] for image in result["images"]] == [
        "img-pending",
        "img-centos79",
        "img-centos79arm",
        "img-error",
        "img-centosmin",
    ]
    assert result["totalCount"] == 5


@PROFILES
@pytest.mark.parametrize("spelling", ["debian", "Debian", "DEBIAN"])
def test_describe_platform_matches_distribution(small: RunningServer, spelling: str) -> None:
    images = images_of(small, f"imageSource=public&platform={spelling}")

    assert [image["imageId"] for image in images] == ["img-debian12"]
    assert [image["platform"] for image in images] == ["Other Linux"]


@PROFILES
@pytest.mark.parametrize("spelling", ["Debian", "debian"])
def test_describe_platform_debian_default_catalog(server: RunningServer, spelling: str) -> None:
    images = every_image(server, f"imageSource=public&platform={spelling}")

    assert images != []
    assert {image["platform"] for image in images} == {"Other Linux"}
    assert all(image["name"].startswith("Debian ") for image in images)


@PROFILES
@pytest.mark.parametrize("encoded", ["Windows+Server", "Windows%20Server", "windows%20server"])
def test_describe_platform_with_space(server: RunningServer, encoded: str) -> None:
    images = every_image(server, f"imageSource=public&platform={encoded}")

    assert images != []
    assert {image["platform"] for image in images} == {"Windows Server"}
    assert {image["osType"] for image in images} == {"windows"}


@PROFILES
@pytest.mark.parametrize("platform", ["Plan9", "Cent", "CentOS%20", "Linux"])
def test_describe_platform_unknown_matches_nothing(server: RunningServer, platform: str) -> None:
    result = result_of(server, f"imageSource=public&platform={platform}")

    assert result == {"images": [], "totalCount": 0}


# imageName


def test_describe_coc_vm_name_exact(small_coc_vm: RunningServer) -> None:
    assert image_ids(small_coc_vm, f"imageSource=public&imageName={quote(CHINESE_NAME)}") == [
        "img-centos79"
    ]


@pytest.mark.parametrize(
    "name", ["centos 7.9 64位", "CentOS 7.9", "CentOS", "7.9 64位", f"{CHINESE_NAME} "]
)
def test_describe_coc_vm_name_not_fuzzy(small_coc_vm: RunningServer, name: str) -> None:
    result = result_of(small_coc_vm, f"imageSource=public&imageName={quote(name)}")

    assert result == {"images": [], "totalCount": 0}


def test_describe_coc_vm_name_special_characters(small_coc_vm: RunningServer) -> None:
    exact = quote("Alpha 100% Pure_Build*", safe="")

    assert image_ids(small_coc_vm, f"imageSource=public&imageName={exact}") == ["img-literal"]
    assert image_ids(small_coc_vm, "imageSource=public&imageName=Alpha%25") == []


@pytest.mark.parametrize("name", ["centos 7.9", "CENTOS 7.9 64位", "7.9 64", "s 7"])
def test_describe_vm_name_substring(small_vm: RunningServer, name: str) -> None:
    result = result_of(small_vm, f"imageSource=public&imageName={quote(name)}")

    assert [image["imageId"] for image in result["images"]] == [
        "img-centos79",
        "img-centos79arm",
        "img-centosmin",
    ]
    assert result["totalCount"] == 3


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("100%", ["img-literal"]),
        ("%", ["img-literal"]),
        ("e_B", ["img-literal"]),
        ("_", ["img-literal"]),
        ("Build*", ["img-literal"]),
        ("*", ["img-literal"]),
        ("100_", []),
        ("Alpha%Build", []),
        ("Alpha*", []),
        ("alpha", ["img-literal", "img-decoy"]),
    ],
)
def test_describe_vm_name_wildcards_literal(
    small_vm: RunningServer, name: str, expected: list[str]
) -> None:
    query = f"imageSource=public&imageName={quote(name, safe='')}"

    assert image_ids(small_vm, query) == expected


def test_describe_vm_name_chinese_substring(small_vm: RunningServer) -> None:
    query = f"imageSource=public&imageName={quote('数据中心版')}"

    assert image_ids(small_vm, query) == ["img-win2022"]


@PROFILES
def test_describe_name_percent_encoded(small: RunningServer) -> None:
    query = "imageSource=public&imageName=CentOS%207.9%2064%E4%BD%8D"

    assert "img-centos79" in image_ids(small, query)


@PROFILES
def test_describe_name_plus_as_space(small: RunningServer) -> None:
    query = "imageSource=public&imageName=CentOS+7.9+64%E4%BD%8D"

    assert "img-centos79" in image_ids(small, query)


@PROFILES
def test_describe_name_encodings_agree(small: RunningServer) -> None:
    percent = image_ids(small, "imageSource=public&imageName=CentOS%207.9%2064%E4%BD%8D")
    plus = image_ids(small, "imageSource=public&imageName=CentOS+7.9+64%E4%BD%8D")
    lower = image_ids(small, "imageSource=public&imageName=CentOS%207.9%2064%e4%bd%8d")

    assert percent == plus
    assert percent == lower


@PROFILES
@pytest.mark.parametrize("name", ["CentOS%207.9%2064位", "CentOS+7.9+64位"])
def test_describe_name_raw_utf8(small: RunningServer, name: str) -> None:
    reply = small.get(f"{IMAGES}?imageSource=public&imageName={name}")

    assert reply.status == 200
    assert "img-centos79" in [image["imageId"] for image in reply.json()["result"]["images"]]


@PROFILES
def test_describe_name_invalid_utf8_matches_nothing(small: RunningServer) -> None:
    result = result_of(small, "imageSource=public&imageName=CentOS%207.9%2064%E4%BD")

    assert result == {"images": [], "totalCount": 0}


# architecture


@PROFILES
@pytest.mark.parametrize("spelling", ["arm64", "ARM64", "Arm64"])
def test_describe_architecture_case_insensitive(small: RunningServer, spelling: str) -> None:
    images = images_of(small, f"imageSource=public&architecture={spelling}")

    assert [image["imageId"] for image in images] == ["img-centos79arm"]
    assert [image["architecture"] for image in images] == ["arm64"]


@PROFILES
@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_describe_architecture_default_catalog(server: RunningServer, architecture: str) -> None:
    images = every_image(server, f"imageSource=public&architecture={architecture.upper()}")

    assert images != []
    assert {image["architecture"] for image in images} == {architecture}


# Unknown parameters


@PROFILES
def test_describe_unknown_parameters_ignored(small: RunningServer) -> None:
    plain = result_of(small, "imageSource=public&pageSize=100")

    noisy = result_of(
        small,
        "foo=bar&imageSource=public&Platform=Ubuntu&IMAGESOURCE=private&filters.1.name=id"
        "&filters.1.values.1=img-tiea&tags.1=x&flag&=empty&pageSize=100&callback=f",
    )

    assert noisy == plain


@PROFILES
def test_describe_repeated_parameter_first_wins(small: RunningServer) -> None:
    assert image_ids(small, "imageSource=public&platform=debian&platform=centos") == [
        "img-debian12"
    ]


# Rendered fields


@PROFILES
def test_describe_field_types_default_catalog(server: RunningServer, profile: str) -> None:
    images = [
        image
        for source in ("public", "thirdparty", "community")
        for image in every_image(server, f"imageSource={source}")
    ]
    faults = [fault for image in images for fault in image_type_faults(image, profile)]

    assert len(images) > 100
    assert faults == []


@PROFILES
def test_describe_field_types_small_catalog(small: RunningServer, profile: str) -> None:
    images = [
        image
        for source in ("public", "thirdparty", "community")
        for image in every_image(small, f"imageSource={source}")
    ]
    faults = [fault for image in images for fault in image_type_faults(image, profile)]

    assert len(images) == 15
    assert faults == []


@PROFILES
def test_describe_field_set(server: RunningServer, profile: str) -> None:
    expected = set(COC_VM_FIELDS if profile == "coc-vm" else VM_FIELDS)

    for image in images_of(server, "imageSource=thirdparty&pageSize=100"):
        assert set(image) == expected, image["imageId"]
    for image in images_of(server, "imageSource=public&pageSize=100"):
        assert set(image) == expected, image["imageId"]


def test_describe_profiles_share_core_fields(
    coc_vm_server: RunningServer, vm_server: RunningServer
) -> None:
    coc_vm = images_of(coc_vm_server, "imageSource=public&pageSize=50")
    vm = images_of(vm_server, "imageSource=public&pageSize=50")
    shared = set(COC_VM_FIELDS) & set(VM_FIELDS)

    assert [image["imageId"] for image in coc_vm] == [image["imageId"] for image in vm]
    for coc_vm_image, vm_image in zip(coc_vm, vm, strict=True):
        assert {name: coc_vm_image[name] for name in shared} == {
            name: vm_image[name] for name in shared
        }


def test_describe_coc_vm_fields_of_page(small_coc_vm: RunningServer) -> None:
    (image,) = images_of(small_coc_vm, ids_query(["img-market"]))

    assert image == {
        "imageId": "img-market",
        "partnerImageId": "pi-wordpress",
        "name": "WordPress 6.4 (Ubuntu 22.04)",
        "platform": "Ubuntu",
        "architecture": "x86_64",
        "systemDiskSizeGB": 40,
        "imageSource": "thirdparty",
        "osType": "linux",
        "status": "ready",
        "createTime": "2024-01-20 00:00:00",
        "desc": "",
        "ownerPin": "partner1",
        "snapshots": [],
        "sizeMB": 1024,
    }


def test_describe_coc_vm_snapshots(small_coc_vm: RunningServer) -> None:
    (image,) = images_of(small_coc_vm, ids_query(["img-community"]))

    assert image["snapshots"] == [
        {
            "diskSnapshotId": "snapshot-1",
            "diskSnapshotName": "system",
            "diskSize": 40,
            "diskCategory": "system_disk",
            "diskType": "ssd.gp1",
        }
    ]


def test_describe_vm_fields(small_vm: RunningServer) -> None:
    (image,) = images_of(small_vm, ids_query(["img-pending"]))

    assert image["progress"] == "45"
    assert image["offline"] is False
    assert image["imported"] is False
    assert image["launchPermission"] == "all"
    assert image["status"] == "pending"
    assert image["systemDiskSizeGB"] == 40
    assert image["chargeInfo"] == {"serviceCode": "", "formula": []}


def test_describe_vm_thirdparty_fields(small_vm: RunningServer) -> None:
    (image,) = images_of(small_vm, ids_query(["img-market"]))

    assert image["chargeInfo"] == {"serviceCode": "market_wp", "formula": ["0.1"]}
    assert image["loginName"] == "partner1"
    assert image["launchPermission"] == "all"


def test_describe_vm_local_system_disk(small_vm: RunningServer) -> None:
    (image,) = images_of(small_vm, ids_query(["img-win2022"]))

    assert image["rootDeviceType"] == "localDisk"
    assert image["systemDisk"]["localDisk"] == {"diskType": "NVMe SSD", "diskSizeGB": 50}
    assert image["systemDiskSizeGB"] == 50


def test_describe_vm_offline_field(small_vm: RunningServer) -> None:
    images = images_of(small_vm, ids_query(["img-offline", "img-tiea"]))

    assert [(image["imageId"], image["offline"]) for image in images] == [
        ("img-tiea", False),
        ("img-offline", True),
    ]


@PROFILES
def test_describe_create_time_format(server: RunningServer) -> None:
    images = every_image(server, "imageSource=public")

    for image in images:
        assert CREATE_TIME.fullmatch(image["createTime"]), image["imageId"]
        datetime.strptime(image["createTime"], "%Y-%m-%d %H:%M:%S")


@PROFILES
def test_describe_create_time_as_imported(small: RunningServer) -> None:
    imported = {item["imageId"]: item["createTime"] for item in SMALL_CATALOG}

    for image in images_of(small, "imageSource=public&pageSize=100"):
        assert image["createTime"] == imported[image["imageId"]], image["imageId"]


@PROFILES
def test_describe_chinese_name_rendered(small: RunningServer) -> None:
    reply = small.get(f"{IMAGES}?{ids_query(['img-centos79'])}")

    assert reply.json()["result"]["images"][0]["name"] == CHINESE_NAME


# A catalog changed while the server runs


def test_describe_image_deleted_while_serving(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    import_catalog(SMALL_CATALOG, tmp_path, database_url)
    server = server_factory(database_url=database_url)
    before = result_of(server, "imageSource=public&pageSize=100")
    deleted = [
        {**item, "status": "deleted"} for item in SMALL_CATALOG if item["imageId"] == "img-tiea"
    ]

    import_catalog(deleted, tmp_path, database_url)

    after = result_of(server, "imageSource=public&pageSize=100")
    assert "img-tiea" in [image["imageId"] for image in before["images"]]
    assert "img-tiea" not in [image["imageId"] for image in after["images"]]
    assert after["totalCount"] == before["totalCount"] - 1
    assert result_of(server, ids_query(["img-tiea"])) == {"images": [], "totalCount": 0}
