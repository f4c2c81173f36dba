"""describeImages through jdcloud-sdk 1.6.94, which signs with JDCLOUD2 and signs its nonce.

Releases from 1.6.95 on sign with JDCLOUD3 and leave the nonce unsigned.
Both SDK versions are the package `jdcloud_sdk`, so 1.6.94 cannot be installed in the project's
venv beside the current one. Each call runs `SDK_V2_SCRIPT` with `.clients/sdk-v2/bin/python`
and reads the JSON it prints.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from clients_support import (
    REGION,
    REQUEST_ID,
    SDK_V2_PYTHON,
    image_ids,
    import_images,
    listed_public_ids,
    private_image,
    require_client,
    unique_pin,
)

from conftest import Credentials, RunningServer

pytestmark = pytest.mark.clients

# Reads a request from standard input, sends describeImages with SDK 1.6.94 and prints one JSON
# object: the SDK's response fields and the Authorization and nonce headers it sent. With
# "replay", it then sends the captured request again, unchanged, with `requests` and adds that
# reply.
SDK_V2_SCRIPT = """
import json
import sys

import requests
from jdcloud_sdk.core.config import Config
from jdcloud_sdk.core.credential import Credential
from jdcloud_sdk.core.logger import ERROR, Logger
from jdcloud_sdk.services.vm.apis.DescribeImagesRequest import (
    DescribeImagesParameters,
    DescribeImagesRequest,
)
from jdcloud_sdk.services.vm.client.VmClient import VmClient

spec = json.load(sys.stdin)

sent = []
send = requests.request


def recording_request(method, url, **keywords):
    sent.append((method, url, keywords))
    return send(method, url, **keywords)


requests.request = recording_request

parameters = DescribeImagesParameters(spec["regionId"])
for name, value in spec["parameters"].items():
    getattr(parameters, "set" + name[0].upper() + name[1:])(value)
client = VmClient(
    Credential(spec["accessKey"], spec["secretKey"]),
    Config(spec["endpoint"], scheme="http"),
    Logger(ERROR),
)
response = client.send(DescribeImagesRequest(parameters))

error = response.error
output = {
    "requestId": response.request_id,
    "result": response.result,
    "error": None if error is None else {
        "status": error.status, "code": error.code, "message": error.message
    },
    "authorization": sent[0][2]["headers"]["Authorization"],
    "nonce": sent[0][2]["headers"]["x-jdcloud-nonce"],
}
if spec["replay"]:
    method, url, keywords = sent[0]
    replayed = send(method, url, **keywords)
    output["replay"] = {"status": replayed.status_code, "body": replayed.json()}
print(json.dumps(output))
"""


def describe_images_v2(
    server: RunningServer, credentials: Credentials, *, replay: bool = False, **parameters: Any
) -> dict[str, Any]:
    """Send describeImages in REGION with SDK 1.6.94 and return what `SDK_V2_SCRIPT` prints.

    Each keyword goes through the parameter's setter, so `pageSize=10` calls `setPageSize(10)`.
    """
    spec = {
        "endpoint": server.endpoint,
        "accessKey": credentials.access_key,
        "secretKey": credentials.secret_key,
        "regionId": REGION,
        "parameters": parameters,
        "replay": replay,
    }
    completed = subprocess.run(
        [str(require_client(SDK_V2_PYTHON)), "-c", SDK_V2_SCRIPT],
        input=json.dumps(spec).encode("utf-8"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode() + completed.stdout.decode()
    output: dict[str, Any] = json.loads(completed.stdout)
    assert output["authorization"].startswith("JDCLOUD2-HMAC-SHA256 "), output["authorization"]
    return output


def test_sdk_v2_public_listing(coc_vm_server: RunningServer) -> None:
    expected = listed_public_ids()

    output = describe_images_v2(
        coc_vm_server, coc_vm_server.credentials, imageSource="public", pageSize=10
    )

    assert output["error"] is None
    assert REQUEST_ID.match(output["requestId"])
    assert output["result"]["totalCount"] == len(expected)
    assert image_ids(output["result"]["images"]) == expected[:10]


def test_sdk_v2_private_own_only(coc_vm_server: RunningServer) -> None:
    owner = coc_vm_server.create_key(unique_pin("sdk-v2-owner"))
    own_images = [
        private_image(owner.pin, "2024-05-02 10:00:00"),
        private_image(owner.pin, "2024-05-01 10:00:00"),
    ]
    other_images = [private_image(unique_pin("sdk-v2-other"), "2024-05-03 10:00:00")]
    import_images(coc_vm_server, [*own_images, *other_images])

    own = describe_images_v2(coc_vm_server, owner, imageSource="private")
    other_by_id = describe_images_v2(coc_vm_server, owner, ids=image_ids(other_images))

    assert own["error"] is None
    assert image_ids(own["result"]["images"]) == image_ids(own_images)
    assert own["result"]["totalCount"] == 2
    assert other_by_id["error"] is None
    assert other_by_id["result"]["images"] == []
    assert other_by_id["result"]["totalCount"] == 0


def test_sdk_v2_wrong_secret(coc_vm_server: RunningServer) -> None:
    key = coc_vm_server.credentials
    wrong = Credentials(key.access_key, key.secret_key[::-1], key.pin)

    output = describe_images_v2(coc_vm_server, wrong, imageSource="public")

    assert output["result"] is None
    assert output["error"] == {
        "status": "ACCESS_ERROR",
        "code": 401,
        "message": "sign result is not same",
    }
    assert REQUEST_ID.match(output["requestId"])


def test_sdk_v2_replay_rejected(coc_vm_server: RunningServer) -> None:
    output = describe_images_v2(
        coc_vm_server, coc_vm_server.credentials, replay=True, imageSource="public"
    )
    replay = output["replay"]

    assert output["error"] is None
    assert output["result"]["totalCount"] == len(listed_public_ids())
    assert "x-jdcloud-nonce" in output["authorization"]
    assert replay["status"] == 401
    assert replay["body"]["error"]["code"] == 401
    assert replay["body"]["error"]["status"] == "ACCESS_ERROR"
    assert output["nonce"] in replay["body"]["error"]["message"]
    assert "result" not in replay["body"]
