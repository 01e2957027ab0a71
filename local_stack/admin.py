"""The editor's admin API as a user's tooling drives it: token login, deploy, read flows.

Works against the editor's own port or through the router (base_url is whatever fronts the editor).
"""

from __future__ import annotations

import time

import requests

REVISION_HEADER = "X-Flows-Revision"  # set by the launcher on the editor's POST /flows response


class FreshSession(requests.Session):
    """A session that drops its kept-alive connections once they idled `idle_seconds`: the router closes an
    idle client connection after 10 s (nginx's keepalive_timeout), and a request sent on one at the moment
    it closes gets no answer at all, which requests does not retry for a POST (a deploy)."""

    def __init__(self, idle_seconds: float = 4.0):
        super().__init__()
        self.idle_seconds = idle_seconds
        self._last = time.monotonic()

    def request(self, *args, **kwargs) -> requests.Response:
        if time.monotonic() - self._last > self.idle_seconds:
            self.close()  # the adapters open new connections on the next request
        try:
            return super().request(*args, **kwargs)
        finally:
            self._last = time.monotonic()


class AdminClient:
    def __init__(self, base_url: str, user: str, password: str, timeout: float = 30.0, scope: str = "*"):
        """scope: what the token may do ("*": all the user may; "read": look only)."""
        self.base_url = base_url.rstrip("/")
        self.scope = scope
        self.user = user
        self.password = password
        self.timeout = timeout
        self.session = FreshSession()
        self.token: str | None = None
        self.last_flows_hash: str | None = None

    def login(self) -> str:
        """A token for this user. The router limits logins per client address (a burst of 20, then 2 a
        second): a 429 whose Retry-After is a few seconds is retried after it until `timeout` has passed,
        as a well-behaved client does; a lockout (Retry-After of minutes) or any other refusal raises."""
        deadline = time.monotonic() + self.timeout
        while True:
            r = self.session.post(
                self.base_url + "/auth/token",
                timeout=self.timeout,
                data={
                    "client_id": "node-red-admin",
                    "grant_type": "password",
                    "scope": self.scope,
                    "username": self.user,
                    "password": self.password,
                },
            )
            if r.status_code != 429:
                break
            try:
                wait = max(0.0, float(r.headers.get("Retry-After", "1")))
            except ValueError:  # an HTTP date: not sent by this router
                break
            if wait > 5 or time.monotonic() + wait > deadline:
                break
            time.sleep(wait)  # what the server asked for
        r.raise_for_status()
        self.token = r.json()["access_token"]
        return self.token

    def headers(self, **extra) -> dict:
        if self.token is None:
            self.login()
        h = {"Authorization": f"Bearer {self.token}", "Node-RED-API-Version": "v2"}
        h.update(extra)
        return h

    def deploy(self, flows: list, deployment_type: str = "full") -> int | None:
        """POST /flows; returns the storage revision the deploy was saved as (None if not reported)."""
        r = self.session.post(
            self.base_url + "/flows",
            json={"flows": flows},
            timeout=self.timeout,
            headers=self.headers(**{"Node-RED-Deployment-Type": deployment_type}),
        )
        r.raise_for_status()
        self.last_flows_hash = r.json().get("rev")
        rev = r.headers.get(REVISION_HEADER)
        return int(rev) if rev else None

    def get_flows(self) -> dict:
        """GET /flows (v2): {"rev": <hash>, "flows": [...]}."""
        r = self.session.get(self.base_url + "/flows", headers=self.headers(), timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.base_url + path, headers=self.headers(), timeout=self.timeout, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.session.post(self.base_url + path, headers=self.headers(), timeout=self.timeout, **kw)
