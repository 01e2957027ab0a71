"""What an instance logs: every line names the instance and its role, in one format (text, or JSON lines
with NODE_RED_LOG_FORMAT=json); a worker logs each reload with its revision and duration; errors a
catch node handles are logged; no spurious credentials warning.

Guards: Node-RED's own lines carried no instance id (logs of N workers could not be told apart), every
worker logged "Encrypted credentials not found" on every reload, caught errors were logged nowhere."""

from __future__ import annotations

import json
import re
import time

import requests

from local_stack import AdminClient
from local_stack.debug_flows import debug_flow
from local_stack.flows import marker_flow


def wait_log(instance, pattern: str, timeout: float = 10.0) -> re.Match:
    deadline = time.monotonic() + timeout
    while True:
        m = re.search(pattern, instance.log_text())
        if m:
            return m
        if time.monotonic() > deadline:
            raise AssertionError(f"{pattern!r} not in the log of {instance.instance_id}:\n{instance.log_tail()}")
        time.sleep(0.1)


def lines(instance) -> list[str]:
    return [line for line in instance.log_text().splitlines() if line.strip()]


def test_every_line_names_the_instance_and_role_and_reloads_say_revision_and_duration(nodered_factory):
    editor = nodered_factory("editor", instance_id="ed-logs")
    worker = nodered_factory("worker", instance_id="wk-logs")
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    # Two deploys of flows without credentials: the worker reloads twice.
    rev1 = admin.deploy(debug_flow())
    worker.wait_ready(rev=rev1)
    rev2 = admin.deploy(debug_flow() + marker_flow("second"))
    worker.wait_ready(rev=rev2)
    # A node error with its stack, and one a catch node handles.
    assert requests.get(worker.node_url + "/dbg/error/tag1", timeout=5).status_code == 200
    assert requests.get(worker.node_url + "/dbg/caught/tag2", timeout=5).status_code == 200

    reload = wait_log(
        worker,
        rf"running flows revision {rev2} \(was {rev1}; swapped in (\d+) ms, (\d+) ms after it was seen, "
        r"deploy -> serving \d+ ms: editor \d+, database \+ notification \d+, load \d+, swap \d+\)",
    )
    assert int(reload.group(1)) < 30_000
    wait_log(worker, r"\[catch\] error caught by catch:handler from function:fails caught: caught tag2")
    wait_log(worker, r"\[error\] \[worker wk-logs\] \[function:fails\] failed tag1")

    for inst, role in ((worker, "worker"), (editor, "editor")):
        prefix = re.compile(rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z \[\w+\] \[{role} {inst.instance_id}\] ")
        unmarked = [line for line in lines(inst) if not prefix.match(line)]
        assert unmarked == [], f"lines of {inst.instance_id} without its id and role"
        assert "Encrypted credentials not found" not in inst.log_text()
    assert "Welcome to Node-RED" in editor.log_text()  # Node-RED's own lines, in our format


def test_json_lines_on_request(nodered_factory):
    worker = nodered_factory("worker", instance_id="wk-json", extra_env={"NODE_RED_LOG_FORMAT": "json"})
    worker.wait_ready()
    entries = [json.loads(line) for line in lines(worker)]  # every line is one JSON object
    assert {(e["role"], e["instance"]) for e in entries} == {("worker", "wk-json")}
    assert all({"time", "level", "msg"} <= e.keys() for e in entries)
    assert any(e.get("source") == "storage" and "MongoDB reachable" in e["msg"] for e in entries)
    assert any(e.get("source") == "launcher" and "started as worker" in e["msg"] for e in entries)


def test_a_bad_log_format_is_refused_with_the_variable_named(nodered_factory):
    worker = nodered_factory("worker", extra_env={"NODE_RED_LOG_FORMAT": "xml"})
    assert worker.wait_exit() == 1
    assert 'NODE_RED_LOG_FORMAT must be "text" or "json", got "xml"' in worker.log_text()
