"""describeImages through the current jdcloud-sdk (JDCLOUD3 signing), against real cocvm servers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from clients_support import (
    REGION,
    REQUEST_ID,
    image_ids,
    import_images,
    listed_public_ids,
    private_image,
    public_image_id,
    unique_pin,
)
from jdcloud_sdk.core.config import Config  # type: ignore[import-untyped]
from jdcloud_sdk.core.credential import Credential  # type: ignore[import-untyped]
from jdcloud_sdk.core.logger import ERROR, Logger  # type: ignore[import-untyped]
from jdcloud_sdk.services.vm.apis.DescribeImagesRequest import (  # type: ignore[import-untyped]
    DescribeImagesParameters,
    DescribeImagesRequest,
)
from jdcloud_sdk.services.vm.client.VmClient import VmClient  # type: ignore[import-untyped]

from conftest import Credentials, RunningServer

pytestmark = pytest.mark.clients


def describe_images(server: RunningServer, credentials: Credentials, **parameters: Any) -> Any:
    """Send describeImages in REGION with the SDK and return its JDCloudResponse.

    Each keyword goes through the parameter's setter, so `pageSize=10` calls `setPageSize(10)`.
    """
    request_parameters = DescribeImagesParameters(REGION)
    for name, value in parameters.items():
        setter = getattr(request_parameters, f"set{name[0].upper()}{name[1:]}")
        setter(value)
    # Logger(ERROR) keeps the SDK from printing every request's Authorization header.
    client = VmClient(
        Credential(credentials.access_key, credentials.secret_key),
        Config(server.endpoint, scheme="http"),
        Logger(ERROR),
    )
    return client.send(DescribeImagesRequest(request_parameters))


def made_up_access_key() -> str:
    """Return an access key id in the usual 32-character form that no server has created."""
    return uuid.uuid4().hex.upper()


def test_sdk_filters_second_page(coc_vm_server: RunningServer) -> None:
    expected = listed_public_ids(platform="CentOS", architecture="x86_64")

    response = describe_images(
        coc_vm_server,
        coc_vm_server.credentials,
        imageSource="public",
        platform="CentOS",
        architecture="x86_64",
        pageSize=10,
        pageNumber=2,
    )

    assert response.error is None
    assert REQUEST_ID.match(response.request_id)
    assert response.result["totalCount"] == len(expected)
    assert image_ids(response.result["images"]) == expected[10:20]
    assert {image["platform"] for image in response.result["images"]} == {"CentOS"}
    assert {image["architecture"] for image in response.result["images"]} == {"x86_64"}


def test_sdk_ids_exact(coc_vm_server: RunningServer) -> None:
    requested_ids = [public_image_id("CentOS 7.9 64位"), public_image_id("Ubuntu 22.04 64位")]

    response = describe_images(
        coc_vm_server, coc_vm_server.credentials, ids=[*requested_ids, "img-doesnotexist"]
    )

    assert response.error is None
    assert sorted(image_ids(response.result["images"])) == sorted(requested_ids)
    assert response.result["totalCount"] == 2


def test_sdk_chinese_image_name(coc_vm_server: RunningServer) -> None:
    response = describe_images(
        coc_vm_server, coc_vm_server.credentials, imageSource="public", imageName="CentOS 7.9 64位"
    )

    assert response.error is None
    assert image_ids(response.result["images"]) == [public_image_id("CentOS 7.9 64位")]
    assert response.result["images"][0]["name"] == "CentOS 7.9 64位"
    assert response.result["totalCount"] == 1


def test_sdk_private_own_only(coc_vm_server: RunningServer) -> None:
    owner = coc_vm_server.create_key(unique_pin("sdk-owner"))
    other = coc_vm_server.create_key(unique_pin("sdk-other"))
    own_images = [
        private_image(owner.pin, "2024-03-03 12:00:00"),
        private_image(owner.pin, "2024-03-02 12:00:00"),
        private_image(owner.pin, "2024-03-01 12:00:00"),
    ]
    other_images = [private_image(other.pin, "2024-03-04 12:00:00")]
    import_images(coc_vm_server, [*own_images, *other_images])

    own = describe_images(coc_vm_server, owner, imageSource="private")
    other_by_id = describe_images(coc_vm_server, owner, ids=image_ids(other_images))
    others_view = describe_images(coc_vm_server, other, imageSource="private")

    assert own.error is None
    assert image_ids(own.result["images"]) == image_ids(own_images)
    assert own.result["totalCount"] == 3
    assert {image["imageSource"] for image in own.result["images"]} == {"private"}
    assert other_by_id.error is None
    assert other_by_id.result["images"] == []
    assert other_by_id.result["totalCount"] == 0
    assert image_ids(others_view.result["images"]) == image_ids(other_images)


def test_sdk_wrong_secret_rejected(coc_vm_server: RunningServer) -> None:
    key = coc_vm_server.credentials
    wrong = Credentials(key.access_key, key.secret_key[::-1], key.pin)

    response = describe_images(coc_vm_server, wrong, imageSource="public")

    assert response.result is None
    assert response.error.code == 401
    assert response.error.status == "ACCESS_ERROR"
    assert response.error.message == "sign result is not same"
    assert REQUEST_ID.match(response.request_id)


def test_sdk_page_size_out_of_range(coc_vm_server: RunningServer) -> None:
    response = describe_images(
        coc_vm_server, coc_vm_server.credentials, imageSource="public", pageSize=5
    )

    assert response.result is None
    assert response.error.code == 400
    assert response.error.status == "OUT_OF_RANGE"
    assert response.error.message == "PageSize out of range"


def test_sdk_shared_with_pin(vm_server: RunningServer) -> None:
    owner_pin = unique_pin("sdk-sharer")
    reader = vm_server.create_key(unique_pin("sdk-reader"))
    shared = [
        private_image(owner_pin, "2024-04-02 08:00:00", shared_with=[reader.pin]),
        private_image(owner_pin, "2024-04-01 08:00:00", shared_with=["someone-else", reader.pin]),
    ]
    not_shared = [
        private_image(owner_pin, "2024-04-03 08:00:00"),
        private_image(owner_pin, "2024-04-04 08:00:00", shared_with=["someone-else"]),
        private_image(reader.pin, "2024-04-05 08:00:00"),
    ]
    import_images(vm_server, [*shared, *not_shared])

    response = describe_images(vm_server, reader, imageSource="shared")

    assert response.error is None
    assert image_ids(response.result["images"]) == image_ids(shared)
    assert response.result["totalCount"] == 2
    assert {image["imageSource"] for image in response.result["images"]} == {"shared"}


def test_emulator_made_up_keys(server_factory: Callable[..., RunningServer]) -> None:
    server = server_factory("--auth", "emulator")
    # The emulator takes an unknown access key id as the caller's pin.
    first_key = made_up_access_key()
    second_key = made_up_access_key()
    first_images = [private_image(first_key, "2024-02-03 09:00:00")]
    second_images = [
        private_image(second_key, "2024-02-05 09:00:00"),
        private_image(second_key, "2024-02-04 09:00:00"),
    ]
    import_images(server, [*first_images, *second_images])

    first = describe_images(
        server, Credentials(first_key, "secret one", first_key), imageSource="private"
    )
    second = describe_images(
        server, Credentials(second_key, "secret two", second_key), imageSource="private"
    )

    assert first.error is None
    assert image_ids(first.result["images"]) == image_ids(first_images)
    assert first.result["totalCount"] == 1
    assert second.error is None
    assert image_ids(second.result["images"]) == image_ids(second_images)
    assert second.result["totalCount"] == 2
