"""A port the local stack wants that another process holds: it fails loudly, naming the port, and never
passes for ready because that other process answers there (the user would then talk to someone else's
stack: another local stack, a left-over run, any server on that port)."""

from __future__ import annotations

import subprocess

import pytest
import requests

from local_stack import LocalRouter, LocalStack, MongoServer, PortInUse, StubUpstream
from nginx.render import HEALTH_PATH
from tests.local_stack.up import start_up, stop


@pytest.fixture
def other_server():
    """Someone else's HTTP server: answers 200 on every path, the router's health path included."""
    server = StubUpstream("someone-else")
    yield server
    server.stop()


def test_up_on_a_taken_port_exits_non_zero_naming_the_port_and_prints_no_urls(other_server):
    """`up --port P` used to print its URLs although its nginx could not bind P: the user then used
    whatever else listened there."""
    proc = start_up("--workers", "1", "--port", str(other_server.port), stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        stop(proc)  # a run that did not fail must not stay up
    assert proc.returncode != 0, out
    assert f"port {other_server.port} on 127.0.0.1 is already in use" in err, err
    assert "http://" not in out and "Ctrl-C stops everything" not in out, out


def test_local_stack_start_raises_port_in_use_for_a_taken_router_port(other_server, tmp_path):
    stack = LocalStack(workers=1, router_port=other_server.port, base_dir=tmp_path)
    try:
        with pytest.raises(PortInUse, match=f"port {other_server.port} "):
            stack.start()
    finally:
        stack.close()  # a stack that did start must not stay up
    assert stack.router is None and stack.editor is None and stack.mongo.proc is None
    assert requests.get(f"http://127.0.0.1:{other_server.port}/", timeout=5).json()["id"] == "someone-else"


@pytest.mark.parametrize("holder", ["another router", "another HTTP server"])
def test_a_router_never_reports_ready_while_another_process_answers_on_its_port(holder, nginx_bin, http):
    """The router checks the answer on its port is its own nginx's: another router gives the very
    same health answer, any HTTP server a 200."""
    worker, editor = StubUpstream("worker"), StubUpstream("editor")
    if holder == "another router":
        other = LocalRouter([worker.address], editor.address, nginx_bin=nginx_bin).start()
        stop_other = other.close
    else:
        other = StubUpstream("someone-else")
        stop_other = other.stop
    router = LocalRouter([worker.address], editor.address, port=other.port, nginx_bin=nginx_bin)
    try:
        with pytest.raises(PortInUse, match=f"port {other.port} on 127.0.0.1 is already in use"):
            router.start()
        assert not router.running()
        assert http.get(f"http://127.0.0.1:{other.port}{HEALTH_PATH}", timeout=5).status_code == 200  # theirs
    finally:
        router.close()
        stop_other()
        worker.stop()
        editor.stop()


def test_a_node_red_instance_whose_port_is_taken_fails_naming_the_port(editor, nodered_factory):
    """A worker whose port a running editor holds must not pass for ready on the editor's /healthz."""
    worker = nodered_factory("worker", port=editor.port)
    with pytest.raises(PortInUse, match=f"port {editor.port} on 127.0.0.1 is already in use"):
        worker.wait_ready(timeout=60)
    assert not worker.running()
    assert editor.healthz()["status_code"] == 200


def test_a_secantusdb_whose_port_is_taken_fails_naming_the_port(tmp_path):
    with MongoServer(storage_dir=tmp_path / "first", use_test_url=False) as first:
        second = MongoServer(storage_dir=tmp_path / "second", use_test_url=False, port=first.port)
        with pytest.raises(PortInUse, match=f"port {first.port} on 127.0.0.1 is already in use"):
            second.start()
        assert second.proc is None
        with first.client(serverSelectionTimeoutMS=5000) as c:
            assert c.admin.command("ping")["ok"] == 1


def test_starting_a_running_database_again_says_so_and_leaves_it_running(tmp_path):
    """Guards: a second start() (e.g. after `with LocalStack()`, which starts it) launched another server on
    the same port, failed with a misleading "port in use by another process" and orphaned the first one."""
    mongo = MongoServer(storage_dir=tmp_path / "data", use_test_url=False).start()
    try:
        first = mongo.proc
        with pytest.raises(RuntimeError, match="already running"):
            mongo.start()
        assert mongo.proc is first and first.poll() is None
        mongo.client().admin.command("ping")
    finally:
        mongo.stop()
