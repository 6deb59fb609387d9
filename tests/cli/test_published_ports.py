"""The bridge network through the CLI: published ports on 127.0.0.1, containers reaching each other by IP."""

from support.net import http_get


def test_published_port_answers_on_localhost(portside, tmp_path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("hello from portside\n")
    port = portside.free_port()
    portside("run", "-d", "--name", "web", "-p", f"{port}:8080", "-v", f"{tmp_path / 'www'}:/var/www:ro",
             "busybox", "httpd", "-f", "-p", "8080", "-h", "/var/www")
    assert http_get(f"http://127.0.0.1:{port}/") == "hello from portside\n"
    assert portside("port", "web").stdout == f"8080/tcp -> 0.0.0.0:{port}\n"
    assert portside.inspect("web")["NetworkSettings"]["Ports"] == {
        "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    portside("rm", "-f", "web")
    assert portside.leftovers() == []


def test_two_containers_reach_each_other_by_address(portside) -> None:
    portside("run", "-d", "--name", "server", "busybox", "sh", "-c",
             "mkdir -p /www && echo pong > /www/ping && exec httpd -f -p 80 -h /www")
    ip = portside.inspect("server")["NetworkSettings"]["IPAddress"]
    assert ip.startswith(portside.inspect("server")["NetworkSettings"]["Gateway"].rsplit(".", 1)[0])
    proc = portside("run", "--rm", "busybox", "sh", "-c",
                    f"for i in $(seq 50); do wget -qO- http://{ip}/ping && exit 0; sleep 0.1; done; exit 1")
    assert proc.stdout == "pong\n"


def test_the_host_reaches_a_container_by_address(portside) -> None:
    portside("run", "-d", "--name", "direct", "busybox", "sh", "-c",
             "mkdir -p /www && echo direct > /www/index.html && exec httpd -f -p 8000 -h /www")
    ip = portside.inspect("direct")["NetworkSettings"]["IPAddress"]
    assert http_get(f"http://{ip}:8000/") == "direct\n"


def test_network_none_has_only_loopback_and_host_shares_the_hosts(portside) -> None:
    none = portside("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net").stdout.split()
    assert none == ["lo"]
    host = portside("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net").stdout.split()
    assert _default_route_interface() in host


def _default_route_interface() -> str:
    with open("/proc/net/route") as f:
        return next(line.split()[0] for line in f if line.split()[1] == "00000000")
