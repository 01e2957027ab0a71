"""`python -m local_stack up`: the by-hand local stack starts, serves, and Ctrl-C stops all of it."""

from __future__ import annotations

import os
import re
import signal
import time

import requests

from local_stack import free_port
from local_stack.ports import listeners
from tests.local_stack.up import start_up, stop


def test_up_prints_urls_serves_the_demo_flow_and_stops_on_ctrl_c():
    """Started the way a script's background job is, with SIGINT ignored: Ctrl-C (SIGINT) must still
    stop it and everything it started, not leave the stack running."""
    port = free_port()
    proc = start_up("--workers", "2", "--demo", "--port", str(port), sigint_ignored=True)
    lines = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(lines)
        assert "Ctrl-C stops everything" in text, text
        assert f"router        http://127.0.0.1:{port}" in text
        ports = [int(p) for p in re.findall(r"^(?:editor|worker-\d)\s+http://127\.0\.0\.1:(\d+)", text, re.M)]
        assert len(ports) == 3
        answered = {
            requests.get(f"http://127.0.0.1:{port}/red-nodes/hello", timeout=10).json()["workerPort"] for _ in range(4)
        }
        assert answered == set(ports[1:])

        own_mongo = re.findall(r"^mongodb\s+mongodb://127\.0\.0\.1:(\d+)/\?directConnection", text, re.M)
        assert own_mongo or os.environ.get("MONGO_TEST_URL"), text

        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(60) == 0
        for p in [port, *ports]:
            with requests.Session() as s:
                try:
                    s.get(f"http://127.0.0.1:{p}/healthz", timeout=2)
                    raise AssertionError(f"port {p} still answers after Ctrl-C")
                except requests.ConnectionError:
                    pass
        # Nothing it started is left listening: router, editor, workers, database.
        assert {p: listeners(p) for p in [port, *ports, *map(int, own_mongo)] if listeners(p)} == {}
    finally:
        stop(proc)
