from conftest import RunningServer


def test_describe_public_first_page(coc_vm_server: RunningServer) -> None:
    reply = coc_vm_server.get("/v1/regions/cn-north-1/images?imageSource=public")
    assert reply.status == 200
    assert len(reply.json()["result"]["images"]) == 20
