"""The router keeps every instance's /metrics off the public side, and shows its own counters on an
internal port: real nginx with the rendered config, stub workers and a stub editor.

Guards: /metrics reached the editor through the router (everything the router has no rule for goes
there), exposing flow routes, revisions and memory to anyone who can reach the router."""

import pytest

from local_stack import LocalRouter, StubUpstream
from nginx.render import STATUS_PATH, STATUS_PORT, render


@pytest.fixture(scope="module")
def stack(nginx_bin):
    workers = [StubUpstream(f"worker{i}") for i in range(1, 3)]
    editor = StubUpstream("editor")
    router = LocalRouter([w.address for w in workers], editor.address, nginx_bin=nginx_bin).start()
    yield router, workers, editor
    router.close()
    for stub in [*workers, editor]:
        stub.stop()


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/METRICS", "/Metrics?x=1", "/%6Detrics", "/metrics/x"])
def test_metrics_are_answered_404_by_the_router_itself(stack, http, path):
    router, workers, editor = stack
    before = [len(s.seen) for s in (*workers, editor)]
    reply = http.get(router.url + path)
    assert reply.status_code == 404
    assert [len(s.seen) for s in (*workers, editor)] == before, "the request reached an instance"


def test_paths_that_only_start_like_metrics_still_reach_the_editor(stack, http):
    router, _, editor = stack
    assert http.get(router.url + "/metricsx").json()["id"] == "editor"


def test_router_counters_on_their_own_port_only(stack, http):
    router, _, editor = stack
    http.get(router.url + "/red-nodes/a")
    status = http.get(router.status_url)
    assert status.status_code == 200
    assert status.text.startswith("Active connections:") and "server accepts handled requests" in status.text
    # Not on the public port: there the path is the editor's like any other.
    public = http.get(router.url + STATUS_PATH)
    assert "Active connections" not in public.text and public.json()["id"] == "editor"
    # Nothing else on the status port.
    assert http.get(f"http://127.0.0.1:{router.status_port}/").status_code == 404


def test_container_config_serves_the_counters_on_the_internal_port():
    conf = render(["10.0.0.3:1880"], "10.0.0.2:1880")
    assert f"listen 0.0.0.0:{STATUS_PORT};" in conf
    with pytest.raises(ValueError, match="status_port"):
        render(["10.0.0.3:1880"], "10.0.0.2:1880", listen_port=8081, status_port=8081)
