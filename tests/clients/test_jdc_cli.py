"""describeImages through the `jdc` CLI (JDCLOUD3 signing), against a real cocvm server.

jdc exits 0 whatever the server replies, so the tests judge each call by the JSON it prints:
`{"request_id": ..., "error": ..., "result": ...}`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from clients_support import (
    JDC,
    REGION,
    REQUEST_ID,
    image_ids,
    import_images,
    listed_public_ids,
    private_image,
    public_image_id,
    require_client,
    unique_pin,
)

from conftest import Credentials, RunningServer

pytestmark = pytest.mark.clients


def run_jdc(home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run jdc with HOME set to `home`, where it keeps its configuration."""
    return subprocess.run(
        [str(require_client(JDC)), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(home)},
        check=False,
    )


def configure_jdc(home: Path, server: RunningServer, credentials: Credentials) -> Path:
    """Add a current jdc profile in `home` that calls `server` over http with `credentials`."""
    configured = run_jdc(
        home,
        "configure",
        "add",
        "--profile",
        "local",
        "--access-key",
        credentials.access_key,
        "--secret-key",
        credentials.secret_key,
        "--region-id",
        REGION,
        "--endpoint",
        server.endpoint,
        "--scheme",
        "http",
    )
    assert configured.returncode == 0, configured.stderr
    assert "Configure successfully!" in configured.stdout
    return home


def describe_images(home: Path, *arguments: str) -> dict[str, Any]:
    """Run `jdc vm describe-images` in REGION and return the JSON object it prints."""
    completed = run_jdc(home, "vm", "describe-images", "--region-id", REGION, *arguments)
    assert completed.returncode == 0, completed.stderr
    try:
        printed: dict[str, Any] = json.loads(completed.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"jdc printed no JSON object:\n{completed.stdout}\n{completed.stderr}")
    return printed


@pytest.fixture(scope="module")
def jdc_home(coc_vm_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A jdc configuration that uses the server's test key."""
    return configure_jdc(tmp_path_factory.mktemp("jdc"), coc_vm_server, coc_vm_server.credentials)


def test_jdc_public_page(jdc_home: Path) -> None:
    expected = listed_public_ids()

    printed = describe_images(jdc_home, "--image-source", "public", "--page-size", "10")

    assert printed["error"] is None
    assert REQUEST_ID.match(printed["request_id"])
    assert len(printed["result"]["images"]) == 10
    assert image_ids(printed["result"]["images"]) == expected[:10]
    assert printed["result"]["totalCount"] == len(expected)


def test_jdc_ids_list(jdc_home: Path) -> None:
    requested_ids = [public_image_id("CentOS 7.9 64位"), public_image_id("Ubuntu 22.04 64位")]

    printed = describe_images(jdc_home, "--ids", json.dumps(requested_ids))

    assert printed["error"] is None
    assert sorted(image_ids(printed["result"]["images"])) == sorted(requested_ids)
    assert printed["result"]["totalCount"] == 2


def test_jdc_page_size_error(jdc_home: Path) -> None:
    printed = describe_images(jdc_home, "--image-source", "public", "--page-size", "5")

    assert printed["error"] == {
        "status": "OUT_OF_RANGE",
        "code": 400,
        "message": "PageSize out of range",
    }
    assert printed["result"] is None
    assert REQUEST_ID.match(printed["request_id"])


def test_jdc_private_own_only(coc_vm_server: RunningServer, tmp_path: Path) -> None:
    owner = coc_vm_server.create_key(unique_pin("jdc-owner"))
    own_images = [
        private_image(owner.pin, "2024-06-02 10:00:00"),
        private_image(owner.pin, "2024-06-01 10:00:00"),
    ]
    other_images = [private_image(unique_pin("jdc-other"), "2024-06-03 10:00:00")]
    import_images(coc_vm_server, [*own_images, *other_images])
    home = configure_jdc(tmp_path, coc_vm_server, owner)

    printed = describe_images(home, "--image-source", "private")

    assert printed["error"] is None
    assert image_ids(printed["result"]["images"]) == image_ids(own_images)
    assert printed["result"]["totalCount"] == 2


def test_jdc_wrong_secret(coc_vm_server: RunningServer, tmp_path: Path) -> None:
    key = coc_vm_server.credentials
    home = configure_jdc(
        tmp_path, coc_vm_server, Credentials(key.access_key, key.secret_key[::-1], key.pin)
    )

    printed = describe_images(home, "--image-source", "public")

    assert printed["error"] == {
        "status": "ACCESS_ERROR",
        "code": 401,
        "message": "sign result is not same",
    }
    assert printed["result"] is None


def test_jdc_bare_id(jdc_home: Path) -> None:
    image_id = public_image_id("CentOS 7.9 64位")

    printed = describe_images(jdc_home, "--ids", image_id)

    assert printed["error"] is None
    assert image_ids(printed["result"]["images"]) == [image_id]
