import json
import re
from collections import Counter
from datetime import datetime
from typing import Any

import msgspec
import pytest

from cocvm.images.default_catalog import DEFAULT_REGIONS, default_catalog
from cocvm.images.record import ImageRecord

Image = dict[str, Any]

FIELD_TYPES: dict[str, type] = {
    "regionId": str,
    "imageId": str,
    "name": str,
    "platform": str,
    "distribution": str,
    "osVersion": str,
    "architecture": str,
    "osType": str,
    "systemDiskSizeGB": int,
    "sizeMB": int,
    "imageSource": str,
    "status": str,
    "createTime": str,
    "desc": str,
    "ownerPin": str,
    "partnerImageId": str,
    "snapshots": list,
    "offline": bool,
    "loginName": str,
    "rootDeviceType": str,
    "bootMode": str,
    "progress": str,
    "imported": bool,
    "expiredTime": str,
    "instanceId": str,
    "serviceCode": str,
    "snapshotId": str,
    "systemDisk": dict,
    "dataDisks": list,
    "chargeInfo": dict,
    "sharedWith": list,
}

IMAGE_ID = re.compile(r"^img-[0-9a-z]{10}$")
CREATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def catalog() -> list[Image]:
    return default_catalog()


def images_in(catalog: list[Image], region_id: str) -> list[Image]:
    return [image for image in catalog if image["regionId"] == region_id]


def image_named(catalog: list[Image], name: str, region_id: str = "cn-north-1") -> Image:
    matches = [image for image in images_in(catalog, region_id) if image["name"] == name]
    assert len(matches) == 1, f"{len(matches)} images named {name!r} in {region_id}"
    return matches[0]


def test_default_catalog_deterministic() -> None:
    assert default_catalog() == default_catalog()


def test_default_catalog_json_round_trip(catalog: list[Image]) -> None:
    assert json.loads(json.dumps(catalog, ensure_ascii=False)) == catalog


def test_default_catalog_valid_import_records(catalog: list[Image]) -> None:
    rejected = []
    for image in catalog:
        try:
            msgspec.convert(image, ImageRecord)
        except msgspec.ValidationError as error:
            rejected.append(f"{image['name']}: {error}")

    assert rejected == []


def test_default_catalog_returns_fresh_records() -> None:
    first = default_catalog(["cn-north-1"])
    first[0]["snapshots"].append("changed")
    first[0]["systemDisk"]["deviceName"] = "changed"

    second = default_catalog(["cn-north-1"])

    assert second[0]["snapshots"] == []
    assert second[0]["systemDisk"]["deviceName"] == "vda"


def test_default_catalog_default_regions(catalog: list[Image]) -> None:
    assert {image["regionId"] for image in catalog} == set(DEFAULT_REGIONS)


def test_default_catalog_given_regions_only() -> None:
    images = default_catalog(["cn-east-2"])

    assert {image["regionId"] for image in images} == {"cn-east-2"}


def test_default_catalog_no_regions() -> None:
    assert default_catalog([]) == []


def test_default_catalog_id_independent_of_other_regions(catalog: list[Image]) -> None:
    alone = default_catalog(["cn-south-1"])

    assert alone == images_in(catalog, "cn-south-1")


def test_default_catalog_image_id_format(catalog: list[Image]) -> None:
    malformed = [image["imageId"] for image in catalog if not IMAGE_ID.match(image["imageId"])]

    assert malformed == []


def test_default_catalog_image_ids_unique(catalog: list[Image]) -> None:
    counts = Counter(image["imageId"] for image in catalog)

    assert [image_id for image_id, count in counts.items() if count > 1] == []


def test_default_catalog_names_unique_per_region(catalog: list[Image]) -> None:
    for region_id in DEFAULT_REGIONS:
        counts = Counter(image["name"] for image in images_in(catalog, region_id))

        assert [name for name, count in counts.items() if count > 1] == [], region_id


def test_default_catalog_same_images_each_region(catalog: list[Image]) -> None:
    def without_region(image: Image) -> Image:
        return {k: v for k, v in image.items() if k not in ("regionId", "imageId")}

    reference = [without_region(image) for image in images_in(catalog, DEFAULT_REGIONS[0])]

    for region_id in DEFAULT_REGIONS[1:]:
        images = [without_region(image) for image in images_in(catalog, region_id)]

        assert images == reference, region_id


def test_default_catalog_listed_public_images_fill_two_pages(catalog: list[Image]) -> None:
    for region_id in DEFAULT_REGIONS:
        listed_public = [
            image
            for image in images_in(catalog, region_id)
            if image["imageSource"] == "public" and not image["offline"]
        ]

        assert len(listed_public) > 100, region_id


@pytest.mark.parametrize("key", sorted(FIELD_TYPES))
def test_default_catalog_field_type(catalog: list[Image], key: str) -> None:
    wrong = [image["name"] for image in catalog if type(image.get(key)) is not FIELD_TYPES[key]]

    assert wrong == []


def test_default_catalog_keys_exact(catalog: list[Image]) -> None:
    for image in catalog:
        assert set(image) == set(FIELD_TYPES), image["name"]


def test_default_catalog_fixed_values(catalog: list[Image]) -> None:
    for image in catalog:
        assert image["status"] == "ready", image["name"]
        assert image["progress"] == "100", image["name"]
        assert image["imported"] is False, image["name"]
        assert image["snapshots"] == [], image["name"]
        assert image["dataDisks"] == [], image["name"]
        assert image["sharedWith"] == [], image["name"]


@pytest.mark.parametrize(
    "name",
    [
        "CentOS 6.5 64位",
        "CentOS 6.10 64位",
        "CentOS 7.2 64位",
        "CentOS 7.9 64位",
        "CentOS 8.0 64位",
        "CentOS 8.5 64位",
        "CentOS Stream 8 64位",
        "CentOS Stream 9 64位",
        "Rocky Linux 8.10 64位",
        "Rocky Linux 9.4 64位",
        "openEuler 20.03 LTS SP3 64位",
        "openEuler 22.03 LTS SP3 64位",
        "openEuler 24.03 LTS 64位",
        "Ubuntu 16.04 64位",
        "Ubuntu 18.04 64位",
        "Ubuntu 20.04 64位",
        "Ubuntu 22.04 64位",
        "Ubuntu 24.04 64位",
        "Ubuntu 22.04 64位 ARM版",
        "Debian 9.13 64位",
        "Debian 10.13 64位",
        "Debian 11.9 64位",
        "Debian 12.5 64位",
        "Fedora 40 64位",
        "openSUSE Leap 15.5 64位",
        "Windows Server 2012 R2 数据中心版 64位中文版",
        "Windows Server 2012 R2 数据中心版 64位英文版",
        "Windows Server 2016 数据中心版 64位中文版",
        "Windows Server 2016 数据中心版 64位英文版",
        "Windows Server 2019 数据中心版 64位中文版",
        "Windows Server 2019 数据中心版 64位英文版",
        "Windows Server 2022 数据中心版 64位中文版",
        "Windows Server 2022 数据中心版 64位英文版",
    ],
)
def test_default_catalog_public_image_present(catalog: list[Image], name: str) -> None:
    image = image_named(catalog, name)

    assert image["imageSource"] == "public"


@pytest.mark.parametrize(
    ("name", "platform", "distribution", "os_type"),
    [
        ("CentOS 7.9 64位", "CentOS", "CentOS", "linux"),
        ("CentOS Stream 9 64位", "CentOS", "CentOS", "linux"),
        ("Rocky Linux 9.4 64位", "Other Linux", "Rocky Linux", "linux"),
        ("openEuler 22.03 LTS 64位", "Other Linux", "OpenEuler", "linux"),
        ("Ubuntu 22.04 64位", "Ubuntu", "Ubuntu", "linux"),
        ("Debian 12.5 64位", "Other Linux", "Debian", "linux"),
        ("Fedora 40 64位", "Other Linux", "Fedora", "linux"),
        ("openSUSE Leap 15.5 64位", "Other Linux", "OpenSUSE", "linux"),
        (
            "Windows Server 2019 数据中心版 64位英文版",
            "Windows Server",
            "Windows Server",
            "windows",
        ),
    ],
)
def test_default_catalog_platform_and_distribution(
    catalog: list[Image], name: str, platform: str, distribution: str, os_type: str
) -> None:
    image = image_named(catalog, name)

    assert image["platform"] == platform
    assert image["distribution"] == distribution
    assert image["osType"] == os_type


def test_default_catalog_os_version(catalog: list[Image]) -> None:
    assert image_named(catalog, "CentOS 7.9 64位")["osVersion"] == "7.9"
    assert image_named(catalog, "Ubuntu 22.04 64位 ARM版")["osVersion"] == "22.04"
    assert image_named(catalog, "Windows Server 2019 数据中心版 64位中文版")["osVersion"] == "2019"


def test_default_catalog_both_architectures(catalog: list[Image]) -> None:
    architectures = Counter(image["architecture"] for image in catalog)

    assert set(architectures) == {"x86_64", "arm64"}
    assert architectures["arm64"] > 0


@pytest.mark.parametrize(
    "name",
    [
        "CentOS 7.9 64位 ARM版",
        "Rocky Linux 9.4 64位 ARM版",
        "openEuler 22.03 LTS SP3 64位 ARM版",
        "Ubuntu 20.04 64位 ARM版",
        "Ubuntu 24.04 64位 ARM版",
        "Debian 11.9 64位 ARM版",
        "Debian 12.5 64位 ARM版",
    ],
)
def test_default_catalog_arm64_image_present(catalog: list[Image], name: str) -> None:
    image = image_named(catalog, name)

    assert image["architecture"] == "arm64"


def test_default_catalog_arm64_named_and_uefi(catalog: list[Image]) -> None:
    for image in catalog:
        is_arm64 = image["architecture"] == "arm64"

        assert ("ARM版" in image["name"]) == is_arm64, image["name"]
        assert image["bootMode"] == ("uefi" if is_arm64 else "bios"), image["name"]


def test_default_catalog_offline_public_images(catalog: list[Image]) -> None:
    offline = {
        image["name"]
        for image in images_in(catalog, "cn-north-1")
        if image["imageSource"] == "public" and image["offline"]
    }

    expected = {f"CentOS 6.{minor} 64位" for minor in range(5, 11)} | {"Ubuntu 16.04 64位"}
    assert offline == expected


def test_default_catalog_current_images_online(catalog: list[Image]) -> None:
    assert image_named(catalog, "CentOS 7.9 64位")["offline"] is False
    assert image_named(catalog, "Ubuntu 24.04 64位")["offline"] is False


def test_default_catalog_offline_thirdparty_image(catalog: list[Image]) -> None:
    offline = [
        image
        for image in images_in(catalog, "cn-north-1")
        if image["imageSource"] == "thirdparty" and image["offline"]
    ]

    assert len(offline) == 1


@pytest.mark.parametrize(
    "name",
    [
        "宝塔Linux面板 8.0 (CentOS 7.9)",
        "WordPress 6.4 (Ubuntu 22.04)",
        "Docker CE 24 (Ubuntu 22.04)",
    ],
)
def test_default_catalog_thirdparty_image_present(catalog: list[Image], name: str) -> None:
    image = image_named(catalog, name)

    assert image["imageSource"] == "thirdparty"


def test_default_catalog_thirdparty_fields(catalog: list[Image]) -> None:
    thirdparty = [image for image in catalog if image["imageSource"] == "thirdparty"]

    assert len(thirdparty) >= 3
    for image in thirdparty:
        assert image["ownerPin"] not in ("", "admin"), image["name"]
        assert image["loginName"] == image["ownerPin"], image["name"]
        assert image["partnerImageId"] != "", image["name"]
        assert image["chargeInfo"]["serviceCode"].startswith("market_"), image["name"]
        assert image["chargeInfo"]["formula"] != [], image["name"]
        assert all(isinstance(item, str) for item in image["chargeInfo"]["formula"])


def test_default_catalog_community_fields(catalog: list[Image]) -> None:
    community = [image for image in catalog if image["imageSource"] == "community"]

    assert len(community) >= 3
    for image in community:
        assert image["ownerPin"] not in ("", "admin"), image["name"]
        assert image["loginName"] == image["ownerPin"], image["name"]
        assert image["partnerImageId"] == "", image["name"]
        assert image["chargeInfo"] == {"serviceCode": "", "formula": []}, image["name"]


def test_default_catalog_public_fields(catalog: list[Image]) -> None:
    public = [image for image in catalog if image["imageSource"] == "public"]

    for image in public:
        assert image["ownerPin"] == "admin", image["name"]
        assert image["loginName"] == "admin", image["name"]
        assert image["partnerImageId"] == "", image["name"]
        assert image["chargeInfo"] == {"serviceCode": "", "formula": []}, image["name"]


def test_default_catalog_image_sources(catalog: list[Image]) -> None:
    sources = {image["imageSource"] for image in catalog}

    assert sources == {"public", "thirdparty", "community"}


def test_default_catalog_create_time_format(catalog: list[Image]) -> None:
    for image in catalog:
        assert CREATE_TIME.match(image["createTime"]), image["name"]
        datetime.strptime(image["createTime"], "%Y-%m-%d %H:%M:%S")


def test_default_catalog_create_time_ties(catalog: list[Image]) -> None:
    counts = Counter(image["createTime"] for image in images_in(catalog, "cn-north-1"))
    tied = [create_time for create_time, count in counts.items() if count > 1]

    assert len(tied) >= 2
    assert len(counts) > 100


def test_default_catalog_system_disk_size(catalog: list[Image]) -> None:
    for image in catalog:
        if image["osType"] == "linux":
            assert image["systemDiskSizeGB"] == 40, image["name"]
        else:
            assert image["systemDiskSizeGB"] in (40, 50), image["name"]


def test_default_catalog_image_size_positive(catalog: list[Image]) -> None:
    for image in catalog:
        assert image["sizeMB"] > 0, image["name"]


def test_default_catalog_windows_larger_than_linux(catalog: list[Image]) -> None:
    windows = [image["sizeMB"] for image in catalog if image["osType"] == "windows"]
    linux = [
        image["sizeMB"]
        for image in catalog
        if image["imageSource"] == "public" and image["osType"] == "linux"
    ]

    assert min(windows) > max(linux)


def test_default_catalog_cloud_system_disk(catalog: list[Image]) -> None:
    image = image_named(catalog, "CentOS 7.9 64位")

    assert image["rootDeviceType"] == "cloudDisk"
    assert image["systemDisk"] == {
        "diskCategory": "cloud",
        "autoDelete": True,
        "deviceName": "vda",
        "cloudDisk": {
            "diskType": "ssd.gp1",
            "diskSizeGB": 40,
            "snapshotId": "",
            "encrypted": False,
        },
    }


def test_default_catalog_local_system_disk(catalog: list[Image]) -> None:
    image = image_named(catalog, "CentOS 7.2 64位")

    assert image["rootDeviceType"] == "localDisk"
    assert image["systemDisk"] == {
        "diskCategory": "local",
        "autoDelete": True,
        "deviceName": "vda",
        "localDisk": {"diskType": "NVMe SSD", "diskSizeGB": 40},
    }


def test_default_catalog_system_disk_matches_root_device(catalog: list[Image]) -> None:
    for image in catalog:
        system_disk = image["systemDisk"]
        if image["rootDeviceType"] == "localDisk":
            assert system_disk["diskCategory"] == "local", image["name"]
            assert system_disk["localDisk"]["diskSizeGB"] == image["systemDiskSizeGB"]
        else:
            assert image["rootDeviceType"] == "cloudDisk", image["name"]
            assert system_disk["diskCategory"] == "cloud", image["name"]
            assert system_disk["cloudDisk"]["diskSizeGB"] == image["systemDiskSizeGB"]


def test_default_catalog_windows_editions_share_create_time(catalog: list[Image]) -> None:
    chinese = image_named(catalog, "Windows Server 2022 数据中心版 64位中文版")
    english = image_named(catalog, "Windows Server 2022 数据中心版 64位英文版")

    assert chinese["createTime"] == english["createTime"]
    assert chinese["imageId"] != english["imageId"]
