"""The flows' endpoints as an API on the local stack, as the deploy targets configure it (docs/api.md): the
stack config's `http` object, `httpUsers` and `httpTokens`, and `image.functionModules` baked the way the
Dockerfile bakes them (nodered_image/bake-function-modules.sh).

    api = HttpApi(auth={"rules": [{"path": "/orders/*", "type": "bearer"}]}, tokens={"shop": "..."},
                  rate_limit={"perSecond": 20, "burst": 40}, function_modules_dir=bake(dir, [spec]))
    LocalStack(api=api)

The values are the stack config's shapes, which are the image's variables' JSON (nodered_image/contract.json):
they reach the instances unchanged and the instances check them. The rate limit goes to nginx, as on the
docker target, or with rate_limit_at="instances" to every worker, as on the aws target.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .node_lines import line
from .nodered import IMAGE_DIR

BAKE_SCRIPT = IMAGE_DIR / "bake-function-modules.sh"


@dataclass
class HttpApi:
    auth: Mapping[str, Any] | None = None
    cors: Mapping[str, Any] | None = None
    rate_limit: Mapping[str, int] | None = None
    openapi: bool = False
    users: Mapping[str, str] = field(default_factory=dict)
    tokens: Mapping[str, str] = field(default_factory=dict)
    rate_limit_at: str = "router"  # "router" (docker target: nginx) or "instances" (aws target)
    function_modules_dir: str | os.PathLike | None = None

    def __post_init__(self) -> None:
        if self.rate_limit_at not in ("router", "instances"):
            raise ValueError(f"rate_limit_at: 'router' or 'instances', not {self.rate_limit_at!r}")

    def plain(self) -> dict[str, Any]:
        """The plain variables (nodered_contract.environment's extra; it keeps each role's own)."""
        env: dict[str, Any] = {"NODE_RED_HTTP_OPENAPI": "true" if self.openapi else "false"}
        for name, value in (("NODE_RED_HTTP_AUTH", self.auth), ("NODE_RED_HTTP_CORS", self.cors)):
            if value is not None:
                env[name] = value
        if self.rate_limit is not None and self.rate_limit_at == "instances":
            env["NODE_RED_HTTP_RATE_LIMIT"] = self.rate_limit
        if self.function_modules_dir is not None:
            env["NODE_RED_FUNCTION_MODULES_DIR"] = str(self.function_modules_dir)
        return env

    def secrets(self) -> dict[str, str | None]:
        """nodered_contract.secret_values' http_users and http_tokens (None: not set)."""
        return {
            "http_users": json.dumps(dict(self.users)) if self.users else None,
            "http_tokens": json.dumps(dict(self.tokens)) if self.tokens else None,
        }

    def router_rate_limit(self) -> tuple[int, int] | None:
        """(per second, burst) for nginx/render.py, when the router applies the limit."""
        if self.rate_limit is None or self.rate_limit_at != "router":
            return None
        return self.rate_limit["perSecond"], self.rate_limit.get("burst", self.rate_limit["perSecond"])


def bake_function_modules(directory: str | os.PathLike, specs: Sequence[str]) -> Path:
    """Bakes npm specs (a registry name, or a local package folder) into `directory` with the image's own
    script and the npm of the image's Node.js line; returns the folder for NODE_RED_FUNCTION_MODULES_DIR."""
    env = line().env(os.environ)  # its bin folder (node, npm) first on PATH
    done = subprocess.run(
        ["sh", str(BAKE_SCRIPT), str(directory), *specs], env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"bake-function-modules.sh failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return Path(directory)
