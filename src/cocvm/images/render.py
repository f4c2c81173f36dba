"""Rendering of an image record as describeImages returns it, in each API profile.

Field names and JSON types follow JD Cloud's Go SDK models, the strictest of its clients: integers
stay integers, booleans stay booleans, and `progress` is a string. The coc-vm profile shows the
fields of its API page plus `sizeMB`; the vm profile shows the full vm Image model.
"""

from __future__ import annotations

import msgspec

from cocvm.images.params import Profile
from cocvm.images.record import ChargeInfo, DiskAttachment, ImageRecord, Snapshot


class CocVmImage(msgspec.Struct):
    """An image in the coc-vm profile."""

    imageId: str
    partnerImageId: str
    name: str
    platform: str
    architecture: str
    systemDiskSizeGB: int
    imageSource: str
    osType: str
    status: str
    createTime: str
    desc: str
    ownerPin: str
    snapshots: list[Snapshot]
    sizeMB: int


class VmImage(msgspec.Struct):
    """An image in the vm profile (JD Cloud's full vm Image model)."""

    imageId: str
    name: str
    platform: str
    osVersion: str
    architecture: str
    systemDiskSizeGB: int
    imageSource: str
    osType: str
    status: str
    createTime: str
    sizeMB: int
    desc: str
    ownerPin: str
    loginName: str
    launchPermission: str
    systemDisk: DiskAttachment | None
    dataDisks: list[DiskAttachment]
    snapshotId: str
    rootDeviceType: str
    progress: str
    offline: bool
    serviceCode: str
    imported: bool
    expiredTime: str
    instanceId: str
    bootMode: str
    chargeInfo: ChargeInfo


_encoder = msgspec.json.Encoder()


def render_coc_vm(record: ImageRecord) -> bytes:
    """Encode a record as one element of describeImages' `images` array in the coc-vm profile."""
    return _encoder.encode(
        CocVmImage(
            imageId=record.imageId,
            partnerImageId=record.partnerImageId,
            name=record.name,
            platform=record.platform,
            architecture=record.architecture,
            systemDiskSizeGB=record.systemDiskSizeGB,
            imageSource=record.imageSource,
            osType=record.osType,
            status=record.status,
            createTime=record.createTime,
            desc=record.desc,
            ownerPin=record.ownerPin,
            snapshots=record.snapshots,
            sizeMB=record.sizeMB,
        )
    )


def render_vm(record: ImageRecord) -> bytes:
    """Encode a record as one element of describeImages' `images` array in the vm profile."""
    return _encoder.encode(
        VmImage(
            imageId=record.imageId,
            name=record.name,
            platform=record.platform,
            osVersion=record.osVersion,
            architecture=record.architecture,
            systemDiskSizeGB=record.systemDiskSizeGB,
            imageSource=record.imageSource,
            osType=record.osType,
            status=record.status,
            createTime=record.createTime,
            sizeMB=record.sizeMB,
            desc=record.desc,
            ownerPin=record.ownerPin,
            loginName=record.loginName,
            launchPermission=record.launch_permission,
            systemDisk=record.systemDisk,
            dataDisks=record.dataDisks,
            snapshotId=record.snapshotId,
            rootDeviceType=record.rootDeviceType,
            progress=record.progress,
            offline=record.offline,
            serviceCode=record.serviceCode,
            imported=record.imported,
            expiredTime=record.expiredTime,
            instanceId=record.instanceId,
            bootMode=record.bootMode,
            chargeInfo=record.chargeInfo or ChargeInfo(),
        )
    )


def render(record: ImageRecord, profile: Profile) -> bytes:
    """Encode a record for the given profile."""
    return render_coc_vm(record) if profile is Profile.COC_VM else render_vm(record)
