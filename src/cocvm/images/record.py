"""The image record: an image as `cocvm images import` reads it and `cocvm images export` writes it.

A record carries the API's Image fields in their camelCase JSON names, plus `regionId` (required),
`distribution` (the OS distribution that the `platform=` filter matches; defaults to `platform`),
`offline` (delisted; default false) and `sharedWith` (pins the owner shared a private image with).
Types and allowed values are declared on the structs, so msgspec reports the first fault with its
path. Checks that span fields or need a calendar run in `__post_init__`, and their messages start
with "field `NAME`: " so that a reader of the message can tell which field failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

import msgspec

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

ImageId = Annotated[str, msgspec.Meta(pattern=r"^img-[0-9a-z]{1,60}$")]
RegionId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Pin = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
ShortText = Annotated[str, msgspec.Meta(max_length=64)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
CreateTime = Annotated[
    str, msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
]
NonNegative = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
Progress = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{0,3}$")]

ImageSource = Literal["public", "thirdparty", "community", "private"]
Architecture = Literal["x86_64", "arm64"]
OsType = Literal["linux", "windows"]
# `deleted` images stay in the store for export but are never listed, not even by id.
Status = Literal["pending", "ready", "deleting", "error", "deleted"]
RootDeviceType = Literal["localDisk", "cloudDisk"]
BootMode = Literal["bios", "uefi"]


class Snapshot(msgspec.Struct, forbid_unknown_fields=True):
    """A disk snapshot behind a private image."""

    diskSnapshotId: str = ""
    diskSnapshotName: str = ""
    diskSize: NonNegative = 0
    diskCategory: str = ""
    diskType: str = ""


class LocalDisk(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A local system or data disk of an image."""

    diskType: str = ""
    diskSizeGB: NonNegative = 0


class CloudDisk(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The cloud disk fields that an image's disk attachment shows."""

    diskId: str = ""
    az: str = ""
    name: str = ""
    description: str = ""
    diskType: str = ""
    diskSizeGB: NonNegative = 0
    iops: NonNegative = 0
    throughput: NonNegative = 0
    status: str = ""
    snapshotId: str = ""
    multiAttachable: bool = False
    encrypted: bool = False
    enabled: bool = False
    createTime: str = ""


class DiskAttachment(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A disk of an image, as JD Cloud's InstanceDiskAttachment model."""

    diskCategory: str = ""
    autoDelete: bool = False
    localDisk: LocalDisk | None = None
    cloudDisk: CloudDisk | None = None
    deviceName: str = ""
    status: str = ""


class ChargeInfo(msgspec.Struct, forbid_unknown_fields=True):
    """The charging terms of a marketplace image."""

    serviceCode: str = ""
    formula: list[str] = msgspec.field(default_factory=list)


class ImageRecord(msgspec.Struct, forbid_unknown_fields=True):
    """One image in the import and export format."""

    regionId: RegionId
    imageId: ImageId
    name: Name
    platform: ShortText
    architecture: Architecture
    osType: OsType
    imageSource: ImageSource
    ownerPin: Pin
    createTime: CreateTime
    distribution: ShortText = ""
    osVersion: ShortText = ""
    systemDiskSizeGB: NonNegative = 40
    sizeMB: NonNegative = 0
    status: Status = "ready"
    desc: Annotated[str, msgspec.Meta(max_length=1024)] = ""
    partnerImageId: ShortText = ""
    snapshots: list[Snapshot] = msgspec.field(default_factory=list)
    offline: bool = False
    sharedWith: list[Pin] = msgspec.field(default_factory=list)
    loginName: ShortText = ""
    rootDeviceType: RootDeviceType = "cloudDisk"
    bootMode: BootMode = "bios"
    progress: Progress = "100"
    imported: bool = False
    expiredTime: ShortText = ""
    instanceId: ShortText = ""
    serviceCode: ShortText = ""
    snapshotId: ShortText = ""
    systemDisk: DiskAttachment | None = None
    dataDisks: list[DiskAttachment] = msgspec.field(default_factory=list)
    chargeInfo: ChargeInfo | None = None

    def __post_init__(self) -> None:
        if not self.distribution:
            self.distribution = self.platform
        self.sharedWith = list(dict.fromkeys(self.sharedWith))
        if self.sharedWith and self.imageSource != "private":
            raise field_error(
                "sharedWith",
                f"only private images can be shared, but imageSource is '{self.imageSource}'. "
                "Remove sharedWith or set imageSource to private.",
            )
        try:
            _parse_create_time(self.createTime)
        except ValueError as error:
            raise field_error(
                "createTime",
                f"'{self.createTime}' is not a valid date and time ({error}). "
                "Expected YYYY-MM-DD HH:MM:SS in China Standard Time (UTC+8).",
            ) from None

    @property
    def create_timestamp(self) -> int:
        """createTime as seconds since the Unix epoch (the record stores China Standard Time)."""
        local = _parse_create_time(self.createTime)
        return int(local.replace(tzinfo=CHINA_STANDARD_TIME).timestamp())

    @property
    def launch_permission(self) -> str:
        """JD Cloud's launchPermission: `all` unless private, else whether the owner shared it."""
        if self.imageSource != "private":
            return "all"
        return "specifiedUsers" if self.sharedWith else "ownerOnly"


def field_error(field: str, reason: str) -> ValueError:
    """Build the error that `__post_init__` raises for one field, in the "field `NAME`: " form."""
    return ValueError(f"field `{field}`: {reason}")


def _parse_create_time(text: str) -> datetime:
    # Decoding has checked the text against the CreateTime pattern (YYYY-MM-DD HH:MM:SS), and
    # fromisoformat reads that layout, rejecting impossible dates such as 2021-02-30, far faster
    # than strptime does.
    return datetime.fromisoformat(text)
