"""The public catalog that cocvm ships and loads into an empty database.

Every region gets the same official (`public`), marketplace (`thirdparty`) and community images,
modelled on JD Cloud's own catalog. Names, display platforms and disk layouts follow JD Cloud's
conventions, while sizes and creation times are plausible estimates rather than JD Cloud's values.
The records are in the catalog's import format: JSON-ready dicts with the camelCase keys and JSON
types of JD Cloud's vm Image model (integers, booleans, and `progress` as a string), and
`createTime` in China Standard Time (UTC+8) as JD Cloud renders it.

Image ids are derived from a hash of the region and a stable image key, so every build returns
the same ids, and one image has a different id in each region.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_REGIONS: tuple[str, ...] = (
    "cn-north-1",
    "cn-east-1",
    "cn-east-2",
    "cn-south-1",
    "cn-hongkong-11",
)

_X86 = "x86_64"
_ARM = "arm64"

_BASE36_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_IMAGE_ID_LENGTH = 10

# The owner pin and login name JD Cloud shows on its official images.
_PLATFORM_PIN = "admin"


@dataclass(frozen=True)
class _Family:
    """An OS family: how its images are named and which platform they report."""

    key: str
    label: str
    platform: str
    distribution: str
    os_type: str = "linux"


@dataclass(frozen=True)
class _Release:
    """One official image of a Linux family, for one architecture."""

    version: str
    architecture: str
    create_time: str
    size_mb: int
    offline: bool = False
    root_device_type: str = "cloudDisk"
    desc: str = ""


@dataclass(frozen=True)
class _WindowsRelease:
    """One Windows Server edition, published in a Chinese and an English image."""

    version: str
    edition: str
    edition_key: str
    create_time: str
    size_mb_chinese: int
    size_mb_english: int
    system_disk_size_gb: int


@dataclass(frozen=True)
class _ImageSpec:
    """An image as it appears in every region, before the region-specific id is added."""

    key: str
    name: str
    family: _Family
    os_version: str
    architecture: str
    image_source: str
    create_time: str
    size_mb: int
    owner_pin: str
    system_disk_size_gb: int = 40
    desc: str = ""
    offline: bool = False
    root_device_type: str = "cloudDisk"
    partner_image_id: str = ""
    service_code: str = ""
    formula: tuple[str, ...] = ()

    @property
    def boot_mode(self) -> str:
        # arm64 servers boot only through UEFI firmware, and the x86_64 images keep BIOS boot.
        return "uefi" if self.architecture == _ARM else "bios"


_CENTOS = _Family("centos", "CentOS", "CentOS", "CentOS")
_CENTOS_STREAM = _Family("centos-stream", "CentOS Stream", "CentOS", "CentOS")
_ROCKY = _Family("rocky", "Rocky Linux", "Other Linux", "Rocky Linux")
_OPENEULER = _Family("openeuler", "openEuler", "Other Linux", "OpenEuler")
_UBUNTU = _Family("ubuntu", "Ubuntu", "Ubuntu", "Ubuntu")
_DEBIAN = _Family("debian", "Debian", "Other Linux", "Debian")
_FEDORA = _Family("fedora", "Fedora", "Other Linux", "Fedora")
_OPENSUSE = _Family("opensuse-leap", "openSUSE Leap", "Other Linux", "OpenSUSE")
_WINDOWS = _Family(
    "windows-server", "Windows Server", "Windows Server", "Windows Server", os_type="windows"
)

_CENTOS8_DESC = "CentOS 8 已于2021年12月31日停止维护"


def _centos6(
    version: str, create_time: str, size_mb: int, root_device_type: str = "cloudDisk"
) -> _Release:
    """Return a delisted CentOS 6 image."""
    return _Release(
        version,
        _X86,
        create_time,
        size_mb,
        offline=True,
        root_device_type=root_device_type,
        desc="CentOS 6 已停止维护并下线",
    )


def _both_architectures(
    version: str, create_time: str, size_mb_x86: int, size_mb_arm: int
) -> tuple[_Release, _Release]:
    """Return the x86_64 and arm64 images of a release that were built in one run."""
    return (
        _Release(version, _X86, create_time, size_mb_x86),
        _Release(version, _ARM, create_time, size_mb_arm),
    )


_LINUX_RELEASES: tuple[tuple[_Family, tuple[_Release, ...]], ...] = (
    (
        _CENTOS,
        (
            _centos6("6.5", "2016-03-14 10:21:37", 1318, "localDisk"),
            _centos6("6.6", "2016-03-14 10:48:02", 1342, "localDisk"),
            _centos6("6.7", "2016-05-20 15:12:44", 1376, "localDisk"),
            _centos6("6.8", "2016-08-09 11:30:18", 1405),
            _centos6("6.9", "2017-06-02 14:05:51", 1433),
            _centos6("6.10", "2018-08-21 16:40:09", 1461),
            _Release("7.2", _X86, "2016-06-15 17:22:30", 1682, root_device_type="localDisk"),
            _Release("7.3", _X86, "2017-01-10 10:05:12", 1725, root_device_type="localDisk"),
            _Release("7.4", _X86, "2017-10-19 14:33:48", 1796),
            _Release("7.5", _X86, "2018-06-07 11:18:26", 1853),
            _Release("7.6", _X86, "2019-12-30 11:05:02", 1920),
            _Release("7.7", _X86, "2020-01-16 10:12:55", 1984),
            _Release("7.8", _X86, "2020-05-12 16:28:41", 2047),
            _Release("7.9", _X86, "2020-12-03 14:56:20", 2108),
            _Release("8.0", _X86, "2019-11-05 16:10:33", 2301, desc=_CENTOS8_DESC),
            _Release("8.1", _X86, "2020-02-18 11:42:07", 2386, desc=_CENTOS8_DESC),
            _Release("8.2", _X86, "2021-01-28 16:49:05", 2494, desc=_CENTOS8_DESC),
            _Release("8.3", _X86, "2021-03-16 10:27:44", 2551, desc=_CENTOS8_DESC),
            _Release("8.4", _X86, "2021-07-01 15:03:19", 2617, desc=_CENTOS8_DESC),
            _Release("8.5", _X86, "2021-12-02 11:36:52", 2680, desc=_CENTOS8_DESC),
            _Release("7.6", _ARM, "2020-03-10 14:41:26", 1876),
            _Release("7.9", _ARM, "2021-02-24 10:38:15", 2042),
            _Release("8.2", _ARM, "2021-03-09 15:22:47", 2410, desc=_CENTOS8_DESC),
            _Release("8.4", _ARM, "2021-08-17 11:06:33", 2538, desc=_CENTOS8_DESC),
            _Release("8.5", _ARM, "2022-01-11 16:14:09", 2602, desc=_CENTOS8_DESC),
        ),
    ),
    (
        _CENTOS_STREAM,
        (
            _Release("8", _X86, "2021-06-22 14:20:11", 2140),
            _Release("8", _ARM, "2021-09-14 10:55:36", 2088),
            _Release("9", _X86, "2022-03-29 16:02:47", 1730),
            _Release("9", _ARM, "2022-06-21 11:44:08", 1694),
        ),
    ),
    (
        _ROCKY,
        (
            _Release("8.4", _X86, "2021-07-20 15:31:26", 1812),
            _Release("8.5", _X86, "2021-12-14 10:48:53", 1847),
            _Release("8.6", _X86, "2022-06-08 14:16:02", 1893),
            _Release("8.7", _X86, "2022-12-06 11:09:37", 1926),
            _Release("8.8", _X86, "2023-06-13 16:45:21", 1958),
            _Release("8.9", _X86, "2023-12-05 10:22:14", 1990),
            _Release("8.10", _X86, "2024-06-18 15:37:49", 2031),
            _Release("9.0", _X86, "2022-07-26 14:58:33", 1605),
            _Release("9.1", _X86, "2022-12-13 10:41:07", 1638),
            _Release("9.2", _X86, "2023-05-30 15:26:44", 1672),
            _Release("9.3", _X86, "2023-11-28 11:03:58", 1709),
            _Release("9.4", _X86, "2024-05-21 16:19:25", 1745),
            _Release("8.4", _ARM, "2021-08-03 10:14:55", 1770),
            _Release("8.5", _ARM, "2021-12-28 14:30:12", 1802),
            _Release("8.6", _ARM, "2022-06-22 11:52:40", 1851),
            _Release("8.7", _ARM, "2022-12-20 15:07:18", 1884),
            _Release("8.8", _ARM, "2023-06-27 10:39:56", 1917),
            _Release("8.9", _ARM, "2023-12-19 14:24:31", 1949),
            _Release("8.10", _ARM, "2024-07-02 11:15:07", 1988),
            _Release("9.0", _ARM, "2022-08-09 10:33:12", 1566),
            _Release("9.1", _ARM, "2022-12-27 15:18:45", 1599),
            _Release("9.2", _ARM, "2023-06-13 10:57:23", 1631),
            _Release("9.3", _ARM, "2023-12-12 16:42:09", 1668),
            _Release("9.4", _ARM, "2024-06-04 11:29:51", 1703),
        ),
    ),
    (
        _OPENEULER,
        (
            *_both_architectures("20.03 LTS SP1", "2021-01-19 14:22:06", 1498, 1462),
            *_both_architectures("20.03 LTS SP2", "2021-07-13 10:37:41", 1523, 1489),
            *_both_architectures("20.03 LTS SP3", "2022-01-11 15:48:19", 1547, 1511),
            *_both_architectures("20.03 LTS SP4", "2023-12-12 11:25:33", 1602, 1568),
            *_both_architectures("22.03 LTS", "2022-04-19 16:06:52", 1634, 1597),
            *_both_architectures("22.03 LTS SP1", "2023-01-10 10:58:27", 1671, 1633),
            *_both_architectures("22.03 LTS SP2", "2023-07-04 14:43:15", 1705, 1668),
            *_both_architectures("22.03 LTS SP3", "2024-01-09 11:12:48", 1740, 1702),
            *_both_architectures("22.03 LTS SP4", "2024-07-16 15:34:06", 1778, 1739),
            *_both_architectures("24.03 LTS", "2024-06-25 10:51:39", 1856, 1815),
            *_both_architectures("24.03 LTS SP1", "2025-01-14 14:09:22", 1893, 1851),
        ),
    ),
    (
        _UBUNTU,
        (
            _Release(
                "16.04",
                _X86,
                "2016-05-10 15:36:20",
                2205,
                offline=True,
                root_device_type="localDisk",
                desc="Ubuntu 16.04 已停止维护并下线",
            ),
            _Release("18.04", _X86, "2018-05-15 14:27:51", 2361),
            _Release("20.04", _X86, "2020-05-19 10:44:36", 2513),
            _Release("22.04", _X86, "2022-05-10 16:21:09", 2742),
            _Release("24.04", _X86, "2024-05-14 11:08:47", 2967),
            _Release("18.04", _ARM, "2019-04-16 10:30:25", 2298),
            _Release("20.04", _ARM, "2020-09-08 15:17:42", 2455),
            _Release("22.04", _ARM, "2022-06-07 10:52:18", 2680),
            _Release("24.04", _ARM, "2024-06-11 14:39:05", 2901),
        ),
    ),
    (
        _DEBIAN,
        (
            _Release("9.13", _X86, "2020-08-04 11:20:14", 1287),
            _Release("10.10", _X86, "2021-07-06 15:42:31", 1341),
            _Release("10.13", _X86, "2022-09-20 10:18:57", 1366),
            _Release("11.5", _X86, "2022-09-27 14:55:03", 1402),
            # Debian released 11.9 and 12.5 on one day (2024-02-10), so they share a createTime.
            _Release("11.9", _X86, "2024-02-27 10:33:46", 1438),
            _Release("12.2", _X86, "2023-10-24 15:09:28", 1475),
            _Release("12.5", _X86, "2024-02-27 10:33:46", 1508),
            _Release("11.9", _ARM, "2024-03-12 11:46:20", 1411),
            _Release("12.2", _ARM, "2023-11-07 16:25:12", 1449),
            _Release("12.5", _ARM, "2024-03-12 11:46:20", 1480),
        ),
    ),
    (
        _FEDORA,
        (
            _Release("37", _X86, "2022-11-22 14:12:35", 1620),
            _Release("38", _X86, "2023-04-25 10:49:08", 1663),
            _Release("39", _X86, "2023-11-14 15:26:51", 1701),
            _Release("40", _X86, "2024-04-30 11:03:27", 1744),
            _Release("39", _ARM, "2023-11-28 10:37:19", 1668),
            _Release("40", _ARM, "2024-05-14 14:51:44", 1709),
        ),
    ),
    (
        _OPENSUSE,
        (
            _Release("15.2", _X86, "2020-07-14 10:25:48", 1752),
            _Release("15.3", _X86, "2021-06-08 14:48:13", 1796),
            _Release("15.4", _X86, "2022-06-14 11:31:02", 1833),
            _Release("15.5", _X86, "2023-06-13 15:57:39", 1871),
            _Release("15.6", _X86, "2024-06-18 10:14:26", 1912),
        ),
    ),
)

_WINDOWS_RELEASES: tuple[_WindowsRelease, ...] = (
    _WindowsRelease("2012 R2", "数据中心版", "datacenter", "2016-04-12 15:20:33", 9830, 9421, 40),
    _WindowsRelease("2016", "数据中心版", "datacenter", "2017-02-21 10:47:16", 11563, 11024, 40),
    _WindowsRelease("2016", "标准版", "standard", "2017-03-07 14:12:50", 11498, 10967, 40),
    _WindowsRelease("2019", "数据中心版", "datacenter", "2019-03-19 16:35:27", 12684, 12213, 50),
    _WindowsRelease("2019", "标准版", "standard", "2019-04-02 11:08:44", 12617, 12150, 50),
    _WindowsRelease("2022", "数据中心版", "datacenter", "2022-01-18 14:52:09", 13942, 13468, 50),
    _WindowsRelease("2022", "标准版", "standard", "2022-02-15 10:26:31", 13875, 13402, 50),
)

# Language key, the suffix JD Cloud puts on the image name, and whether the Chinese size applies.
_WINDOWS_LANGUAGES: tuple[tuple[str, str, bool], ...] = (
    ("zh-cn", "64位中文版", True),
    ("en-us", "64位英文版", False),
)


def _marketplace_image(
    key: str,
    name: str,
    family: _Family,
    os_version: str,
    architecture: str,
    create_time: str,
    size_mb: int,
    vendor_pin: str,
    partner_image_id: str,
    service_code: str,
    desc: str,
    offline: bool = False,
) -> _ImageSpec:
    """Return a `thirdparty` image sold through the marketplace."""
    # NOTE: JD Cloud does not publish the format of chargeInfo.formula, so the billing item name
    # here is a placeholder that only shows the field's shape (a list of strings).
    return _ImageSpec(
        key=f"thirdparty/{key}",
        name=name,
        family=family,
        os_version=os_version,
        architecture=architecture,
        image_source="thirdparty",
        create_time=create_time,
        size_mb=size_mb,
        owner_pin=vendor_pin,
        desc=desc,
        offline=offline,
        partner_image_id=partner_image_id,
        service_code=service_code,
        formula=("image_license_hourly",),
    )


_MARKETPLACE_IMAGES: tuple[_ImageSpec, ...] = (
    _marketplace_image(
        key="bt-panel-7.9-centos-7.6",
        name="宝塔Linux面板 7.9 (CentOS 7.6)",
        family=_CENTOS,
        os_version="7.6",
        architecture=_X86,
        create_time="2022-05-17 15:42:18",
        size_mb=2764,
        vendor_pin="jdcloud-market-bt",
        partner_image_id="mkt-bt-panel-79-c76",
        service_code="market_bt_panel",
        desc="宝塔Linux面板 7.9 已由 8.0 版本替代",
        offline=True,
    ),
    _marketplace_image(
        key="bt-panel-8.0-centos-7.9",
        name="宝塔Linux面板 8.0 (CentOS 7.9)",
        family=_CENTOS,
        os_version="7.9",
        architecture=_X86,
        create_time="2023-08-15 14:26:37",
        size_mb=2896,
        vendor_pin="jdcloud-market-bt",
        partner_image_id="mkt-bt-panel-80-c79",
        service_code="market_bt_panel",
        desc="一键部署 LNMP/LAMP 环境的宝塔Linux面板",
    ),
    _marketplace_image(
        key="bt-panel-9.0-ubuntu-22.04",
        name="宝塔Linux面板 9.0 (Ubuntu 22.04)",
        family=_UBUNTU,
        os_version="22.04",
        architecture=_X86,
        create_time="2024-06-04 10:18:52",
        size_mb=3412,
        vendor_pin="jdcloud-market-bt",
        partner_image_id="mkt-bt-panel-90-u2204",
        service_code="market_bt_panel",
        desc="一键部署 LNMP/LAMP 环境的宝塔Linux面板",
    ),
    _marketplace_image(
        key="lnmp-1.9-centos-7.9",
        name="LNMP 1.9 (CentOS 7.9)",
        family=_CENTOS,
        os_version="7.9",
        architecture=_X86,
        create_time="2022-09-06 11:07:45",
        size_mb=3185,
        vendor_pin="jdcloud-market-lnmp",
        partner_image_id="mkt-lnmp-19-c79",
        service_code="market_lnmp",
        desc="Nginx 1.22、MySQL 5.7、PHP 7.4",
    ),
    _marketplace_image(
        key="wordpress-6.4-ubuntu-22.04",
        name="WordPress 6.4 (Ubuntu 22.04)",
        family=_UBUNTU,
        os_version="22.04",
        architecture=_X86,
        create_time="2023-11-21 15:40:08",
        size_mb=3870,
        vendor_pin="jdcloud-market-bitnami",
        partner_image_id="mkt-bitnami-wordpress-64",
        service_code="market_bitnami_wordpress",
        desc="Bitnami WordPress 6.4 (含 Apache、MariaDB 和 PHP 8.2)",
    ),
    _marketplace_image(
        key="gitlab-ce-16.6-ubuntu-22.04",
        name="GitLab CE 16.6 (Ubuntu 22.04)",
        family=_UBUNTU,
        os_version="22.04",
        architecture=_X86,
        create_time="2023-12-05 16:53:21",
        size_mb=6214,
        vendor_pin="jdcloud-market-bitnami",
        partner_image_id="mkt-bitnami-gitlab-166",
        service_code="market_bitnami_gitlab",
        desc="Bitnami GitLab CE 16.6",
    ),
    _marketplace_image(
        key="mysql-8.0-rocky-9.3",
        name="MySQL 8.0 (Rocky Linux 9.3)",
        family=_ROCKY,
        os_version="9.3",
        architecture=_X86,
        create_time="2024-01-16 10:29:04",
        size_mb=2537,
        vendor_pin="jdcloud-market-bitnami",
        partner_image_id="mkt-bitnami-mysql-80",
        service_code="market_bitnami_mysql",
        desc="Bitnami MySQL 8.0.36",
    ),
    _marketplace_image(
        key="docker-ce-24-ubuntu-22.04",
        name="Docker CE 24 (Ubuntu 22.04)",
        family=_UBUNTU,
        os_version="22.04",
        architecture=_X86,
        create_time="2023-10-10 14:35:59",
        size_mb=3106,
        vendor_pin="jdcloud-market-cloudstack",
        partner_image_id="mkt-docker-ce-24-u2204",
        service_code="market_docker_ce",
        desc="Docker CE 24.0 与 Docker Compose v2",
    ),
    _marketplace_image(
        key="docker-ce-24-ubuntu-22.04-arm64",
        name="Docker CE 24 (Ubuntu 22.04) ARM版",
        family=_UBUNTU,
        os_version="22.04",
        architecture=_ARM,
        create_time="2023-10-24 11:12:30",
        size_mb=3041,
        vendor_pin="jdcloud-market-cloudstack",
        partner_image_id="mkt-docker-ce-24-u2204-arm",
        service_code="market_docker_ce",
        desc="Docker CE 24.0 与 Docker Compose v2",
    ),
)


def _community_image(
    key: str,
    name: str,
    family: _Family,
    os_version: str,
    architecture: str,
    create_time: str,
    size_mb: int,
    owner_pin: str,
    desc: str,
    system_disk_size_gb: int = 40,
) -> _ImageSpec:
    """Return an image that a user published to the community catalog."""
    return _ImageSpec(
        key=f"community/{key}",
        name=name,
        family=family,
        os_version=os_version,
        architecture=architecture,
        image_source="community",
        create_time=create_time,
        size_mb=size_mb,
        owner_pin=owner_pin,
        system_disk_size_gb=system_disk_size_gb,
        desc=desc,
    )


_COMMUNITY_IMAGES: tuple[_ImageSpec, ...] = (
    _community_image(
        key="ubuntu-22.04-cuda-12.2",
        name="Ubuntu 22.04 CUDA 12.2 深度学习环境",
        family=_UBUNTU,
        os_version="22.04",
        architecture=_X86,
        create_time="2024-01-23 19:42:17",
        size_mb=9650,
        owner_pin="jd_zhangwei_ailab",
        desc="预装 NVIDIA 驱动 535、CUDA 12.2、cuDNN 8.9 和 PyTorch 2.1",
    ),
    _community_image(
        key="centos-7.9-kubernetes-1.28",
        name="CentOS 7.9 Kubernetes 1.28 节点",
        family=_CENTOS,
        os_version="7.9",
        architecture=_X86,
        create_time="2023-10-09 21:15:06",
        size_mb=4120,
        owner_pin="k8s_ops_li",
        desc="预装 containerd 1.7 与 kubeadm、kubelet、kubectl 1.28",
    ),
    _community_image(
        key="debian-12-nginx-proxy",
        name="Debian 12 Nginx 反向代理",
        family=_DEBIAN,
        os_version="12.5",
        architecture=_X86,
        create_time="2024-03-18 22:08:51",
        size_mb=1630,
        owner_pin="netops_wang",
        desc="Nginx 1.22 已开启 HTTP/2 与 BBR",
    ),
    _community_image(
        key="rocky-9.3-cis-level1",
        name="Rocky Linux 9.3 CIS 安全基线加固",
        family=_ROCKY,
        os_version="9.3",
        architecture=_X86,
        create_time="2024-01-08 16:37:29",
        size_mb=1812,
        owner_pin="secbaseline_team",
        desc="按 CIS Benchmark Level 1 加固",
    ),
    _community_image(
        key="ubuntu-24.04-minimal-arm64",
        name="Ubuntu 24.04 最小化安装 ARM版",
        family=_UBUNTU,
        os_version="24.04",
        architecture=_ARM,
        create_time="2024-07-02 20:51:13",
        size_mb=1318,
        owner_pin="jd_chenmin2016",
        desc="",
    ),
    _community_image(
        key="windows-server-2022-iis",
        name="Windows Server 2022 数据中心版 64位中文版 IIS 10",
        family=_WINDOWS,
        os_version="2022",
        architecture=_X86,
        create_time="2024-04-15 18:26:40",
        size_mb=14206,
        owner_pin="winops_liu",
        desc="已启用 IIS 10 与 ASP.NET 4.8",
        system_disk_size_gb=50,
    ),
)


def _linux_public_images() -> list[_ImageSpec]:
    images = []
    for family, releases in _LINUX_RELEASES:
        for release in releases:
            name = f"{family.label} {release.version} 64位"
            if release.architecture == _ARM:
                name += " ARM版"
            images.append(
                _ImageSpec(
                    key=f"public/{family.key}/{release.version}/{release.architecture}",
                    name=name,
                    family=family,
                    os_version=release.version,
                    architecture=release.architecture,
                    image_source="public",
                    create_time=release.create_time,
                    size_mb=release.size_mb,
                    owner_pin=_PLATFORM_PIN,
                    desc=release.desc,
                    offline=release.offline,
                    root_device_type=release.root_device_type,
                )
            )
    return images


def _windows_public_images() -> list[_ImageSpec]:
    images = []
    for release in _WINDOWS_RELEASES:
        for language_key, name_suffix, is_chinese in _WINDOWS_LANGUAGES:
            key_parts = (_WINDOWS.key, release.version, release.edition_key, language_key)
            images.append(
                _ImageSpec(
                    key="public/" + "/".join(key_parts),
                    name=f"Windows Server {release.version} {release.edition} {name_suffix}",
                    family=_WINDOWS,
                    os_version=release.version,
                    architecture=_X86,
                    image_source="public",
                    create_time=release.create_time,
                    size_mb=release.size_mb_chinese if is_chinese else release.size_mb_english,
                    owner_pin=_PLATFORM_PIN,
                    system_disk_size_gb=release.system_disk_size_gb,
                )
            )
    return images


def _catalog_specs() -> list[_ImageSpec]:
    return [
        *_linux_public_images(),
        *_windows_public_images(),
        *_MARKETPLACE_IMAGES,
        *_COMMUNITY_IMAGES,
    ]


def _image_id(region_id: str, image_key: str) -> str:
    """Derive `img-` plus the 10 low-order base-36 digits of SHA-256(region, image key)."""
    digest = hashlib.sha256(f"{region_id}\n{image_key}".encode()).digest()
    number = int.from_bytes(digest, "big")
    characters = []
    for _ in range(_IMAGE_ID_LENGTH):
        number, digit = divmod(number, 36)
        characters.append(_BASE36_DIGITS[digit])
    return "img-" + "".join(characters)


def _system_disk(spec: _ImageSpec) -> dict[str, Any]:
    if spec.root_device_type == "localDisk":
        return {
            "diskCategory": "local",
            "autoDelete": True,
            "deviceName": "vda",
            "localDisk": {"diskType": "NVMe SSD", "diskSizeGB": spec.system_disk_size_gb},
        }
    return {
        "diskCategory": "cloud",
        "autoDelete": True,
        "deviceName": "vda",
        "cloudDisk": {
            "diskType": "ssd.gp1",
            "diskSizeGB": spec.system_disk_size_gb,
            "snapshotId": "",
            "encrypted": False,
        },
    }


def _render(spec: _ImageSpec, region_id: str) -> dict[str, Any]:
    return {
        "regionId": region_id,
        "imageId": _image_id(region_id, spec.key),
        "name": spec.name,
        "platform": spec.family.platform,
        "distribution": spec.family.distribution,
        "osVersion": spec.os_version,
        "architecture": spec.architecture,
        "osType": spec.family.os_type,
        "systemDiskSizeGB": spec.system_disk_size_gb,
        "sizeMB": spec.size_mb,
        "imageSource": spec.image_source,
        "status": "ready",
        "createTime": spec.create_time,
        "desc": spec.desc,
        "ownerPin": spec.owner_pin,
        "partnerImageId": spec.partner_image_id,
        "snapshots": [],
        "offline": spec.offline,
        "loginName": spec.owner_pin,
        "rootDeviceType": spec.root_device_type,
        "bootMode": spec.boot_mode,
        "progress": "100",
        "imported": False,
        "expiredTime": "",
        "instanceId": "",
        "serviceCode": "",
        "snapshotId": "",
        "systemDisk": _system_disk(spec),
        "dataDisks": [],
        "chargeInfo": {"serviceCode": spec.service_code, "formula": list(spec.formula)},
        "sharedWith": [],
    }


def default_catalog(regions: Sequence[str] = DEFAULT_REGIONS) -> list[dict[str, Any]]:
    """Build the shipped catalog's image records for each of `regions`.

    Every region gets the same images in the same order, each with a region-specific id. The
    result is a fresh list of fresh dicts, so callers may change it. Calls with the same regions
    return equal lists.
    """
    specs = _catalog_specs()
    return [_render(spec, region_id) for region_id in regions for spec in specs]
