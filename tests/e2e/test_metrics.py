"""GET /metrics on every instance's own port (Prometheus text), never through the router.

Guards: no instance had a metrics endpoint (requests, swaps, revisions, sync lag, database, memory
could not be watched), and /metrics through the router reached the editor."""

from __future__ import annotations

import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from local_stack.flows import endpoint, tab


def scrape(instance, **headers) -> dict[str, list]:
    """name of each sample -> [(labels, value)], parsed by Prometheus' own text parser."""
    r = requests.get(instance.url + "/metrics", timeout=5, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples.setdefault(s.name, []).append((s.labels, s.value))
    return samples


def value(samples: dict, name: str, **labels) -> float:
    found = [v for lbl, v in samples.get(name, []) if all(lbl.get(k) == str(x) for k, x in labels.items())]
    return sum(found)


@pytest.fixture(scope="module")
def counted(shared_stack):
    """A flow with a route of its own: GET <root>/count-<id>/:n answers n, 404 for n = 'missing'."""
    path = f"/count-{uuid.uuid4().hex[:8]}/:n"
    func = "if (msg.req.params.n === 'missing') { msg.statusCode = 404; } msg.payload = msg.req.params.n;\nreturn msg;"
    rev = shared_stack.deploy([tab("tab-count", "count"), *endpoint("tab-count", "count", path, "get", func)])
    return shared_stack, path, rev


def test_worker_metrics_count_the_requests_it_served_by_route_method_and_status(counted):
    stack, route, rev = counted
    worker = stack.workers[0]
    before = scrape(worker)
    base = worker.node_url + route.replace("/:n", "")
    for i in range(7):
        assert requests.get(f"{base}/{i}", timeout=5).status_code == 200
    for _ in range(2):
        assert requests.get(f"{base}/missing", timeout=5).status_code == 404
    for _ in range(3):
        assert requests.get(worker.node_url + "/no-such-route-here", timeout=5).status_code == 404
    after = scrape(worker)

    def added(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"route": route, "method": "GET", "status": "200"}
    assert added("nodered_http_requests_total", **ok) == 7
    assert added("nodered_http_requests_total", route=route, method="GET", status="404") == 2
    assert added("nodered_http_requests_total", route="unmatched", method="GET", status="404") == 3
    assert added("nodered_http_request_duration_seconds_count", **ok) == 7
    assert added("nodered_http_request_duration_seconds_bucket", le="+Inf", **ok) == 7
    # Every series names the instance and its role.
    assert {lbl["instance_id"] for lbl, _ in after["nodered_http_requests_total"]} == {worker.instance_id}
    assert {lbl["role"] for lbl, _ in after["nodered_http_requests_total"]} == {"worker"}


def test_worker_metrics_report_revisions_reloads_sync_lag_database_loop_and_memory(counted):
    stack, _, rev = counted
    worker = stack.workers[1]
    s = scrape(worker)
    health = worker.healthz()
    assert value(s, "nodered_flows_revision") == health["rev"] == rev
    assert value(s, "nodered_flows_latest_revision") == health["latestRev"]
    assert value(s, "nodered_flows_ready") == 1
    assert value(s, "nodered_db_reachable") == 1
    assert value(s, "nodered_flows_reloads_total", cause="reload", result="started") >= 1
    assert value(s, "nodered_flows_reload_duration_seconds_count", cause="reload") >= 1
    assert value(s, "nodered_flows_sync_lag_seconds_count") >= 1
    assert 0 <= value(s, "nodered_flows_last_sync_lag_seconds") < 60
    for name in (
        "nodered_gate_requests_held_total",
        "nodered_gate_requests_drained_total",
        "nodered_gate_requests_held",
    ):
        assert name in s
    assert value(s, "process_resident_memory_bytes") > 10_000_000
    assert "nodejs_eventloop_lag_seconds" in s and "nodejs_heap_size_used_bytes" in s


def test_the_editor_has_metrics_too(shared_stack):
    s = scrape(shared_stack.editor)
    assert {lbl["role"] for lbl, _ in s["nodered_flows_revision"]} == {"editor"}
    assert value(s, "nodered_db_reachable") == 1


@pytest.mark.parametrize("path", ["/metrics", "/METRICS", "/Metrics/"])
def test_metrics_are_not_reachable_through_the_router(shared_stack, path):
    r = requests.get(shared_stack.url + path, timeout=5)
    assert r.status_code == 404
    assert "nodered_" not in r.text and "process_" not in r.text


def test_an_instance_refuses_metrics_to_requests_that_came_through_a_proxy(shared_stack):
    """A load balancer that sends other spellings of the path on (the ALB's paths are case-sensitive)
    still gets nothing: it always adds X-Forwarded-For."""
    worker = shared_stack.workers[0]
    for headers in ({"X-Forwarded-For": "203.0.113.9"}, {"X-Nodered-Router": "nginx"}, {"Forwarded": "for=x"}):
        r = requests.get(worker.url + "/METRICS", timeout=5, headers=headers)
        assert r.status_code == 404 and "nodered_" not in r.text
