"""render(): bad input is refused with a message saying what is wrong."""

import re

import pytest

from nginx.render import HEALTH_PATH, WORKER_CONNECTIONS, per_address_limits, render
from nodered_contract import VARIABLES

EDITOR = "10.0.0.2:1880"
WORKERS = ["10.0.0.3:1880", "10.0.0.4:1880"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": []}, "at least one"),
        ({"workers": "10.0.0.3:1880"}, "list"),
        ({"workers": ["worker-1:1880"]}, "not an IP address"),
        ({"workers": ["10.0.0.3"]}, "host:port"),
        ({"workers": ["10.0.0.3:0"]}, "1 to 65535"),
        ({"workers": ["10.0.0.3:70000"]}, "1 to 65535"),
        ({"workers": ["10.0.0.3:1880", "10.0.0.3:1880"]}, "more than once"),
        ({"editor": "editor:1880"}, "not an IP address"),
        ({"editor": ""}, "host:port"),
        ({"http_node_root": "red-nodes"}, "start with '/'"),
        ({"http_node_root": ""}, "start with '/'"),
        ({"http_node_root": "/"}, "not '/' itself"),
        ({"http_node_root": "//"}, "not '/' itself"),
        ({"http_node_root": "/red nodes"}, "segments"),
        ({"http_node_root": "/api;return 200"}, "segments"),
        ({"http_node_root": "/api//v1"}, "empty segment"),
        ({"http_node_root": "/red-nodes/"}, "must not end with '/'"),
        ({"http_node_root": "/red-nodes/.."}, "'..' segment"),
        ({"http_node_root": "/Comms"}, "must not start with '/Comms'"),
        ({"http_node_root": "/_router"}, "must not start with '/_router'"),
        ({"listen_port": 0}, "listen_port"),
        ({"listen_port": 70000}, "listen_port"),
        ({"listen_port": "8080"}, "listen_port"),
        ({"runtime_dir": "/tmp/dir with space"}, "runtime_dir"),
        ({"runtime_dir": "/tmp/$x"}, "runtime_dir"),
        ({"listen_host": "localhost"}, "not an IP address"),
        ({"worker_connections": 512}, "worker_connections"),
        ({"worker_connections": 100_000}, "worker_connections"),
        ({"worker_connections": "4096"}, "worker_connections"),
        ({"worker_connections": True}, "worker_connections"),
        ({"rate_limit": (0, 10)}, "rate_limit perSecond"),
        ({"rate_limit": (10, -1)}, "rate_limit burst"),
        ({"rate_limit": ("20r/s", 10)}, "rate_limit perSecond"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(kwargs, message):
    args = {"workers": WORKERS, "editor": EDITOR, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        render(**args)


def test_every_worker_is_listed_by_address_in_the_upstream():
    workers = [f"10.0.1.{i}:1880" for i in range(1, 11)]
    conf = render(workers, EDITOR)
    upstream = re.search(r"upstream nodered_workers \{(.*?)\}", conf, re.S).group(1)
    assert re.findall(r"^\s*server (\S+)", upstream, re.M) == workers


def test_ipv6_addresses_are_bracketed():
    conf = render(["[fd00::3]:1880"], "[fd00::2]:1880")
    assert "server [fd00::3]:1880 " in conf
    assert "server [fd00::2]:1880;" in conf


def test_docker_config_logs_to_stdout_and_keeps_image_paths():
    conf = render(WORKERS, EDITOR)
    assert "access_log /dev/stdout router_json;" in conf
    assert "error_log stderr" in conf
    assert "listen 0.0.0.0:8080;" in conf
    assert not re.search(r"^\s*(pid|\w+_temp_path)\b", conf, re.M)


def test_runtime_dir_holds_pid_temp_and_logs(tmp_path):
    conf = render(WORKERS, EDITOR, runtime_dir=str(tmp_path), listen_port=18080)
    for line in ("pid", "client_body_temp_path", "proxy_temp_path", "access_log", "error_log"):
        assert re.search(rf'^\s*{line} "{re.escape(str(tmp_path))}/', conf, re.M), line
    assert "listen 127.0.0.1:18080;" in conf


def test_the_routers_own_path_cannot_be_the_node_root():
    """The router answers its health path itself: a node root there would never reach the workers."""
    first = HEALTH_PATH.split("/")[1]
    with pytest.raises(ValueError, match="must not start with"):
        render(WORKERS, EDITOR, http_node_root=f"/{first}")


def test_nginx_closes_idle_upstream_connections_before_any_node_red_keepalive():
    """A worker closing an idle connection nginx is about to reuse makes nginx answer 502: every keep-alive
    the image accepts (NODE_RED_KEEPALIVE_SECONDS, nodered_image/contract.json) must outlast nginx's."""
    conf = render(WORKERS, EDITOR)
    upstreams = "".join(re.findall(r"^\s*upstream \w+ \{(.*?)\}", conf, re.M | re.S))
    timeouts = [int(s) for s in re.findall(r"^\s*keepalive_timeout (\d+)s;", upstreams, re.M)]
    assert len(timeouts) == 2 and max(timeouts) < VARIABLES["NODE_RED_KEEPALIVE_SECONDS"].minimum


def server_level(conf: str) -> str:
    """The main server block up to its first location: what every location inherits."""
    start = conf.index("\n    server {")
    return conf[start : re.compile(r"^\s*location ", re.M).search(conf, start).start()]


def locations(conf: str) -> dict[str, str]:
    """Each location's pattern -> its block (no location nests another here)."""
    return {
        m.group(1).strip(): m.group(2) for m in re.finditer(r"^\s*location ([^{]+)\{(.*?)^\s*\}", conf, re.M | re.S)
    }


@pytest.mark.parametrize("worker_connections", [WORKER_CONNECTIONS, 1024, 16384])
def test_every_path_limits_requests_in_flight_per_address_below_a_worker_processs_connections(worker_connections):
    """A slow body from one address held one of nginx's connections per request with no limit on the
    flow paths: 8,000 of them from one address filled worker_connections and nobody else got through.
    Every location now has the per-address limit (its own limit_conn directives repeat it, as nginx
    inherits none into a level that sets some), derived from worker_connections."""
    conf = render(WORKERS, EDITOR, worker_connections=worker_connections)
    limits = per_address_limits(worker_connections)
    # Each request in flight holds at most two connections (client and upstream).
    assert 2 * limits["all"] <= worker_connections // 4
    assert limits["comms"] <= limits["editor"] <= limits["all"]
    assert f"worker_connections {worker_connections};" in conf
    server = server_level(conf)
    assert re.search(rf"^\s*limit_conn router_conns {limits['all']};", server, re.M)
    blocks = locations(conf)
    assert len(blocks) > 10
    for pattern, block in blocks.items():
        own = re.findall(r"^\s*limit_conn (\w+) (\d+);", block, re.M)
        if own:
            assert ("router_conns", str(limits["all"])) in own, pattern
    assert re.findall(r"limit_conn router_editor_conns (\d+);", conf) == [str(limits["editor"])] * 2
    assert re.findall(r"limit_conn router_comms_conns (\d+);", conf) == [str(limits["comms"])]


def test_no_connection_outside_a_request_lasts_longer_than_10_s():
    """Connections not counted per address (headers arriving, idle keep-alive, a refused body drained)
    each end within 10 s: holding many of them takes a sustained connection flood."""
    conf = render(WORKERS, EDITOR)
    server = server_level(conf)
    for directive in ("client_header_timeout", "client_body_timeout", "keepalive_timeout", "lingering_time"):
        found = re.findall(rf"^\s*{directive} (\d+)s;", server, re.M)
        assert found and int(found[0]) <= 10, directive


def test_the_flows_rate_limit_is_per_address_on_the_node_root_only():
    """http.rateLimit: one limit_req zone by client address, used by the <httpNodeRoot> location alone (the
    editor's paths keep theirs); none at all without it."""
    conf = render(WORKERS, EDITOR, rate_limit=(20, 40))
    assert "limit_req_zone $binary_remote_addr zone=router_api:10m rate=20r/s;" in conf
    found = locations(conf)
    flows = [body for head, body in found.items() if "red-nodes" in head]
    assert len(flows) == 1 and "limit_req zone=router_api burst=40 nodelay;" in flows[0]
    assert sum(body.count("router_api") for body in found.values()) == 1
    assert "router_api" not in render(WORKERS, EDITOR)
    assert "limit_req zone=router_api;" in render(WORKERS, EDITOR, rate_limit=(5, 0))  # no burst
