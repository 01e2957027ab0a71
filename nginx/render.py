"""The one renderer of the router's nginx.conf.

The Pulumi program (docker target) and the local stack (tests, benchmarks)
both call render(); everything that differs between those uses is a parameter
here, the config itself is nginx/nginx.conf.template.

    python -m nginx.render --editor 10.0.0.2:1880 10.0.0.3:1880 10.0.0.4:1880
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from collections.abc import Sequence
from pathlib import Path

from nodered_contract import BODY_LIMIT_MB, DEFAULT_HTTP_NODE_ROOT, HTTP_API, VARIABLES, validate_http_node_root

TEMPLATE_PATH = Path(__file__).with_name("nginx.conf.template")

# Passive failure detection for workers: this many requests without an answer
# (connection refused, closed or reset, timeout) within FAIL_TIMEOUT take a
# worker out of rotation for FAIL_TIMEOUT. A worker's HTTP answer, any status,
# never counts: it is the flow's own.
MAX_FAILS = 2
FAIL_TIMEOUT = "10s"

# The router's own liveness path (answered by nginx, for container health checks).
HEALTH_PATH = "/_router/healthz"

# The router's own counters (nginx stub_status): this path on STATUS_PORT, a port of its own that the
# docker target never publishes on the host (a scraper on the private network reads it).
STATUS_PATH = "/nginx_status"
STATUS_PORT = 8081

# Connections each nginx worker process may hold (clients and upstreams: a proxied request holds two).
# The per-address limits derive from it: one address has at most WORKER_CONNECTIONS / 8 requests in
# flight (slow bodies included), so at most a quarter of one worker process's connections even when all
# of them land on the same process; within that, the editor's paths have WORKER_CONNECTIONS / 64 and its
# /comms websocket WORKER_CONNECTIONS / 256 (512, 64 and 16 at 4096).
WORKER_CONNECTIONS = 4096
MIN_WORKER_CONNECTIONS = 1024  # below this, the editor's limits get too small for a person's browser tabs
MAX_WORKER_CONNECTIONS = 65536


def per_address_limits(worker_connections: int = WORKER_CONNECTIONS) -> dict[str, int]:
    """How many requests (connections) one client address may have open at once through the router."""
    return {
        "all": worker_connections // 8,
        "editor": worker_connections // 64,
        "comms": worker_connections // 256,
    }


# The official nginx image's unprivileged user for worker processes.
DOCKER_USER = "nginx"

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
# Characters that nginx would read as syntax or variables in a path.
_BAD_PATH_CHARS = set("\"'\\$;{}#") | {"\n", "\r", "\t", " "}


def render(
    workers: Sequence[str],
    editor: str,
    http_node_root: str = DEFAULT_HTTP_NODE_ROOT,
    listen_port: int = 8080,
    runtime_dir: str | None = None,
    listen_host: str | None = None,
    body_limit_mb: int = BODY_LIMIT_MB,
    status_port: int = STATUS_PORT,
    worker_connections: int = WORKER_CONNECTIONS,
    rate_limit: tuple[int, int] | None = None,
) -> str:
    """Return a complete nginx.conf for the router.

    workers, editor: "host:port" with host an IP address ("[v6]:port" for IPv6).
    runtime_dir=None: config for the official nginx image (logs to stdout/stderr,
    the image's pid and temp paths; components/docker/router.py delivers it).
    runtime_dir set: pid, lock, temp paths and logs (access.log, error.log) live
    there; run it with `nginx -p <runtime_dir> -c <file>`.
    listen_host: address to listen on; by default all interfaces in the
    container and loopback with a runtime_dir.
    body_limit_mb: largest request body in MiB (the instances' NODE_RED_BODY_LIMIT_MB:
    give both the same value, stack config bodyLimitMb); larger ones get 413 here.
    status_port: port of the router's own counters (STATUS_PATH), on the same address.
    worker_connections: connections per nginx worker process; the per-address limits derive from it
    (per_address_limits).
    rate_limit: (per second, burst) per client address on <httpNodeRoot> (stack config http.rateLimit:
    burst requests at once above the rate, as limit_req's nodelay burst); None: no rate limit there.
    """
    if isinstance(workers, str):
        raise ValueError("workers must be a list of 'host:port' strings, not one string")
    if not workers:
        raise ValueError("workers must list at least one 'host:port'")
    worker_addrs = [_address(w, "worker") for w in workers]
    duplicates = sorted({a for a in worker_addrs if worker_addrs.count(a) > 1})
    if duplicates:
        raise ValueError(f"workers lists the same address more than once: {', '.join(duplicates)}")
    editor_addr = _address(editor, "editor")
    root = _node_root(http_node_root)
    _port(listen_port, "listen_port")
    _body_limit(body_limit_mb)
    _port(status_port, "status_port")
    _worker_connections(worker_connections)
    api_rate = _rate_limit(rate_limit)
    limits = per_address_limits(worker_connections)
    if status_port == listen_port:
        raise ValueError(
            f"status_port must differ from listen_port ({listen_port}): the counters stay off the public port"
        )

    if runtime_dir is None:
        host = "0.0.0.0" if listen_host is None else _ip(listen_host, "listen_host")
        main_settings = [
            f"user {DOCKER_USER};",
            "error_log stderr warn;",
            "# pid file: the image's default.",
        ]
        http_settings = ["# Temp paths: the image's defaults."]
        access_log = "/dev/stdout"
    else:
        run = _runtime_dir(runtime_dir)
        host = "127.0.0.1" if listen_host is None else _ip(listen_host, "listen_host")
        main_settings = [
            f'pid "{run}/nginx.pid";',
            f'lock_file "{run}/nginx.lock";',
            f'error_log "{run}/error.log" warn;',
        ]
        if os.geteuid() == 0:
            # Started as root, nginx would run its workers as nobody, who may
            # not reach the runtime dir; keep them as the invoking user.
            main_settings.insert(0, "user root;")
        http_settings = [
            f'client_body_temp_path "{run}/client_body_temp";',
            f'proxy_temp_path "{run}/proxy_temp";',
            f'fastcgi_temp_path "{run}/fastcgi_temp";',
            f'uwsgi_temp_path "{run}/uwsgi_temp";',
            f'scgi_temp_path "{run}/scgi_temp";',
        ]
        access_log = f'"{run}/access.log"'

    listen = f"[{host}]:{listen_port}" if ":" in host else f"{host}:{listen_port}"
    status_listen = f"[{host}]:{status_port}" if ":" in host else f"{host}:{status_port}"
    values = {
        "main_settings": "\n".join(main_settings),
        "http_settings": "\n".join("    " + line for line in http_settings),
        "access_log": access_log,
        "worker_servers": "\n".join(
            f"        server {a} max_fails={MAX_FAILS} fail_timeout={FAIL_TIMEOUT};" for a in worker_addrs
        ),
        "editor": editor_addr,
        "listen": listen,
        "status_listen": status_listen,
        "http_node_root_regex": root.replace(".", r"\."),
        "body_limit": f"{body_limit_mb}m",
        "body_limit_text": f"{body_limit_mb} MiB",
        "body_limit_bytes": str(body_limit_mb * 1024 * 1024),
        "worker_connections": str(worker_connections),
        # Each connection is a file descriptor, and so is each file a request buffers to disk.
        "worker_rlimit_nofile": str(4 * worker_connections),
        "conns_per_address": str(limits["all"]),
        "editor_conns_per_address": str(limits["editor"]),
        "comms_conns_per_address": str(limits["comms"]),
        "api_rate_zone": (
            f"    limit_req_zone $binary_remote_addr zone=router_api:10m rate={api_rate[0]}r/s;" if api_rate else ""
        ),
        "api_rate_limit": _api_rate_limit(api_rate),
    }
    return _fill(TEMPLATE_PATH.read_text(), values)


def _fill(template: str, values: dict[str, str]) -> str:
    used = set(_PLACEHOLDER.findall(template))
    missing = used - values.keys()
    unused = values.keys() - used
    if missing or unused:
        raise RuntimeError(f"template and renderer disagree: missing {sorted(missing)}, unused {sorted(unused)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _address(value: str, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} address must be a 'host:port' string, got {value!r}")
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", value.strip())
    if not m:
        raise ValueError(f"{what} address {value!r} must be 'host:port' (IPv6 as '[addr]:port')")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    ip = _ip(host, f"{what} address {value!r}")
    _port(port, f"{what} address {value!r}")
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _ip(host: str, what: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(
            f"{what}: {host!r} is not an IP address; the router lists instances by address "
            "because nginx resolves names only once, at start"
        ) from None


def _port(port: int, what: str) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{what}: port must be an integer from 1 to 65535, got {port!r}")


def _body_limit(mb: int) -> None:
    bounds = VARIABLES["NODE_RED_BODY_LIMIT_MB"]
    low, high = bounds.minimum or 1, bounds.maximum or 1024
    if isinstance(mb, bool) or not isinstance(mb, int) or not low <= mb <= high:
        raise ValueError(f"body_limit_mb: must be an integer from {low} to {high} (MiB), got {mb!r}")


def _worker_connections(n: int) -> None:
    low, high = MIN_WORKER_CONNECTIONS, MAX_WORKER_CONNECTIONS
    if isinstance(n, bool) or not isinstance(n, int) or not low <= n <= high:
        raise ValueError(f"worker_connections: must be an integer from {low} to {high}, got {n!r}")


def _rate_limit(rate_limit: tuple[int, int] | None) -> tuple[int, int] | None:
    # The image's bounds (contract.json httpApi.rateLimit), as the stack config checks them.
    if rate_limit is None:
        return None
    bounds = HTTP_API["rateLimit"]
    per_second, burst = rate_limit
    for what, n in (("perSecond", per_second), ("burst", burst)):
        low, high = bounds[what]["min"], bounds[what]["max"]
        if isinstance(n, bool) or not isinstance(n, int) or not low <= n <= high:
            raise ValueError(f"rate_limit {what}: must be an integer from {low} to {high}, got {n!r}")
    return per_second, burst


def _api_rate_limit(rate: tuple[int, int] | None) -> str:
    if rate is None:
        return "            # No per-client request rate on the flows' paths (stack config http.rateLimit)."
    # nginx refuses burst=0: no burst is limit_req without one.
    burst = f" burst={rate[1]} nodelay" if rate[1] else ""
    return f"            limit_req zone=router_api{burst};"


def _node_root(root: str) -> str:
    # The image's rule (nodered_image/contract.json): segments of unreserved URL characters only, so
    # the root carries no nginx or regex syntax into the location regex, and no path the editor serves.
    try:
        return validate_http_node_root(root)
    except ValueError as exc:
        raise ValueError(f"http_node_root {root!r} {exc}") from None


def _runtime_dir(path: str) -> str:
    run = os.path.abspath(os.fspath(path))
    bad = sorted(set(run) & _BAD_PATH_CHARS)
    if bad:
        raise ValueError(f"runtime_dir {run!r} must not contain {''.join(bad)!r}")
    return run


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nginx.render", description="Print the router's nginx.conf.")
    parser.add_argument("workers", nargs="+", help="worker host:port")
    parser.add_argument("--editor", required=True, help="editor host:port")
    parser.add_argument("--http-node-root", default=DEFAULT_HTTP_NODE_ROOT)
    parser.add_argument("--listen-port", type=int, default=8080)
    parser.add_argument("--runtime-dir", default=None)
    parser.add_argument("--body-limit-mb", type=int, default=BODY_LIMIT_MB)
    args = parser.parse_args(argv)
    try:
        conf = render(
            args.workers,
            args.editor,
            args.http_node_root,
            args.listen_port,
            args.runtime_dir,
            body_limit_mb=args.body_limit_mb,
        )
        print(conf, end="")
    except ValueError as e:
        parser.error(str(e))


if __name__ == "__main__":
    main()
