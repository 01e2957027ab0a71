"""The Node-RED image's environment contract for Python: nodered_image/contract.json, loaded once.

contract.json is the one machine-readable statement of what the image reads (settings.js and
healthcheck.js read it too); this package is how the deploy targets, the router renderer, the stack
config and the local stack build environments and check values against it. Standard library only.

Constants (from contract.json):
    ROLES                   ("editor", "worker")
    PORT                    1880, the default of PORT
    DATABASE                "nodered", the default of MONGO_DB
    DEFAULT_HTTP_NODE_ROOT  "/red-nodes", the default of NODE_RED_HTTP_NODE_ROOT
    EDITOR_USER             "admin", the default of NODE_RED_EDITOR_USER
    BODY_LIMIT_MB           5, the default of NODE_RED_BODY_LIMIT_MB (MiB); its bounds: VARIABLES[...]
    LIVENESS_PATH           "/livez": the process serves HTTP (restart a container on this)
    READINESS_PATH          "/healthz": the newest flows run (send traffic on this)
    HEALTHCHECK_SCRIPT      path of healthcheck.js in the image
    DOCUMENTDB_CA_FILE      the CA bundle the image ships for TLS to Amazon DocumentDB
    DB_SETUP_SCRIPT         storage/db_setup.js in the image: one-off database setup with an admin login
    PREVIOUS_CREDENTIAL_SECRET  the optional secret of a credential key rotation (the key before)
    VARIABLES               name -> Variable, every environment variable the image reads

validate_http_node_root(value) -> str
    The value when it is a valid httpNodeRoot, else ValueError saying why (the reason reads after
    the caller's name for it: "httpNodeRoot: must not end with '/'").

environment(role, *, http_node_root, editor_user, database, port, instance_id, keepalive_seconds,
            tls_ca_file, enable_change_streams, body_limit_mb, trusted_proxies, extra) -> dict[str, str]
    The plain (non-secret) environment of one role. Each variable goes only to the roles contract.json
    gives it to (NODE_RED_EDITOR_USER and MONGO_ENABLE_CHANGE_STREAMS: the editor), optional ones
    only when given; `extra` sets any other declared plain variable by name (NODE_RED_USER_DIR, ...).
    Values are checked (ValueError).

    A variable contract.json marks `json` (NODE_RED_HTTP_AUTH, ...) takes a mapping, written as JSON.

secret_variables(role) -> tuple[str, ...]
    The secret variables a deployment may give the role (MONGO_URL, NODE_RED_CREDENTIAL_SECRET, during a
    rotation NODE_RED_PREVIOUS_CREDENTIAL_SECRET; the editor also its logins': NODE_RED_EDITOR_PASSWORD,
    _PASSWORDS, _OIDC_CLIENT_SECRET, _API_TOKEN_SECRETS; workers the flows' API NODE_RED_HTTP_USERS, _TOKENS).
    They never go in a plain environment.

HTTP_API, FUNCTION_MODULES    contract.json's httpApi and functionModules: the rules of the flows' HTTP
    API variables (auth rules, names, tokens, CORS, rate limit) and where function nodes' modules are baked

validate_flow_env_name(name) -> str
    The name when stack config may give it to the flows as an environment variable (flowEnvironment in
    contract.json: never a variable the image reads or reserves), else ValueError saying why.

secret_values(*, mongo_url, credential_secret, editor_password=None, editor_passwords=None, oidc_client_secret=None,
              api_token_secrets=None, previous_credential_secret=None, http_users=None, http_tokens=None)
              -> dict[str, T | None]
    Every secret variable some role gets, by name, from its value (a string, a Pulumi output, ...; None:
    not given, as for the logins a stack does not use, the previous credential key outside a rotation, the
    flows' API users and tokens); role_secrets(role, values) keeps exactly the given ones the contract gives
    `role` (workers never get the editor's logins; the editor never gets the flows' API users or tokens).

healthcheck_command(probe="readiness") -> list[str]
    ["CMD", "node", HEALTHCHECK_SCRIPT, probe] for a Docker or ECS health check; probe "readiness"
    (GET /healthz) or "liveness" (GET /livez).
CONTAINER_HEALTHCHECK       its timings for the Dockerfile and the docker target (HealthcheckTimings)

DB_SETUP_SECRETS            the secrets of the database setup (DB_SETUP_SCRIPT): MONGO_ADMIN_URL, MONGO_URL
DB_SETUP_DEADLINE_SECONDS   the setup has ended (exit 0 or 1) this long after it started
db_setup_environment(*, database, tls_ca_file) -> dict[str, str]
    Its plain environment, the names checked against contract.json's dbSetup.

The database's own contract (collections, singleton documents, revision rules, its defaults) is
nodered_image/database.json: nodered_contract.database.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CONTRACT_PATH = Path(__file__).resolve().parent.parent / "nodered_image" / "contract.json"
CONTRACT: dict[str, Any] = json.loads(CONTRACT_PATH.read_text())


@dataclass(frozen=True)
class Variable:
    name: str
    roles: tuple[str, ...]  # the roles that read it
    required: bool  # for those roles (unless `alternative` is given instead)
    secret: bool
    default: str | None  # as the process would see it; None: none, or computed at start
    meaning: str
    minimum: int | None = None  # integer variables: bounds
    maximum: int | None = None
    values: tuple[str, ...] | None = None  # the only values allowed
    alternative: str | None = None  # a variable that may stand in for this required one
    alternative_to: str | None = None
    json: bool = False  # its value is a JSON object


def _variable(entry: dict[str, Any]) -> Variable:
    integer = entry.get("integer")
    return Variable(
        name=entry["name"],
        roles=tuple(entry["roles"]),
        required=entry["required"],
        secret=entry["secret"],
        default=entry["default"],
        meaning=entry["meaning"],
        minimum=integer.get("min") if integer else None,
        maximum=integer.get("max") if integer else None,
        values=tuple(entry["values"]) if "values" in entry else None,
        alternative=entry.get("alternative"),
        alternative_to=entry.get("alternativeTo"),
        json=entry.get("json", False),
    )


VARIABLES: dict[str, Variable] = {e["name"]: _variable(e) for e in CONTRACT["environment"]}
ROLES: tuple[str, ...] = tuple(CONTRACT["roles"])


def _default(name: str) -> str:
    """The default contract.json gives `name`; the constants below need one."""
    default = VARIABLES[name].default
    if default is None:
        raise ValueError(f"nodered_image/contract.json: {name} has no default")
    return default


PORT = int(_default("PORT"))
DATABASE = _default("MONGO_DB")
DEFAULT_HTTP_NODE_ROOT = _default("NODE_RED_HTTP_NODE_ROOT")
EDITOR_USER = _default("NODE_RED_EDITOR_USER")
BODY_LIMIT_MB = int(_default("NODE_RED_BODY_LIMIT_MB"))
LIVENESS_PATH: str = CONTRACT["health"]["liveness"]
READINESS_PATH: str = CONTRACT["health"]["readiness"]
HEALTHCHECK_SCRIPT: str = CONTRACT["health"]["script"]
DOCUMENTDB_CA_FILE: str = CONTRACT["files"]["documentdbCaBundle"]
DB_SETUP_SCRIPT: str = CONTRACT["files"]["dbSetupScript"]
# The key before NODE_RED_CREDENTIAL_SECRET during a rotation: an optional secret every role gets when set.
PREVIOUS_CREDENTIAL_SECRET: str = VARIABLES["NODE_RED_PREVIOUS_CREDENTIAL_SECRET"].name
HTTP_API: dict[str, Any] = CONTRACT["httpApi"]
FUNCTION_MODULES: dict[str, Any] = CONTRACT["functionModules"]

_ROOT_RULE = CONTRACT["httpNodeRoot"]
_ROOT_PATTERN = re.compile(_ROOT_RULE["pattern"])
_RESERVED = frozenset(_ROOT_RULE["reservedFirstSegments"])
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_PROBES = {"readiness": READINESS_PATH, "liveness": LIVENESS_PATH}


def _root_problem(value: str) -> str | None:
    """Why `value` does not match the pattern, for the message (the pattern itself decides)."""
    if not value.startswith("/"):
        return "must start with '/'"
    if value.strip("/") == "":
        return "must name a path below '/', not '/' itself: the editor needs the other paths"
    if value.endswith("/"):
        return "must not end with '/'"
    for segment in value[1:].split("/"):
        if segment == "":
            return "must not have an empty segment ('//')"
        if segment in (".", ".."):
            return f"must not have a {segment!r} segment"
        if not _SEGMENT.fullmatch(segment):
            break
    return f"must be {_ROOT_RULE['rule']}"


def validate_http_node_root(value: Any) -> str:
    """`value` if it is a valid httpNodeRoot, else ValueError with the reason (see contract.json)."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string starting with '/', got {type(value).__name__}")
    if not _ROOT_PATTERN.fullmatch(value):
        raise ValueError(_root_problem(value))
    first = value[1:].split("/")[0]
    if first.lower() in _RESERVED:
        raise ValueError(
            f"must not start with '/{first}': the editor, the instances' health checks or the router serve "
            "that path, and the router would send it to the workers"
        )
    return value


_FLOW_ENV = CONTRACT["flowEnvironment"]
_FLOW_ENV_PATTERN = re.compile(_FLOW_ENV["pattern"])


def validate_flow_env_name(name: Any) -> str:
    """`name` if flows may get a variable of that name from stack config, else ValueError with the reason."""
    if not isinstance(name, str) or not _FLOW_ENV_PATTERN.fullmatch(name):
        why = "must be letters, digits and '_', not starting with a digit, at most 128 characters"
    elif name in VARIABLES or name in _FLOW_ENV["reservedNames"]:
        why = "is a variable the image or the platform sets itself"
    else:
        prefix = next((p for p in _FLOW_ENV["reservedPrefixes"] if name.upper().startswith(p)), None)
        if prefix is None:
            return name
        why = f"must not start with {prefix} in any case (kept for the image, Node.js and the platform)"
    raise ValueError(f"{name!r} {why}")


def _role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def _known(name: str) -> Variable:
    if name not in VARIABLES:
        raise ValueError(f"{name} is not a variable the image reads (nodered_image/contract.json)")
    variable = VARIABLES[name]
    if variable.secret:
        raise ValueError(f"{name} is a secret: it never goes in the plain environment")
    return variable


def _json_object(variable: Variable, value: Any) -> str:
    """A `json` variable's value: a mapping written as JSON, or JSON text of an object."""
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"))
    try:
        parsed = json.loads(str(value))
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f"{variable.name} must be a JSON object, got {value!r}")
    return str(value)


def _checked(variable: Variable, value: Any) -> str:
    if variable.json:
        return _json_object(variable, value)
    name, text = variable.name, str(value)
    if variable.minimum is not None:
        if isinstance(value, bool) or not re.fullmatch(r"\d+", text):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        text = str(int(text))
        if int(text) < variable.minimum or (variable.maximum is not None and int(text) > variable.maximum):
            bounds = (
                f"from {variable.minimum} to {variable.maximum}"
                if variable.maximum is not None
                else f"at least {variable.minimum}"
            )
            raise ValueError(f"{name} must be {bounds}, got {value!r}")
    if variable.values is not None and text not in variable.values:
        raise ValueError(f"{name} must be one of {', '.join(variable.values)}, got {value!r}")
    if name == "NODE_RED_HTTP_NODE_ROOT":
        try:
            validate_http_node_root(text)
        except ValueError as exc:
            raise ValueError(f"{name} {exc}") from None
    return text


def environment(
    role: str,
    *,
    http_node_root: str = DEFAULT_HTTP_NODE_ROOT,
    editor_user: str | None = None,
    database: str = DATABASE,
    port: int = PORT,
    instance_id: str | None = None,
    keepalive_seconds: int | None = None,
    tls_ca_file: str | None = None,
    enable_change_streams: bool = False,
    body_limit_mb: int | None = None,
    trusted_proxies: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The plain environment of `role`; secrets go separately (secret_variables). None leaves a
    variable unset (the image's default applies); variables contract.json does not give `role` are
    left out, so both roles can be built from the same arguments."""
    _role(role)
    wanted: dict[str, Any] = {
        "NODE_RED_ROLE": role,
        "NODE_RED_INSTANCE_ID": instance_id,
        "MONGO_DB": database,
        "NODE_RED_HTTP_NODE_ROOT": http_node_root,
        "NODE_RED_EDITOR_USER": editor_user,
        "PORT": port,
        "NODE_RED_KEEPALIVE_SECONDS": keepalive_seconds,
        "MONGO_TLS_CA_FILE": tls_ca_file,
        "MONGO_ENABLE_CHANGE_STREAMS": "true" if enable_change_streams else None,
        "NODE_RED_BODY_LIMIT_MB": body_limit_mb,
        "NODE_RED_TRUSTED_PROXIES": _proxies(trusted_proxies),
    }
    for name, value in (extra or {}).items():
        if name in wanted:
            raise ValueError(f"{name}: set it with its own parameter, not in extra")
        wanted[name] = value
    env = {}
    for name, value in wanted.items():
        variable = _known(name)
        if value is not None and role in variable.roles:
            env[name] = _checked(variable, value)
    return env


def _proxies(entries: Sequence[str] | None) -> str | None:
    """NODE_RED_TRUSTED_PROXIES from addresses or CIDRs: checked here, as the image checks them."""
    if entries is None:
        return None
    if isinstance(entries, str):
        raise ValueError("trusted_proxies must be a list of addresses or CIDRs, not one string")
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"NODE_RED_TRUSTED_PROXIES: {entry!r} is neither an IP address nor a CIDR") from None
    return ",".join(entries) or None


def secret_variables(role: str) -> tuple[str, ...]:
    """Names of the secrets a deployment may give `role`, in contract order (an alternative the targets
    never give, NODE_RED_EDITOR_PASSWORD_HASH, left out)."""
    _role(role)
    return tuple(v.name for v in VARIABLES.values() if v.secret and v.alternative_to is None and role in v.roles)


def healthcheck_command(probe: str = "readiness") -> list[str]:
    """Health check command running the image's healthcheck.js: "readiness" or "liveness"."""
    if probe not in _PROBES:
        raise ValueError(f"probe must be readiness or liveness, got {probe!r}")
    return ["CMD", "node", HEALTHCHECK_SCRIPT, probe]


@dataclass(frozen=True)
class HealthcheckTimings:
    interval_seconds: int
    timeout_seconds: int
    start_period_seconds: int
    retries: int


_TIMINGS = CONTRACT["health"]["container"]
CONTAINER_HEALTHCHECK = HealthcheckTimings(
    interval_seconds=_TIMINGS["intervalSeconds"],
    timeout_seconds=_TIMINGS["timeoutSeconds"],
    start_period_seconds=_TIMINGS["startPeriodSeconds"],
    retries=_TIMINGS["retries"],
)


def secret_values(
    *,
    mongo_url: T,
    credential_secret: T,
    editor_password: T | None = None,
    editor_passwords: T | None = None,
    oidc_client_secret: T | None = None,
    api_token_secrets: T | None = None,
    previous_credential_secret: T | None = None,
    http_users: T | None = None,
    http_tokens: T | None = None,
    require: bool = True,
) -> dict[str, T | None]:
    """Every secret variable some role may get, by name (None: not given); ValueError if the contract
    declares one not named here, or a required one has no value. The optional ones: the editor's logins, the
    previous credential key (during a rotation), NODE_RED_HTTP_USERS / _TOKENS (JSON objects). `require=False`
    lets a required one be None: the local stack starts an instance without it to see the image refuse."""
    values = {
        "MONGO_URL": mongo_url,
        "NODE_RED_CREDENTIAL_SECRET": credential_secret,
        "NODE_RED_EDITOR_PASSWORD": editor_password,
        "NODE_RED_EDITOR_PASSWORDS": editor_passwords,
        "NODE_RED_EDITOR_OIDC_CLIENT_SECRET": oidc_client_secret,
        "NODE_RED_EDITOR_API_TOKEN_SECRETS": api_token_secrets,
        PREVIOUS_CREDENTIAL_SECRET: previous_credential_secret,
        "NODE_RED_HTTP_USERS": http_users,
        "NODE_RED_HTTP_TOKENS": http_tokens,
    }
    missing = {n for role in ROLES for n in secret_variables(role)} - set(values)
    if missing:
        raise ValueError(f"no value for the secret variables {sorted(missing)}")
    unset = sorted(n for n, value in values.items() if value is None and VARIABLES[n].required)
    if unset and require:
        raise ValueError(f"the secret variables {unset} are required")
    return values


def role_secrets(role: str, available: Mapping[str, T | None]) -> dict[str, T]:
    """Of `available` (variable -> value or reference; None: not given), exactly the given secrets the
    contract gives `role`: workers never get the editor's logins; the editor never gets the flows' API users
    or tokens."""
    return {name: value for name in secret_variables(role) if (value := available.get(name)) is not None}


_DB_SETUP = CONTRACT["dbSetup"]
DB_SETUP_SECRETS: tuple[str, ...] = tuple(_DB_SETUP["secrets"])
DB_SETUP_DEADLINE_SECONDS: int = _DB_SETUP["deadlineSeconds"]


def db_setup_environment(*, database: str = DATABASE, tls_ca_file: str | None = None) -> dict[str, str]:
    """The database setup's plain environment (None leaves a variable unset: the script's default)."""
    wanted = {"MONGO_DB": database, "MONGO_TLS_CA_FILE": tls_ca_file}
    unknown = set(wanted) - set(_DB_SETUP["plain"])
    if unknown:
        raise ValueError(f"{sorted(unknown)}: not variables of the database setup (contract.json dbSetup)")
    return {name: str(value) for name, value in wanted.items() if value is not None}


__all__ = [
    "BODY_LIMIT_MB",
    "CONTAINER_HEALTHCHECK",
    "CONTRACT",
    "CONTRACT_PATH",
    "DATABASE",
    "DB_SETUP_DEADLINE_SECONDS",
    "DB_SETUP_SCRIPT",
    "DB_SETUP_SECRETS",
    "DEFAULT_HTTP_NODE_ROOT",
    "DOCUMENTDB_CA_FILE",
    "EDITOR_USER",
    "FUNCTION_MODULES",
    "HEALTHCHECK_SCRIPT",
    "HTTP_API",
    "LIVENESS_PATH",
    "PORT",
    "PREVIOUS_CREDENTIAL_SECRET",
    "READINESS_PATH",
    "ROLES",
    "VARIABLES",
    "Variable",
    "HealthcheckTimings",
    "db_setup_environment",
    "environment",
    "healthcheck_command",
    "role_secrets",
    "secret_values",
    "secret_variables",
    "validate_flow_env_name",
    "validate_http_node_root",
]
