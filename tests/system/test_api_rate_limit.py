"""The rate limit where no nginx is in front (the aws target: NODE_RED_HTTP_RATE_LIMIT on every worker), one
worker reached straight, as the ALB reaches it: per client address, the address the worker trusts from its
proxy (the last X-Forwarded-For entry, only from NODE_RED_TRUSTED_PROXIES), as the login lockout counts.

Guards: on aws the flows' endpoints had no rate limit at all, and one client could take every worker's
capacity; a limit keyed by the proxy's own address would limit everyone at once, one keyed by a header
anyone can send would limit nobody."""

from local_stack import AdminClient
from local_stack.flows import endpoint, tab
from local_stack.http_api import HttpApi
from local_stack.raw_client import send

LIMIT = HttpApi(rate_limit={"perSecond": 2, "burst": 4}, rate_limit_at="instances")


def test_a_worker_limits_each_client_address_it_trusts_from_its_proxy(nodered_factory):
    editor = nodered_factory("editor")
    worker = nodered_factory("worker", api=LIMIT, trusted_proxies=["127.0.0.1"])
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy([tab("t", "rate"), *endpoint("t", "hi", "/hi", "get", "msg.payload = 'hi';\nreturn msg;")])
    worker.wait_ready(rev=rev)

    def get(source: str, client: str | None = None):
        headers = {"X-Forwarded-For": f"203.0.113.99, {client}"} if client else {}
        return send(worker.port, "GET", "/red-nodes/hi", headers, source=source)

    # Through the proxy: the client at the end of X-Forwarded-For is counted, burst + 1 at once.
    burst = [get("127.0.0.1", "198.51.100.7").status for _ in range(8)]
    assert burst[:5] == [200] * 5 and 429 in burst[5:], burst
    refused = get("127.0.0.1", "198.51.100.7")
    assert refused.status == 429
    assert refused.headers["retry-after"] in ("1", "2")
    assert refused.json()["error"] == "too many requests from this address" and refused.json()["requestId"]
    # Another client behind the same proxy, at the same moment, is served.
    assert [get("127.0.0.1", "198.51.100.8").status for _ in range(5)] == [200] * 5
    # A peer that is no trusted proxy is counted by its own address, whatever it claims to forward.
    spoofed = [get("127.0.0.9", f"192.0.2.{i}").status for i in range(8)]
    assert spoofed[:5] == [200] * 5 and 429 in spoofed[5:], spoofed
    # One log line for the flood, not one per refusal.
    assert worker.log_text().count("refused 429") == 1
