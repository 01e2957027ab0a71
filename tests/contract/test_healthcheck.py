"""nodered_image/healthcheck.js, the probe every container health check runs (Dockerfile HEALTHCHECK,
docker target, ECS task definitions), against a small HTTP server on loopback.

Guards: an instance reported healthy while it answers 503 or nothing, and a hung instance whose check
hangs too (Docker and ECS then count a timeout, not the failure the script must report itself)."""

import http.server
import socket
import subprocess
import threading
import time

import pytest

import nodered_contract as contract

from .node import IMAGE, node

SCRIPT = IMAGE / "healthcheck.js"
TIMEOUT_S = contract.CONTRACT["health"]["timeoutMs"] / 1000


class Answers(http.server.BaseHTTPRequestHandler):
    """GET <path> answers the status `statuses` gives it (404 otherwise); every path asked is kept."""

    statuses: dict[str, int] = {}
    asked: list[str] = []

    def do_GET(self):
        self.asked.append(self.path)
        self.send_response(self.statuses.get(self.path, 404))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    Answers.asked = []
    # A short poll interval: shutdown() waits up to one (0.5 s by default) for the loop to notice.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check(port: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [node(), str(SCRIPT), *args], env={"PORT": str(port)}, capture_output=True, text=True, timeout=TIMEOUT_S + 10
    )


@pytest.mark.parametrize(
    "args,statuses,code",
    [
        ((), {"/healthz": 200, "/livez": 503}, 0),  # readiness by default
        (("readiness",), {"/healthz": 204}, 0),
        (("readiness",), {"/healthz": 503, "/livez": 200}, 1),
        (("liveness",), {"/livez": 200, "/healthz": 503}, 0),
        (("liveness",), {"/livez": 503, "/healthz": 200}, 1),
        (("readiness",), {"/healthz": 301}, 1),
        (("readiness",), {"/healthz": 500}, 1),
    ],
)
def test_exit_code_follows_the_status_of_the_probed_path(server, args, statuses, code):
    Answers.statuses = statuses
    done = check(server.server_address[1], *args)
    assert done.returncode == code, done.stderr
    probe = args[0] if args else "readiness"
    assert Answers.asked == [contract.READINESS_PATH if probe == "readiness" else contract.LIVENESS_PATH]


def test_nothing_listening_is_unhealthy():
    done = check(closed_port(), "readiness")
    assert done.returncode == 1
    assert "ECONNREFUSED" in done.stderr


def test_a_server_that_never_answers_is_unhealthy_once_the_timeout_is_up():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        started = time.monotonic()
        done = check(listener.getsockname()[1], "liveness")
        took = time.monotonic() - started
    assert done.returncode == 1
    assert f"no answer within {int(TIMEOUT_S * 1000)} ms" in done.stderr
    assert took >= TIMEOUT_S  # it waited for the answer as long as the contract says, then gave up


def test_an_unknown_probe_is_refused():
    done = check(closed_port(), "startup")
    assert done.returncode == 1 and "usage" in done.stderr
