"""A real OpenID Connect provider on loopback, for the editor's single sign-on: oidc-provider from npm (a
devDependency of nodered_image/) run by nodered_image/test_support/oidc_provider.mjs with the image's
Node.js. One confidential client; accounts are names with their groups (its development login page
takes any password).

    with OidcProvider({"alice": ["nodered-admins"]}, redirect_uri=stack_url + "/auth/strategy/callback") as idp:
        env = idp.editor_env(editor_url=stack_url + "/")     # NODE_RED_EDITOR_OIDC, its secret, the URL
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

import requests

from .node_lines import line
from .nodered import IMAGE_DIR
from .ports import free_port

RUNNER = IMAGE_DIR / "test_support" / "oidc_provider.mjs"
CLIENT_ID = "nodered-editor"
CLIENT_SECRET = "oidc-test-client-secret-0123456789"


class OidcProvider:
    def __init__(self, accounts: dict[str, list[str]], redirect_uri: str, port: int | None = None):
        self.accounts = accounts
        self.redirect_uri = redirect_uri
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkdtemp(prefix="oidc-")) / "provider.log"
        self._log: IO[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def editor_env(self, editor_url: str, **oidc: object) -> dict[str, str]:
        """The editor's variables for this provider: groups nodered-admins and nodered-readers, the
        groups claim `groups`; `oidc` overrides or adds keys of NODE_RED_EDITOR_OIDC."""
        config = {
            "issuer": self.issuer,
            "clientId": CLIENT_ID,
            "scopes": ["openid", "profile", "groups"],
            "groupsClaim": "groups",
            "adminGroups": ["nodered-admins"],
            "readGroups": ["nodered-readers"],
            "label": "Sign in with the test provider",
            **oidc,
        }
        return {
            "NODE_RED_EDITOR_OIDC": json.dumps(config),
            "NODE_RED_EDITOR_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "NODE_RED_EDITOR_URL": editor_url,
        }

    def start(self, timeout: float = 30.0) -> OidcProvider:
        env = {
            **os.environ,
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT_URI": self.redirect_uri,
            "OIDC_ACCOUNTS": json.dumps(self.accounts),
        }
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(line().node), str(RUNNER)],
            cwd=IMAGE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the OpenID provider exited: {self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the OpenID provider did not answer within {timeout} s: {self.log_path}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stops the provider (the editor's logins then find it down); start() starts it again."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
