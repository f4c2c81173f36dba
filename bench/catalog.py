"""A large synthetic catalog: a few hundred listed images per region, the rest private.

Every region gets the default catalog's images plus rebuilds of its official images, so that the
public listing of a region is a few hundred images long. All other images are private images of many
owner pins, spread over the regions, as in a catalog with many tenants. The output is a JSON Lines
file in `cocvm images import` format. The generator is seeded, so every run writes the same file.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from cocvm.images.default_catalog import DEFAULT_REGIONS, default_catalog

CREATE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_BASE36_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"

# (platform, distribution, osType, OS versions) of the systems that private images are built on.
_PRIVATE_SYSTEMS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("CentOS", "CentOS", "linux", ("7.6", "7.9", "8.2", "8.5")),
    ("Ubuntu", "Ubuntu", "linux", ("18.04", "20.04", "22.04", "24.04")),
    ("Other Linux", "Rocky Linux", "linux", ("8.8", "9.2", "9.4")),
    ("Other Linux", "Debian", "linux", ("11.9", "12.5")),
    ("Other Linux", "OpenEuler", "linux", ("22.03 LTS SP3", "24.03 LTS")),
    ("Windows Server", "Windows Server", "windows", ("2016", "2019", "2022")),
)
_PRIVATE_ROLES = ("web", "api", "db", "cache", "worker", "gateway", "build", "monitor", "test")
_PRIVATE_DESCRIPTIONS = (
    "",
    "生产环境基线镜像",
    "已安装监控 agent 与日志采集",
    "nightly backup of the system disk",
    "golden image for the autoscaling group",
)
# Weights of the private image statuses: almost all are ready.
_PRIVATE_STATUSES = (("ready", 96), ("pending", 2), ("error", 1), ("deleting", 1))


@dataclass(frozen=True, slots=True)
class CatalogShape:
    """How many images a generated catalog has, and how they are spread."""

    total_images: int = 100_000
    public_images_per_region: int = 300
    owner_pins: int = 1_000
    regions: tuple[str, ...] = DEFAULT_REGIONS
    seed: int = 20_261_204

    @property
    def listed_images(self) -> int:
        """Images of the public, thirdparty and community sources in all regions."""
        listed_per_region = len(default_catalog(self.regions[:1]))
        extra_public = max(0, self.public_images_per_region - _public_count(self.regions[0]))
        return (listed_per_region + extra_public) * len(self.regions)

    @property
    def private_images(self) -> int:
        """Private images in all regions."""
        return self.total_images - self.listed_images


def write_catalog(path: Path, shape: CatalogShape) -> int:
    """Write the catalog as JSON Lines to `path` and return the number of records written."""
    if shape.private_images < 0:
        raise ValueError(
            f"total_images={shape.total_images} is less than the {shape.listed_images} "
            "listed images the shape needs"
        )
    encoder = msgspec.json.Encoder()
    count = 0
    with path.open("wb") as output:
        for record in _records(shape):
            output.write(encoder.encode(record))
            output.write(b"\n")
            count += 1
    return count


def _records(shape: CatalogShape) -> Iterator[dict[str, Any]]:
    rng = random.Random(shape.seed)
    for region_id in shape.regions:
        yield from _listed_records(region_id, shape.public_images_per_region)
    yield from _private_records(shape, rng)


def _public_count(region_id: str) -> int:
    return sum(1 for record in default_catalog([region_id]) if record["imageSource"] == "public")


def _listed_records(region_id: str, public_images: int) -> Iterator[dict[str, Any]]:
    """Yield the default catalog of one region, plus monthly rebuilds of its official images."""
    records = default_catalog([region_id])
    yield from records

    official = [record for record in records if record["imageSource"] == "public"]
    rebuilds = public_images - len(official)
    for index in range(rebuilds):
        base = official[index % len(official)]
        generation = index // len(official) + 1
        built = datetime.strptime(base["createTime"], CREATE_TIME_FORMAT)
        built += timedelta(days=30 * generation, hours=index % 24)
        yield base | {
            "imageId": _image_id(f"{region_id}\nrebuild/{base['imageId']}/{generation}"),
            "name": f"{base['name']} ({built:%Y%m%d})",
            "createTime": built.strftime(CREATE_TIME_FORMAT),
        }


def _private_records(shape: CatalogShape, rng: random.Random) -> Iterator[dict[str, Any]]:
    """Yield private images, each owned by one of `shape.owner_pins` pins, in random regions."""
    pins = [f"jd_tenant_{index:04d}" for index in range(shape.owner_pins)]
    statuses = [status for status, _ in _PRIVATE_STATUSES]
    status_weights = [weight for _, weight in _PRIVATE_STATUSES]
    first_time = datetime(2019, 1, 1)
    time_span_seconds = int((datetime(2025, 12, 31) - first_time).total_seconds())

    for index in range(shape.private_images):
        pin = pins[index % len(pins)]
        region_id = rng.choice(shape.regions)
        platform, distribution, os_type, versions = rng.choice(_PRIVATE_SYSTEMS)
        architecture = "x86_64" if os_type == "windows" or rng.random() < 0.8 else "arm64"
        role = rng.choice(_PRIVATE_ROLES)
        created = first_time + timedelta(seconds=rng.randrange(time_span_seconds))
        disk_size = 50 if os_type == "windows" else rng.choice((40, 40, 60, 100))
        image_id = _image_id(f"private/{index}")
        shared_with = rng.sample(pins, rng.randint(1, 3)) if rng.random() < 0.05 else []

        yield {
            "regionId": region_id,
            "imageId": image_id,
            "name": f"{role}-{distribution.split()[0].lower()}-{index:06d}",
            "platform": platform,
            "distribution": distribution,
            "osVersion": rng.choice(versions),
            "architecture": architecture,
            "osType": os_type,
            "systemDiskSizeGB": disk_size,
            "sizeMB": rng.randrange(1200, 16000),
            "imageSource": "private",
            "status": rng.choices(statuses, status_weights)[0],
            "createTime": created.strftime(CREATE_TIME_FORMAT),
            "desc": rng.choice(_PRIVATE_DESCRIPTIONS),
            "ownerPin": pin,
            "snapshots": [
                {
                    "diskSnapshotId": "snapshot-" + image_id.removeprefix("img-"),
                    "diskSnapshotName": f"{role}-system-disk",
                    "diskSize": disk_size,
                    "diskCategory": "system",
                    "diskType": "ssd.gp1",
                }
            ],
            "sharedWith": [other for other in shared_with if other != pin],
            "loginName": "Administrator" if os_type == "windows" else "root",
            "instanceId": f"i-{rng.getrandbits(40):010x}",
            "systemDisk": {
                "diskCategory": "cloud",
                "autoDelete": True,
                "deviceName": "vda",
                "cloudDisk": {"diskType": "ssd.gp1", "diskSizeGB": disk_size},
            },
            "chargeInfo": {"serviceCode": "", "formula": []},
        }


def _image_id(key: str) -> str:
    """Derive `img-` plus 12 base-36 digits from SHA-256 of a key that is unique in the catalog."""
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:16], "big")
    digits = []
    for _ in range(12):
        number, digit = divmod(number, 36)
        digits.append(_BASE36_DIGITS[digit])
    return "img-" + "".join(digits)
