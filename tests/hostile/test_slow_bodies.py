"""Request bodies sent a byte at a time from one address, through the router.

Guards: nothing limited how many requests one address had in flight on the flow paths, and nginx's
client_body_timeout times only the gap between two reads: 8,500 POSTs announcing 100,000 bytes and
sending one every ~8 s held 8,134 of nginx's connections ("4096 worker_connections are not enough"),
and no other address got a flow or the editor for 40 s. Now one address has at most
WORKER_CONNECTIONS / 8 requests in flight on any path (nginx/render.py); more get 429 at once, and
everyone else is served throughout."""

from __future__ import annotations

import threading
from collections import Counter

from local_stack import LocalStack
from local_stack.raw_client import answered, open_slow_body, read_reply, send, trickle
from nginx.render import per_address_limits

from .conftest import ErrorLog, wait_until

ATTACKER, OTHER = "127.0.0.71", "127.0.0.72"
EXTRA = 64  # slow bodies beyond the per-address limit


class OtherClient:
    """GETs from another address, back to back while it runs: a flow endpoint and the editor."""

    def __init__(self, stack: LocalStack):
        self.port, self.root = stack.router.port, stack.http_node_root
        self.statuses: dict[str, Counter] = {"flow": Counter(), "editor": Counter()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.statuses["flow"][send(self.port, "GET", f"{self.root}/who", source=OTHER, timeout=5).status] += 1
            self.statuses["editor"][send(self.port, "GET", "/", source=OTHER, timeout=5).status] += 1

    def done(self) -> int:
        return sum(self.statuses["editor"].values())

    def __enter__(self) -> OtherClient:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


def test_slow_bodies_from_one_address_get_429_beyond_its_share_and_everyone_else_is_served(stack):
    limit = per_address_limits()["all"]
    port, root = stack.router.port, stack.http_node_root
    log = ErrorLog(stack)
    socks = []
    try:
        with OtherClient(stack) as other:
            socks = [open_slow_body(port, f"{root}/size", ATTACKER) for _ in range(limit + EXTRA)]
            refused = wait_until(
                # Well within client_body_timeout (10 s), after which nginx would close them all.
                lambda: (got := answered(socks)) and len(got) >= EXTRA and got,
                5,
                f"{EXTRA} slow bodies refused",
            )
            replies = [read_reply(s, timeout=5) for s in refused]
            assert [r.status for r in replies] == [429] * EXTRA
            assert replies[0].json()["error"] == "too many requests or connections from this address"
            held = [s for s in socks if s not in refused]
            # The attacker's other paths share the limit: the editor too is refused to it.
            assert send(port, "GET", "/", source=ATTACKER).status == 429
            # The held ones stay, as long as bytes keep coming; the other address is served meanwhile.
            for _ in range(3):
                assert len(trickle(held)) == limit
                done = other.done()
                wait_until(lambda: other.done() >= done + 10, 10, "GETs from another address")  # noqa: B023
            assert answered(held) == []
        assert set(other.statuses["flow"]) == {200}, other.statuses
        assert set(other.statuses["editor"]) == {200}, other.statuses
    finally:
        for s in socks:
            s.close()

    entries = stack.router.access_log(
        until=lambda es: sum(e["remote_addr"] == ATTACKER and e["limit_conn"] == "REJECTED" for e in es) >= EXTRA + 1
    )
    rejected = [e for e in entries if e["remote_addr"] == ATTACKER and e["limit_conn"] == "REJECTED"]
    assert all(e["status"] == "429" and e["upstream_addr"] == "" for e in rejected)
    assert log.upstream_failures() == []
