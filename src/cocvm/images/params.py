"""Validation of describeImages parameters.

The checks run in a fixed order so that a request with several faults always gets the same error:
region, imageSource, architecture, pageNumber, pageSize, ids, then the vm profile's extra filters.
Empty values count as absent, because JD Cloud's SDKs leave unset parameters out entirely.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from cocvm.errors import FailedPrecondition, InvalidArgument, OutOfRange


class Profile(enum.StrEnum):
    """The API flavour a server speaks: JD Cloud's coc-vm page, or the main vm API (a superset)."""

    COC_VM = "coc-vm"
    VM = "vm"


IMAGE_SOURCES = ("public", "private", "shared", "thirdparty", "community")
ARCHITECTURES = ("x86_64", "arm64")
STATUSES = ("pending", "ready", "deleting", "error")
ROOT_DEVICE_TYPES = ("localDisk", "cloudDisk")
LAUNCH_PERMISSIONS = ("all", "specifiedUsers", "ownerOnly")
BOOT_MODES = ("bios", "uefi")

MAX_IDS = 100
MIN_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_NUMBER = 2**31 - 1

_MAX_INTEGER_DIGITS = 18
_CLAMPED_INTEGER: int = 10**_MAX_INTEGER_DIGITS
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class DescribeImagesParams:
    """A validated describeImages request. Text filters keep the caller's spelling."""

    region_id: str
    image_source: str | None
    ids: tuple[str, ...]
    platform: str | None
    image_name: str | None
    architecture: str | None
    page_number: int
    page_size: int
    # The vm profile's extra filters; always None or empty under coc-vm.
    offline: bool | None = None
    status: str | None = None
    root_device_type: str | None = None
    launch_permission: str | None = None
    boot_mode: str | None = None
    service_code: str | None = None
    instance_ids: tuple[str, ...] = ()


def parse_describe_params(
    region_id: str,
    values: Mapping[str, str],
    arrays: Mapping[str, Sequence[str]],
    *,
    profile: Profile,
    regions: Collection[str],
) -> DescribeImagesParams:
    """Validate a decoded describeImages query, raising the ApiError the caller should receive."""
    if region_id not in regions:
        raise InvalidArgument(f"Invalid region '{region_id}'")

    ids = _unique_non_empty(_array(values, arrays, "ids"))
    image_source = _optional(values, "imageSource")
    if image_source is None:
        if not ids:
            raise FailedPrecondition("Parameter ImageSource missing")
    else:
        image_source = _choice("imageSource", image_source, IMAGE_SOURCES, fold_case=True)
        if image_source == "shared" and profile is Profile.COC_VM:
            raise InvalidArgument(
                "Shared images are not supported: imageSource must be one of "
                "public, private, thirdparty, community"
            )

    architecture = _optional(values, "architecture")
    if architecture is not None:
        architecture = _choice("architecture", architecture, ARCHITECTURES, fold_case=True)

    page_number = _integer(values, "pageNumber", default=1)
    if not 1 <= page_number <= MAX_PAGE_NUMBER:
        raise OutOfRange("PageNumber out of range")
    page_size = _integer(values, "pageSize", default=DEFAULT_PAGE_SIZE)
    if not MIN_PAGE_SIZE <= page_size <= MAX_PAGE_SIZE:
        raise OutOfRange("PageSize out of range")

    if len(ids) > MAX_IDS:
        raise OutOfRange(f"Ids out of range: {len(ids)} ids given, at most {MAX_IDS} allowed")

    params = DescribeImagesParams(
        region_id=region_id,
        image_source=image_source,
        ids=ids,
        platform=_optional(values, "platform"),
        image_name=_optional(values, "imageName"),
        architecture=architecture,
        page_number=page_number,
        page_size=page_size,
    )
    if profile is Profile.VM:
        params = _with_vm_filters(params, values, arrays)
    return params


def _with_vm_filters(
    params: DescribeImagesParams, values: Mapping[str, str], arrays: Mapping[str, Sequence[str]]
) -> DescribeImagesParams:
    offline_text = _optional(values, "offline")
    offline = None if offline_text is None else _boolean("offline", offline_text)

    status = _optional(values, "status")
    if status is not None:
        status = _choice("status", status, STATUSES, fold_case=True)
    root_device_type = _optional(values, "rootDeviceType")
    if root_device_type is not None:
        root_device_type = _choice("rootDeviceType", root_device_type, ROOT_DEVICE_TYPES)
    boot_mode = _optional(values, "bootMode")
    if boot_mode is not None:
        boot_mode = _choice("bootMode", boot_mode, BOOT_MODES, fold_case=True)

    launch_permission = _optional(values, "launchPermission")
    if launch_permission is not None:
        launch_permission = _choice("launchPermission", launch_permission, LAUNCH_PERMISSIONS)
        if params.image_source != "private":
            raise InvalidArgument(
                "Parameter launchPermission is only valid with imageSource 'private'"
            )

    instance_ids = _unique_non_empty(_array(values, arrays, "instanceIds"))
    if len(instance_ids) > MAX_IDS:
        raise OutOfRange(
            f"InstanceIds out of range: {len(instance_ids)} ids given, at most {MAX_IDS} allowed"
        )

    return DescribeImagesParams(
        region_id=params.region_id,
        image_source=params.image_source,
        ids=params.ids,
        platform=params.platform,
        image_name=params.image_name,
        architecture=params.architecture,
        page_number=params.page_number,
        page_size=params.page_size,
        offline=offline,
        status=status,
        root_device_type=root_device_type,
        launch_permission=launch_permission,
        boot_mode=boot_mode,
        service_code=_optional(values, "serviceCode"),
        instance_ids=instance_ids,
    )


def _array(values: Mapping[str, str], arrays: Mapping[str, Sequence[str]], name: str) -> list[str]:
    # The jdc CLI sends a single unbracketed value (`--ids img-a`) as a plain `ids=img-a`; it comes
    # first, before the indexed elements.
    elements = list(arrays.get(name, ()))
    plain = values.get(name)
    if plain:
        elements.insert(0, plain)
    return elements


def _optional(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name)
    return value if value else None


def _unique_non_empty(elements: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(element for element in elements if element))


def _choice(name: str, value: str, allowed: Sequence[str], *, fold_case: bool = False) -> str:
    for candidate in allowed:
        if value == candidate or (fold_case and value.casefold() == candidate.casefold()):
            return candidate
    raise InvalidArgument(f"Invalid parameter {name}: '{value}' is not one of {', '.join(allowed)}")


def _integer(values: Mapping[str, str], name: str, *, default: int) -> int:
    text = _optional(values, name)
    if text is None:
        return default
    if not _INTEGER.fullmatch(text):
        raise InvalidArgument(f"Invalid parameter {name}: '{text}' is not an integer")
    # Clamp instead of converting thousands of digits: Python refuses int() on more than 4300
    # digits, and anything this long is out of every range anyway.
    if len(text.lstrip("+-0")) > _MAX_INTEGER_DIGITS:
        return -_CLAMPED_INTEGER if text.startswith("-") else _CLAMPED_INTEGER
    return int(text)


def _boolean(name: str, text: str) -> bool:
    value = _BOOLEANS.get(text.lower())
    if value is None:
        raise InvalidArgument(
            f"Invalid parameter {name}: '{text}' is not a boolean (true or false)"
        )
    return value
