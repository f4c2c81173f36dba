from collections.abc import Mapping, Sequence

import pytest

from cocvm.errors import ApiError, FailedPrecondition, InvalidArgument, OutOfRange
from cocvm.images.params import DescribeImagesParams, Profile, parse_describe_params

REGIONS = ("cn-north-1", "cn-east-2")
REGION = "cn-north-1"
BOTH_PROFILES = pytest.mark.parametrize("profile", list(Profile), ids=[p.value for p in Profile])

SOURCE_CHOICES = "public, private, shared, thirdparty, community"
NOT_SHARED = (
    "Shared images are not supported: imageSource must be one of "
    "public, private, thirdparty, community"
)


def image_ids(count: int) -> list[str]:
    return [f"img-{number}" for number in range(count)]


def parse(
    values: Mapping[str, str],
    arrays: Mapping[str, Sequence[str]] | None = None,
    *,
    profile: Profile = Profile.COC_VM,
    region_id: str = REGION,
) -> DescribeImagesParams:
    return parse_describe_params(region_id, values, arrays or {}, profile=profile, regions=REGIONS)


def rejection(
    values: dict[str, str],
    arrays: dict[str, list[str]],
    error: type[ApiError],
    http_status: int,
    status: str,
    message: str,
    *,
    id: str,
    region_id: str = REGION,
) -> object:
    return pytest.param(region_id, values, arrays, error, http_status, status, message, id=id)


def invalid(name: str, value: str, choices: str, *, id: str, **extra: str) -> object:
    message = f"Invalid parameter {name}: '{value}' is not one of {choices}"
    return rejection(
        {"imageSource": "private", **extra, name: value},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        message,
        id=id,
    )


def not_integer(name: str, value: str) -> object:
    return rejection(
        {"imageSource": "public", name: value},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        f"Invalid parameter {name}: '{value}' is not an integer",
        id=f"{name}-{value!r}",
    )


def out_of_range(name: str, value: str, message: str) -> object:
    return rejection(
        {"imageSource": "public", name: value},
        {},
        OutOfRange,
        400,
        "OUT_OF_RANGE",
        message,
        id=f"{name}-{value[:12]}",
    )


def source_missing(values: dict[str, str], arrays: dict[str, list[str]], *, id: str) -> object:
    return rejection(
        values,
        arrays,
        FailedPrecondition,
        400,
        "FAILED_PRECONDITION",
        "Parameter ImageSource missing",
        id=id,
    )


REJECTED_IN_BOTH_PROFILES = [
    rejection(
        {"imageSource": "public"},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        "Invalid region 'us-west-1'",
        id="region-unknown",
        region_id="us-west-1",
    ),
    rejection(
        {"imageSource": "public"},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        "Invalid region 'CN-NORTH-1'",
        id="region-other-case",
        region_id="CN-NORTH-1",
    ),
    rejection(
        {},
        {"ids": ["img-a"]},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        "Invalid region ''",
        id="region-empty",
        region_id="",
    ),
    source_missing({}, {}, id="source-missing"),
    source_missing({"imageSource": ""}, {}, id="source-empty"),
    source_missing({}, {"ids": ["", ""]}, id="source-missing-ids-empty"),
    source_missing({"platform": "CentOS", "imageName": "x"}, {}, id="source-missing-filters"),
    source_missing({}, {"instanceIds": ["i-1"]}, id="source-missing-instance-ids"),
    invalid("imageSource", "bogus", SOURCE_CHOICES, id="source-unknown"),
    invalid("imageSource", "jcloud", SOURCE_CHOICES, id="source-old-name"),
    invalid("imageSource", "public ", SOURCE_CHOICES, id="source-trailing-space"),
    invalid("architecture", "x86", "x86_64, arm64", id="architecture-x86"),
    invalid("architecture", "amd64", "x86_64, arm64", id="architecture-amd64"),
    invalid("architecture", "aarch64", "x86_64, arm64", id="architecture-aarch64"),
    out_of_range("pageNumber", "0", "PageNumber out of range"),
    out_of_range("pageNumber", "-1", "PageNumber out of range"),
    out_of_range("pageNumber", "-0", "PageNumber out of range"),
    out_of_range("pageNumber", "2147483648", "PageNumber out of range"),
    out_of_range("pageNumber", "9" * 30, "PageNumber out of range"),
    out_of_range("pageNumber", "-" + "9" * 5000, "PageNumber out of range"),
    out_of_range("pageSize", "9", "PageSize out of range"),
    out_of_range("pageSize", "101", "PageSize out of range"),
    out_of_range("pageSize", "0", "PageSize out of range"),
    out_of_range("pageSize", "-20", "PageSize out of range"),
    out_of_range("pageSize", "9" * 5000, "PageSize out of range"),
    not_integer("pageNumber", "abc"),
    not_integer("pageNumber", "1.5"),
    not_integer("pageNumber", "1e3"),
    not_integer("pageNumber", "0x10"),
    not_integer("pageNumber", " 1"),
    not_integer("pageNumber", "--1"),
    not_integer("pageNumber", "\uff11"),
    not_integer("pageSize", "abc"),
    not_integer("pageSize", "20.0"),
    not_integer("pageSize", "20 "),
    not_integer("pageSize", "+"),
    rejection(
        {},
        {"ids": image_ids(101)},
        OutOfRange,
        400,
        "OUT_OF_RANGE",
        "Ids out of range: 101 ids given, at most 100 allowed",
        id="ids-101",
    ),
    rejection(
        {"imageSource": "public"},
        {"ids": image_ids(150)},
        OutOfRange,
        400,
        "OUT_OF_RANGE",
        "Ids out of range: 150 ids given, at most 100 allowed",
        id="ids-150-with-source",
    ),
]

REJECTED_IN_COC_VM = [
    rejection(
        {"imageSource": "shared"},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        NOT_SHARED,
        id="shared",
    ),
    rejection(
        {"imageSource": "Shared"},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        NOT_SHARED,
        id="shared-other-case",
    ),
    rejection(
        {"imageSource": "shared"},
        {"ids": ["img-a"]},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        NOT_SHARED,
        id="shared-with-ids",
    ),
]

REJECTED_IN_VM = [
    rejection(
        {"imageSource": "public", "offline": "yes"},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        "Invalid parameter offline: 'yes' is not a boolean (true or false)",
        id="offline-yes",
    ),
    rejection(
        {"imageSource": "public", "offline": "1"},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        "Invalid parameter offline: '1' is not a boolean (true or false)",
        id="offline-1",
    ),
    invalid("status", "deleted", "pending, ready, deleting, error", id="status-deleted"),
    invalid("status", "copying", "pending, ready, deleting, error", id="status-copying"),
    invalid("rootDeviceType", "localdisk", "localDisk, cloudDisk", id="root-device-case"),
    invalid("rootDeviceType", "ssd", "localDisk, cloudDisk", id="root-device-unknown"),
    invalid("bootMode", "legacy", "bios, uefi", id="boot-mode-unknown"),
    invalid(
        "launchPermission",
        "everyone",
        "all, specifiedUsers, ownerOnly",
        id="launch-permission-unknown",
    ),
    invalid(
        "launchPermission",
        "owneronly",
        "all, specifiedUsers, ownerOnly",
        id="launch-permission-case",
    ),
    rejection(
        {"imageSource": "public", "launchPermission": "ownerOnly"},
        {},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        "Parameter launchPermission is only valid with imageSource 'private'",
        id="launch-permission-public",
    ),
    rejection(
        {"launchPermission": "all"},
        {"ids": ["img-a"]},
        InvalidArgument,
        400,
        "INVALID_ARGUMENT",
        "Parameter launchPermission is only valid with imageSource 'private'",
        id="launch-permission-ids-only",
    ),
    rejection(
        {"imageSource": "public"},
        {"instanceIds": [f"i-{number}" for number in range(101)]},
        OutOfRange,
        400,
        "OUT_OF_RANGE",
        "InstanceIds out of range: 101 ids given, at most 100 allowed",
        id="instance-ids-101",
    ),
]

PARAMETERS = "region_id, values, arrays, error, http_status, status, message"


def check_rejection(
    region_id: str,
    values: dict[str, str],
    arrays: dict[str, list[str]],
    profile: Profile,
    error: type[ApiError],
    http_status: int,
    status: str,
    message: str,
) -> None:
    with pytest.raises(ApiError) as raised:
        parse(values, arrays, profile=profile, region_id=region_id)

    assert type(raised.value) is error
    assert raised.value.http_status == http_status
    assert raised.value.status == status
    assert raised.value.message == message


@BOTH_PROFILES
@pytest.mark.parametrize(PARAMETERS, REJECTED_IN_BOTH_PROFILES)
def test_parse_params_rejected(
    profile: Profile,
    region_id: str,
    values: dict[str, str],
    arrays: dict[str, list[str]],
    error: type[ApiError],
    http_status: int,
    status: str,
    message: str,
) -> None:
    check_rejection(region_id, values, arrays, profile, error, http_status, status, message)


@pytest.mark.parametrize(PARAMETERS, REJECTED_IN_COC_VM)
def test_parse_params_rejected_coc_vm(
    region_id: str,
    values: dict[str, str],
    arrays: dict[str, list[str]],
    error: type[ApiError],
    http_status: int,
    status: str,
    message: str,
) -> None:
    check_rejection(region_id, values, arrays, Profile.COC_VM, error, http_status, status, message)


@pytest.mark.parametrize(PARAMETERS, REJECTED_IN_VM)
def test_parse_params_rejected_vm(
    region_id: str,
    values: dict[str, str],
    arrays: dict[str, list[str]],
    error: type[ApiError],
    http_status: int,
    status: str,
    message: str,
) -> None:
    check_rejection(region_id, values, arrays, Profile.VM, error, http_status, status, message)


@pytest.mark.parametrize(
    ("values", "arrays", "message"),
    [
        pytest.param(
            {"imageSource": "bogus", "architecture": "bogus"},
            {},
            f"Invalid parameter imageSource: 'bogus' is not one of {SOURCE_CHOICES}",
            id="source-before-architecture",
        ),
        pytest.param(
            {"imageSource": "public", "architecture": "bogus", "pageNumber": "0"},
            {},
            "Invalid parameter architecture: 'bogus' is not one of x86_64, arm64",
            id="architecture-before-page-number",
        ),
        pytest.param(
            {"imageSource": "public", "pageNumber": "0", "pageSize": "abc"},
            {},
            "PageNumber out of range",
            id="page-number-before-page-size",
        ),
        pytest.param(
            {"imageSource": "public", "pageSize": "5"},
            {"ids": image_ids(101)},
            "PageSize out of range",
            id="page-size-before-ids",
        ),
        pytest.param(
            {"imageSource": "public", "offline": "bogus"},
            {"ids": image_ids(101)},
            "Ids out of range: 101 ids given, at most 100 allowed",
            id="ids-before-vm-filters",
        ),
    ],
)
def test_parse_params_first_fault_reported(
    values: dict[str, str], arrays: dict[str, list[str]], message: str
) -> None:
    with pytest.raises(ApiError) as raised:
        parse(values, arrays, profile=Profile.VM)

    assert raised.value.message == message


@BOTH_PROFILES
def test_parse_params_region_before_source(profile: Profile) -> None:
    with pytest.raises(ApiError) as raised:
        parse({}, profile=profile, region_id="eu-west-1")

    assert raised.value.message == "Invalid region 'eu-west-1'"


@BOTH_PROFILES
def test_parse_params_defaults(profile: Profile) -> None:
    params = parse({"imageSource": "public"}, profile=profile)

    assert params == DescribeImagesParams(
        region_id=REGION,
        image_source="public",
        ids=(),
        platform=None,
        image_name=None,
        architecture=None,
        page_number=1,
        page_size=20,
    )


@BOTH_PROFILES
def test_parse_params_empty_values_absent(profile: Profile) -> None:
    values = {
        "imageSource": "public",
        "platform": "",
        "imageName": "",
        "architecture": "",
        "pageNumber": "",
        "pageSize": "",
        "offline": "",
        "status": "",
        "launchPermission": "",
    }

    params = parse(values, profile=profile)

    assert params == parse({"imageSource": "public"}, profile=profile)


@BOTH_PROFILES
def test_parse_params_other_region(profile: Profile) -> None:
    params = parse({"imageSource": "public"}, profile=profile, region_id="cn-east-2")

    assert params.region_id == "cn-east-2"


@BOTH_PROFILES
@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("public", "public"),
        ("PUBLIC", "public"),
        ("Private", "private"),
        ("ThirdParty", "thirdparty"),
        ("COMMUNITY", "community"),
    ],
)
def test_parse_params_source_case_folded(profile: Profile, text: str, source: str) -> None:
    assert parse({"imageSource": text}, profile=profile).image_source == source


def test_parse_params_shared_in_vm() -> None:
    assert parse({"imageSource": "SHARED"}, profile=Profile.VM).image_source == "shared"


@BOTH_PROFILES
def test_parse_params_ids_without_source(profile: Profile) -> None:
    params = parse({}, {"ids": ["img-a"]}, profile=profile)

    assert params.image_source is None
    assert params.ids == ("img-a",)


@BOTH_PROFILES
@pytest.mark.parametrize(
    ("text", "architecture"),
    [("x86_64", "x86_64"), ("X86_64", "x86_64"), ("arm64", "arm64"), ("ARM64", "arm64")],
)
def test_parse_params_architecture_case_folded(
    profile: Profile, text: str, architecture: str
) -> None:
    params = parse({"imageSource": "public", "architecture": text}, profile=profile)

    assert params.architecture == architecture


@BOTH_PROFILES
@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1", 1),
        ("2147483647", 2147483647),
        ("+3", 3),
        ("007", 7),
        ("0" * 30 + "5", 5),
    ],
)
def test_parse_params_page_number(profile: Profile, text: str, number: int) -> None:
    params = parse({"imageSource": "public", "pageNumber": text}, profile=profile)

    assert params.page_number == number


@BOTH_PROFILES
@pytest.mark.parametrize(("text", "size"), [("10", 10), ("100", 100), ("+050", 50), ("20", 20)])
def test_parse_params_page_size(profile: Profile, text: str, size: int) -> None:
    params = parse({"imageSource": "public", "pageSize": text}, profile=profile)

    assert params.page_size == size


@BOTH_PROFILES
def test_parse_params_ids_deduplicated_in_order(profile: Profile) -> None:
    params = parse({}, {"ids": ["img-b", "img-a", "", "img-b", "img-c", "img-a"]}, profile=profile)

    assert params.ids == ("img-b", "img-a", "img-c")


@BOTH_PROFILES
def test_parse_params_hundred_ids(profile: Profile) -> None:
    params = parse({}, {"ids": image_ids(100)}, profile=profile)

    assert len(params.ids) == 100


@BOTH_PROFILES
def test_parse_params_duplicate_ids_count_once(profile: Profile) -> None:
    params = parse({}, {"ids": [*image_ids(100), "img-0", "img-99"]}, profile=profile)

    assert len(params.ids) == 100


@BOTH_PROFILES
def test_parse_params_text_filters_keep_spelling(profile: Profile) -> None:
    values = {"imageSource": "public", "platform": "centOS", "imageName": " CentOS 7.9 64位 "}

    params = parse(values, profile=profile)

    assert params.platform == "centOS"
    assert params.image_name == " CentOS 7.9 64位 "


def test_parse_params_vm_filters_ignored_in_coc_vm() -> None:
    values = {
        "imageSource": "public",
        "offline": "bogus",
        "status": "bogus",
        "rootDeviceType": "bogus",
        "launchPermission": "bogus",
        "bootMode": "bogus",
        "serviceCode": "vm",
    }
    arrays = {"instanceIds": [f"i-{number}" for number in range(150)]}

    params = parse(values, arrays, profile=Profile.COC_VM)

    assert params == parse({"imageSource": "public"}, profile=Profile.COC_VM)


@pytest.mark.parametrize(
    ("text", "offline"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
    ],
)
def test_parse_params_offline_boolean(text: str, offline: bool) -> None:
    params = parse({"imageSource": "public", "offline": text}, profile=Profile.VM)

    assert params.offline is offline


def test_parse_params_offline_absent_vm() -> None:
    assert parse({"imageSource": "public"}, profile=Profile.VM).offline is None


def test_parse_params_vm_filters() -> None:
    values = {
        "imageSource": "private",
        "status": "ERROR",
        "rootDeviceType": "localDisk",
        "launchPermission": "specifiedUsers",
        "bootMode": "UEFI",
        "serviceCode": "market_x",
    }
    arrays = {"instanceIds": ["i-2", "i-1", "i-2", ""]}

    params = parse(values, arrays, profile=Profile.VM)

    assert params.status == "error"
    assert params.root_device_type == "localDisk"
    assert params.launch_permission == "specifiedUsers"
    assert params.boot_mode == "uefi"
    assert params.service_code == "market_x"
    assert params.instance_ids == ("i-2", "i-1")


def test_parse_params_hundred_instance_ids_vm() -> None:
    arrays = {"instanceIds": [f"i-{number}" for number in range(100)]}

    params = parse({"imageSource": "public"}, arrays, profile=Profile.VM)

    assert len(params.instance_ids) == 100
