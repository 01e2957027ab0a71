"""A failing worker is routed around; a request that may have run a flow is not resent.

Each test gets its own nginx: which worker nginx holds as failed is state that
must not leak from one test into the next.
"""

import pytest

from local_stack import LocalRouter
from nginx.render import MAX_FAILS

REQUESTS = 30


@pytest.fixture
def three_workers(nginx_bin, make_stubs):
    """Three worker stubs and an editor stub; call with the stubs set up to start nginx."""
    workers = make_stubs(3)
    editor = make_stubs(1, "editor")[0]
    routers = []

    def start():
        router = LocalRouter([w.address for w in workers], editor.address, nginx_bin=nginx_bin).start()
        routers.append(router)
        return router

    yield workers, start
    for router in routers:
        router.close()


def tried(router, stub):
    """Logged requests that tried `stub`, once this test's REQUESTS requests are all logged."""
    logged = router.access_log(until=lambda entries: len(entries) >= REQUESTS)
    return [e for e in logged if stub.address in e["upstream_addr"].split(", ")]


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


def test_worker_closing_the_connection_without_an_answer_is_routed_around_for_get(three_workers, http):
    """The launcher's signal while it is not serving: nginx tries the next worker, then skips it."""
    workers, start = three_workers
    bad = workers[2]
    bad.close_without_answer = True
    router = start()
    replies = [http.get(f"{router.url}/red-nodes/x") for _ in range(REQUESTS)]
    assert [r.status_code for r in replies] == [200] * REQUESTS
    assert {r.json()["id"] for r in replies} == {workers[0].name, workers[1].name}
    attempts = tried(router, bad)
    assert bad.requests_for("GET") and attempts, "the closing worker was never tried"
    assert all(e["status"] == "200" and e["upstream_status"].startswith("502, ") for e in attempts)
    assert len(bad.requests_for("GET")) <= MAX_FAILS


def test_post_is_not_resent_after_a_worker_closed_the_connection(three_workers, http):
    """It reached the worker, which may have run the flow: the client gets nginx's 502, once. (So the
    launcher answers a POST it cannot serve with a 503 instead of closing.)"""
    workers, start = three_workers
    bad = workers[1]
    bad.close_without_answer = True
    router = start()
    replies = [http.post(f"{router.url}/red-nodes/orders", json={"n": i}) for i in range(3)]
    assert sorted(r.status_code for r in replies) == [200, 200, 502]
    assert len(bad.requests_for("POST")) == 1
    assert sum(len(w.requests_for("POST")) for w in workers) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_flows_own_5xx_reaches_the_client_and_the_worker_stays_in_rotation(three_workers, http, status):
    """A flow answers 503 when its own dependency is down: that is its answer, not a dead worker."""
    workers, start = three_workers
    bad = workers[2]
    bad.status = status
    router = start()
    replies = [http.get(f"{router.url}/red-nodes/x") for _ in range(REQUESTS)]
    from_bad = [r for r in replies if r.json()["id"] == bad.name]
    # Round robin keeps sending the worker its share; nothing is resent elsewhere.
    assert len(from_bad) == len(bad.requests_for("GET")) == REQUESTS // 3
    assert [r.status_code for r in from_bad] == [status] * len(from_bad)
    assert sorted(r.status_code for r in replies) == [200] * (REQUESTS - len(from_bad)) + [status] * len(from_bad)
    assert all(e["upstream_status"] == str(status) for e in tried(router, bad))


def test_every_flow_answering_503_leaves_every_worker_in_rotation(three_workers, http):
    """One failing dependency behind every worker: clients see the flows' 503s, and once the
    dependency is back the very next requests are answered, not refused with 502 for fail_timeout."""
    workers, start = three_workers
    for w in workers:
        w.status = 503
    router = start()
    replies = [http.get(f"{router.url}/red-nodes/x") for _ in range(REQUESTS)]
    assert [r.status_code for r in replies] == [503] * REQUESTS
    assert all(len(w.requests_for("GET")) == REQUESTS // 3 for w in workers)
    for w in workers:
        w.status = 200
    replies = [http.get(f"{router.url}/red-nodes/x") for _ in range(6)]
    assert [r.status_code for r in replies] == [200] * 6
    assert {r.json()["id"] for r in replies} == {w.name for w in workers}


@pytest.mark.parametrize("status", [500, 502, 503])
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
