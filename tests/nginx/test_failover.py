"""A failing worker is routed around; a request that may have run a flow is not resent.

Each test gets its own nginx: which worker nginx holds as failed is state that
must not leak from one test into the next.
"""

import pytest

from nginx.render import MAX_FAILS
from tests.nginx.nginx_process import NginxProcess

REQUESTS = 30


@pytest.fixture
def three_workers(nginx_bin, make_stubs):
    """Three worker stubs and an editor stub; call with the stubs set up to start nginx."""
    workers = make_stubs(3)
    editor = make_stubs(1, "editor")[0]
    routers = []

    def start():
        router = NginxProcess([w.address for w in workers], editor.address, nginx_bin=nginx_bin).start()
        routers.append(router)
        return router

    yield workers, start
    for router in routers:
        router.cleanup()


def tried(router, stub):
    return [e for e in router.access_log() if stub.address in e["upstream_addr"].split(", ")]


def test_stopped_worker_is_routed_around_for_get(three_workers, http):
    workers, start = three_workers
    dead = workers[1]
    dead.stop()
    router = start()
    replies = [http.get(f"{router.url}/red-nodes/x") for _ in range(REQUESTS)]
    assert [r.status_code for r in replies] == [200] * REQUESTS
    assert {r.json()["id"] for r in replies} == {workers[0].name, workers[2].name}
    # Operators see the failed attempt and the worker that answered instead.
    attempts = tried(router, dead)
    assert attempts
    assert all(e["status"] == "200" and e["upstream_status"].startswith("502, ") for e in attempts)
    # Passive health: after MAX_FAILS failures the dead worker is skipped.
    assert len(attempts) <= MAX_FAILS


def test_post_to_a_stopped_worker_goes_to_another(three_workers, http):
    """Connection refused means nothing was sent, so even a POST is safe to resend."""
    workers, start = three_workers
    workers[0].stop()
    router = start()
    replies = [http.post(f"{router.url}/red-nodes/orders", json={"n": i}) for i in range(6)]
    assert [r.status_code for r in replies] == [200] * 6
    assert sum(len(w.requests_for("POST")) for w in workers) == 6


@pytest.mark.parametrize("status", [502, 503, 504])
def test_worker_answering_gateway_errors_is_routed_around_for_get(three_workers, http, status):
    workers, start = three_workers
    bad = workers[2]
    bad.status = status
    router = start()
    replies = [http.get(f"{router.url}/red-nodes/x") for _ in range(REQUESTS)]
    assert [r.status_code for r in replies] == [200] * REQUESTS
    assert bad.requests_for("GET"), "the failing worker was never tried"
    assert all(e["upstream_status"] == f"{status}, 200" for e in tried(router, bad))


@pytest.mark.parametrize("status", [502, 503])
def test_post_is_not_resent_after_a_worker_answered(three_workers, http, status):
    workers, start = three_workers
    bad = workers[1]
    bad.status = status
    router = start()
    # Round robin: three POSTs, one per worker.
    replies = [http.post(f"{router.url}/red-nodes/orders", json={"n": i}) for i in range(3)]
    assert sorted(r.status_code for r in replies) == [200, 200, status]
    assert len(bad.requests_for("POST")) == 1
    assert sum(len(w.requests_for("POST")) for w in workers) == 3


@pytest.mark.parametrize("status", [404, 500])
def test_a_flows_own_error_reaches_the_client_unretried(three_workers, http, status):
    workers, start = three_workers
    for w in workers:
        w.status = status
    router = start()
    reply = http.get(f"{router.url}/red-nodes/missing")
    assert reply.status_code == status
    assert sum(len(w.seen) for w in workers) == 1


def test_every_worker_down_gives_502(three_workers, http):
    workers, start = three_workers
    for w in workers:
        w.stop()
    router = start()
    replies = [http.get(f"{router.url}/red-nodes/x") for _ in range(5)]
    assert [r.status_code for r in replies] == [502] * 5
    # The editor is unaffected.
    assert http.get(f"{router.url}/flows").status_code == 200
