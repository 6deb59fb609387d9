"""User-defined networks through the Docker API: Debian's docker CLI and docker-py against portside's socket, with
real bridges, and names answered by the engine's DNS responder to busybox inside the containers. The engine's
resolv.conf names only a loopback resolver: nothing is asked outside the host."""

from __future__ import annotations

import json
import re
import subprocess

import docker.errors
import pytest
from support.wait import eventually

pytestmark = pytest.mark.integration

NETWORK_KEYS = ["Attachable", "ConfigFrom", "ConfigOnly", "Containers", "Created", "Driver", "EnableIPv6", "IPAM",
                "Id", "Ingress", "Internal", "Labels", "Name", "Options", "Scope"]


@pytest.fixture(scope="module")
def api(docker_api):
    """The service, with its containers' upstream resolver on loopback (read when the first network is made)."""
    resolv = docker_api.ps.root / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    settings = json.loads((docker_api.ps.root / "engine.json").read_text())
    (docker_api.ps.root / "engine.json").write_text(json.dumps({**settings, "resolv_conf": str(resolv)}))
    return docker_api


def leftovers(api, bridges: list[str]) -> list[str]:
    """What removed networks could leave (bridges, nftables tables, the DNS responder), once the root's
    processes other than the service itself have ended (``network_leftovers`` would wait for the service too)."""
    from support.engineroot import monitor_pids

    def others() -> list[int]:
        return [pid for pid in monitor_pids(api.ps.root) if pid != api.process.pid]
    try:
        eventually(lambda: not others(), timeout=10, what="the root's processes to end")
    except AssertionError:
        pass  # reported below
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout.split()
    found = [f"bridge {b}" for b in bridges if f": {b}:" in links]
    found += [f"nft table {b}" for b in bridges if f"portside_{b}" in tables]
    return found + [f"process {pid}" for pid in others()]


def bridge_of(api, name: str) -> str:
    return json.loads(api.docker("network", "inspect", name).stdout)[0]["Options"]["com.docker.network.bridge.name"]


def test_the_docker_cli_creates_lists_inspects_and_removes_networks(api) -> None:
    made = api.docker("network", "create", "--label", "tier=front", "--subnet", "10.251.7.0/24",
                      "napi-front").stdout.strip()
    bridges = [bridge_of(api, "napi-front")]
    try:
        assert re.fullmatch(r"[0-9a-f]{64}", made)
        listing = api.docker("network", "ls").stdout.splitlines()
        assert re.split(r"\s{2,}", listing[0]) == ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]
        rows = [line.split() for line in listing[1:]]
        assert [made[:12], "napi-front", "bridge", "local"] in rows
        assert {"bridge", "host", "none"} <= {r[1] for r in rows}
        assert api.docker("network", "ls", "-q", "--no-trunc", "--filter", "label=tier=front").stdout == made + "\n"
        assert api.ps("network", "ls", "-q", "--filter", "label=tier=front").stdout == made[:12] + "\n"  # the same
        custom = api.docker("network", "ls", "--format", "{{.Name}}", "--filter", "type=custom").stdout.split()
        builtin = api.docker("network", "ls", "--format", "{{.Name}}", "--filter", "type=builtin").stdout.split()
        assert "napi-front" in custom and "bridge" not in custom and sorted(builtin) == ["bridge", "host", "none"]
        assert api.docker("network", "ls", "-q", "--filter", "name=napi-fr", "--filter", "dangling=true").stdout \
            == made[:12] + "\n"

        info = json.loads(api.docker("network", "inspect", "napi-front").stdout)[0]
        assert sorted(info) == NETWORK_KEYS
        assert (info["Id"], info["Name"], info["Driver"], info["Scope"]) == (made, "napi-front", "bridge", "local")
        assert info["IPAM"] == {"Driver": "default", "Options": None, "Config": [{"Subnet": "10.251.7.0/24"}]}
        assert info["Labels"] == {"tier": "front"} and info["Containers"] == {} and info["EnableIPv6"] is False

        taken = api.docker("network", "create", "napi-front", check=False)
        assert taken.returncode == 1 and "network with name napi-front already exists" in taken.stderr
        predefined = api.docker("network", "rm", "host", check=False)
        assert "host is a pre-defined network and cannot be removed" in predefined.stderr
        assert api.docker("network", "rm", "napi-front").stdout == "napi-front\n"
    finally:
        api.docker("network", "rm", "napi-front", check=False)
    assert leftovers(api, bridges) == []


def test_docker_py_refuses_what_portside_networks_lack_naming_the_field(api) -> None:
    client = api.client()
    for kwargs, field in (({"driver": "overlay"}, "Driver"), ({"enable_ipv6": True}, "EnableIPv6"),
                          ({"options": {"com.docker.network.bridge.name": "x"}}, "Options")):
        with pytest.raises(docker.errors.APIError) as bad:
            client.create_network("napi-bad", **kwargs)
        assert bad.value.status_code == 400 and field in bad.value.explanation
    pools = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.251.8.0/24"),
                                                  docker.types.IPAMPool(subnet="10.251.9.0/24")])
    with pytest.raises(docker.errors.APIError) as bad:
        client.create_network("napi-bad", ipam=pools)
    assert bad.value.status_code == 400 and "IPAM.Config" in bad.value.explanation
    internal = client.create_network("napi-internal", internal=True)["Id"]
    assert client.inspect_network(internal)["Internal"] is True
    client.remove_network(internal)
    with pytest.raises(docker.errors.NotFound) as missing:
        client.inspect_network("napi-none")
    assert missing.value.explanation == "network napi-none not found"
    with pytest.raises(docker.errors.APIError) as refused:
        client.remove_network("bridge")
    assert refused.value.status_code == 403
    with pytest.raises(docker.errors.APIError) as bad:
        client.networks(filters={"colour": "red"})
    assert bad.value.status_code == 400 and "colour" in bad.value.explanation
    assert "napi-bad" not in [n["Name"] for n in client.networks()]


def test_containers_on_an_api_network_resolve_each_other_by_name_and_alias(api) -> None:
    client = api.client()
    made = client.create_network("napi-app", labels={"app": "shop"}, attachable=True)
    assert made == {"Id": made["Id"], "Warning": ""}
    bridges = [bridge_of(api, "napi-app")]
    try:
        web = api.ps("run", "-d", "--name", "napi-web", "--network", "napi-app", "--network-alias", "shopfront",
                     "busybox", "sleep", "600").stdout.strip()
        api.ps("run", "-d", "--name", "napi-db", "--network", "napi-app", "busybox", "sleep", "600")
        info = client.inspect_network(made["Id"])
        assert info["Attachable"] is True and info["Labels"] == {"app": "shop"}
        endpoint = info["Containers"][web]
        assert sorted(endpoint) == ["EndpointID", "IPv4Address", "IPv6Address", "MacAddress", "Name"]
        assert endpoint["Name"] == "napi-web" and re.fullmatch(r"[0-9a-f]{64}", endpoint["EndpointID"])
        web_ip = endpoint["IPv4Address"].split("/")[0]
        assert re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", endpoint["MacAddress"])
        out = api.ps("exec", "napi-db", "sh", "-c", "nslookup shopfront; ping -c1 -W2 napi-web >/dev/null && "
                                                    "echo reached").stdout
        assert web_ip in out.split("Name:", 1)[1] and "reached" in out
        assert client.networks(filters={"dangling": "true", "name": "napi-app"}) == []

        with pytest.raises(docker.errors.APIError) as busy:
            client.remove_network("napi-app")
        assert busy.value.status_code == 409 and "has active endpoints" in busy.value.explanation
    finally:
        api.ps("rm", "-f", "napi-web", "napi-db", check=False)
        client.remove_network("napi-app")
    assert leftovers(api, bridges) == []


def test_connect_and_disconnect_through_the_api(api) -> None:
    client = api.client()
    client.create_network("napi-side", ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
        subnet="10.251.12.0/24", iprange="10.251.12.128/25", aux_addresses={"router": "10.251.12.129"})]))
    bridges = [bridge_of(api, "napi-side")]
    try:
        assert client.inspect_network("napi-side")["IPAM"]["Config"] == [{
            "Subnet": "10.251.12.0/24", "IPRange": "10.251.12.128/25",
            "AuxiliaryAddresses": {"router": "10.251.12.129"}}]
        peer = api.ps("run", "-d", "--name", "napi-peer", "--network", "napi-side", "busybox",
                      "sleep", "600").stdout.strip()
        # the range's first address is the auxiliary one: never given out
        assert client.inspect_network("napi-side")["Containers"][peer]["IPv4Address"] == "10.251.12.130/24"
        app = api.ps("run", "-d", "--name", "napi-joiner", "busybox", "sleep", "600").stdout.strip()
        api.docker("network", "connect", "--alias", "api-alias", "--ip", "10.251.12.77", "napi-side", "napi-joiner")
        endpoint = client.inspect_network("napi-side")["Containers"][app]
        assert endpoint["IPv4Address"] == "10.251.12.77/24" and endpoint["Name"] == "napi-joiner"
        out = api.ps("exec", "napi-peer", "nslookup", "api-alias").stdout
        assert "10.251.12.77" in out.split("Name:", 1)[1]
        with pytest.raises(docker.errors.APIError) as twice:
            client.connect_container_to_network("napi-joiner", "napi-side")
        assert twice.value.status_code == 403 and "already exists in network napi-side" in twice.value.explanation
        with pytest.raises(docker.errors.NotFound):
            client.connect_container_to_network("napi-nobody", "napi-side")

        client.disconnect_container_from_network("napi-joiner", "napi-side", force=True)
        assert app not in client.inspect_network("napi-side")["Containers"]
        assert "eth1" not in api.ps("exec", "napi-joiner", "ip", "-o", "link").stdout
    finally:
        api.ps("rm", "-f", "napi-peer", "napi-joiner", check=False)
    pruned = api.docker("network", "prune", "-f").stdout
    assert pruned == "Deleted Networks:\nnapi-side\n\n"
    assert leftovers(api, bridges) == []
