"""The deployment as its editor's cluster API shows it (docs/cluster.md), over HTTPS through the router
or load balancer: the Source the status command uses with `--url`.

It logs in at the first request (Node-RED's token endpoint, POST /auth/token: the user's own permissions)
and revokes that token when done; with `--token` it uses the given one as it is. Answers are the same
data MongoSource reads or computes: the status records, the newest revision and the leader lease (the
report is rendered from them by report.py, as from MongoDB), and the history, diff and rollback the
editor computed with the rules listing.py keeps for MongoDB (both run nodered_image/test/cluster_rules.json).

Errors: no answer, or an answer that is no JSON of the API's, is Unreachable (exit 3); a refused login
or permission is DENIED (exit 5); an unknown revision (404) or one that cannot be loaded (409) is
NoSuchRevision (exit 4); a request the API calls malformed (400) is USAGE (exit 2).
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
from typing import Any

import requests

from . import exits
from .clock import parse_iso
from .source import RolledBack, Snapshot, Unreachable

CLIENT_ID = "node-red-admin"  # the client Node-RED's own admin tools log in as


class HttpSource:
    def __init__(self, url: str, timeout: float, *, user: str | None, token: str | None, password_variable: str):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.user = user
        self.token = token
        self.own_token = False  # logged in here: revoked at close()
        self.password_variable = password_variable
        self.session = requests.Session()

    def __enter__(self) -> HttpSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.own_token and self.token:
            try:
                self.session.post(
                    self.url + "/auth/revoke", json={"token": self.token}, headers=self._auth(), timeout=self.timeout
                )
            except requests.RequestException:
                pass  # the token expires on its own
        self.token = None
        self.session.close()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _password(self) -> str:
        password = os.environ.get(self.password_variable)
        if password:
            return password
        try:
            return getpass.getpass(f"password of {self.user} at {self.url}: ")
        except (EOFError, KeyboardInterrupt):
            raise exits.CommandError("no password given", exits.USAGE) from None

    def _post_login(self, password: str) -> requests.Response:
        # scope "": a token with the user's own permissions (a read-only user can still look).
        return self._send(
            "POST",
            "/auth/token",
            "log in to",
            data={
                "client_id": CLIENT_ID,
                "grant_type": "password",
                "scope": "",
                "username": self.user or "",
                "password": password,
            },
        )

    def login(self) -> None:
        r = self._post_login(self._password())
        if r.status_code == 429:
            after = r.headers.get("Retry-After")
            raise exits.CommandError(
                f"the editor refused the login: too many failed logins from this address"
                f"{f' (try again in {after} s)' if after else ''}",
                exits.DENIED,
            )
        if r.status_code in (400, 401, 403):
            raise exits.CommandError(
                f"the editor at {self.url} refused the login of {self.user!r}: wrong user name or password",
                exits.DENIED,
            )
        body = self._json(r, "log in to")
        token = body.get("access_token") if isinstance(body, dict) else None
        if r.status_code != 200 or not isinstance(token, str):
            raise self._unexpected(r, "log in to")
        self.token, self.own_token = token, True

    def _send(self, method: str, path: str, action: str, **kw) -> requests.Response:
        try:
            return self.session.request(method, self.url + path, timeout=self.timeout, allow_redirects=False, **kw)
        except requests.RequestException as exc:
            raise Unreachable(action, "the editor", self.url, exc) from exc

    def _json(self, r: requests.Response, action: str) -> Any:
        try:
            return r.json()
        except ValueError:
            raise self._unexpected(r, action) from None

    def _unexpected(self, r: requests.Response, action: str) -> Unreachable:
        """An answer that is not the API's: an error, a proxy's page, another server."""
        detail = _error_of(r) or next(iter((r.text or "").strip().splitlines()), "")
        return Unreachable(
            action, "the editor", self.url, f"HTTP {r.status_code}" + (f": {detail[:200]}" if detail else "")
        )

    def _api(self, method: str, path: str, action: str, **kw) -> Any:
        """An API call's JSON answer; errors as the module's docstring says."""
        if self.token is None:
            self.login()
        r = self._send(method, "/cluster" + path, action, headers=self._auth(), **kw)
        if path in ("/deploy", "/diff") and method == "POST":
            _files_refusal(r)
        if r.status_code in (401, 403):
            why = _error_of(r) or "refused"
            if r.status_code == 401 and not self.own_token:
                why = "the token is not (or no longer) valid: log in again"
            raise exits.CommandError(f"the editor refused: {why}", exits.DENIED)
        if r.status_code in (404, 409) and _error_of(r) and path not in ("/status", "/audit"):
            raise exits.NoSuchRevision(_error_of(r) or "no such revision")
        if r.status_code == 400 and _error_of(r):  # e.g. a --limit above what the API lists
            raise exits.CommandError(f"the editor refused the request: {_error_of(r)}", exits.USAGE)
        if r.status_code >= 300:
            raise self._unexpected(r, action)
        return self._json(r, action)

    def snapshot(self, action: str = "read status from") -> Snapshot:
        body = self._api("GET", "/status", action)
        try:
            return _snapshot(body)
        except (KeyError, TypeError, AttributeError) as exc:
            raise Unreachable(action, "the editor", self.url, f"an answer of another shape ({exc!r})") from exc

    def history(self, limit: int, stale_after: float) -> dict:
        return self._api("GET", "/revisions", "read from", params={"limit": limit, "staleAfter": f"{stale_after:g}"})

    def diff(self, a: int, b: int) -> dict:
        return self._api("GET", "/diff", "read from", params={"from": a, "to": b})

    def rollback(self, rev: int, by: str) -> RolledBack:
        body = self._api("POST", "/rollback", "write to", json={"rev": rev})
        return RolledBack(int(body["rev"]), str(body.get("savedBy") or by))

    def audit(self, since: str, limit: int) -> dict:
        return self._api("GET", "/audit", "read from", params={"since": since, "limit": limit})

    def workers(self) -> tuple[list[dict], dt.datetime]:
        snap = self.snapshot("read from")
        return [r for r in snap.instances if r.get("role") == "worker"], snap.now

    def revision(self, rev: int) -> dict:
        """Revision `rev`'s summary, flows and credentials' outline (GET /cluster/revisions/{rev})."""
        return self._api("GET", f"/revisions/{rev}", "read from")

    def files_diff(self, body: dict) -> dict:
        """What deploying flows from files would change (POST /cluster/diff)."""
        return self._api("POST", "/diff", "read from", json=body)

    def files_deploy(self, body: dict) -> dict:
        """A new revision with flows from files, saved by the logged-in user (POST /cluster/deploy)."""
        return self._api("POST", "/deploy", "write to", json=body)


def _error_of(r: requests.Response) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        err = body.get("error_description") or body.get("error") or body.get("message")
        return str(err) if err else None
    return None


def _files_refusal(r: requests.Response) -> None:
    """A deploy or diff of files the editor refused: FlowsRefused naming the nodes (400: the flows), the
    lock (409 flows_locked: only `pulumi up` deploys this stack's flows) as DENIED, stored credentials it
    cannot read (another 409) as NoSuchRevision."""
    if r.status_code not in (400, 409):
        return
    try:
        body = r.json()
    except ValueError:
        return
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return
    if r.status_code == 409 and body.get("code") == "flows_locked":
        raise exits.CommandError(f"the editor refused: {body['error']}", exits.DENIED)
    if r.status_code == 409:  # the running revision's credentials cannot be read
        raise exits.NoSuchRevision(body["error"])
    nodes = body.get("nodes")
    raise exits.FlowsRefused(body["error"], [n for n in nodes if isinstance(n, str)] if isinstance(nodes, list) else [])


_RECORD_DATES = ("startedAt", "lastSeen")


def _snapshot(body: dict) -> Snapshot:
    """The status records, newest revision and lease as MongoSource reads them, from GET /cluster/status."""
    records = []
    for i in body["instances"]:
        rec = {
            k: v for k, v in i.items() if k not in ("id", "lastSeenAgeSeconds", "stale", "behind", "problem", "note")
        }
        rec["_id"] = i["id"]
        for k in _RECORD_DATES:
            rec[k] = parse_iso(i.get(k))
        records.append(rec)
    newest = None
    if body["newest"] is not None:
        n = body["newest"]
        newest = {
            "_id": n["rev"],
            "rev": n["rev"],
            "savedAt": parse_iso(n.get("savedAt")),
            "savedBy": n.get("savedBy"),
            "deployType": n.get("deployType"),
            "rollbackOf": n.get("rollbackOf"),
            "restarts": body.get("restarts") or 0,
            "restartedAt": parse_iso(body.get("restartedAt")),
            "restartedBy": body.get("restartedBy"),
        }
    lease = body.get("lease")
    if lease is not None:
        lease = {**lease, "expiresAt": parse_iso(lease.get("expiresAt"))}
    now = parse_iso(body["now"])
    if now is None:
        raise KeyError("now")
    return Snapshot(instances=records, newest=newest, lease=lease, now=now)
