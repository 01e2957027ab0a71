"""Parse `pulumi.Config` once into the typed StackConfig; bad config becomes a RunError naming the key.

Every key the stack sets under the namespace is read: one the model does not know is refused by name
(with the known key it most resembles), as an unknown key inside an object is."""

import difflib
import json
import typing
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .model import StackConfig

NAMESPACE = "nodered-scale"
_OBJECT_KEYS = (
    "workers",
    "editor",
    "router",
    "mongo",
    "image",
    "network",
    "aws",
    "context",
    "flows",
    "flowSecrets",
    "http",
    "httpUsers",
    "httpTokens",
    "editorPasswords",
    "editorApiTokens",
)
_SCALAR_KEYS = ("target", "httpNodeRoot")
_INTEGER_KEYS = ("bodyLimitMb",)
_SECRET_KEYS = (
    "editorPassword",
    "editorOidcClientSecret",
    "credentialSecret",
    "previousCredentialSecret",
    "mongoUri",
    "mongoRootPassword",
    "mongoAppPassword",
    "mongoKeyFile",
    "flowsDeployToken",
)


_KNOWN_KEYS = (*_OBJECT_KEYS, *_SCALAR_KEYS, *_INTEGER_KEYS, *_SECRET_KEYS)


def namespace_keys() -> set[str]:
    """Every key the stack sets under the namespace, without it: the engine hands the program the whole
    stack config (PULUMI_CONFIG; under mocks, the runtime's config)."""
    given = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    return {key.removeprefix(prefix) for key in given if key.startswith(prefix)}


def _raw(config: pulumi.Config) -> dict[str, Any]:
    # A key the model does not know goes to it as it is: the model refuses it by name (extra keys forbidden).
    raw: dict[str, Any] = {key: config.get(key) for key in namespace_keys() - set(_KNOWN_KEYS)}
    for key in _OBJECT_KEYS:
        try:
            value = config.get_object(key)
        except Exception:  # value is not JSON: report it like any other type error
            raise pulumi.RunError(
                f"{NAMESPACE}:{key}: must be an object, e.g. {key}: {{...}} in the stack file"
            ) from None
        if value is not None:
            raw[key] = value
    for key in _INTEGER_KEYS:
        text = config.get(key)
        if text is not None:
            try:
                raw[key] = json.loads(text)
            except ValueError:
                raw[key] = text  # not a number: the model reports it under the key
    for key in _SCALAR_KEYS + _SECRET_KEYS:
        value = config.get(key)
        if value is not None:
            raw[key] = value
    return raw


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The config model that holds the keys at `loc` (a path of camelCase keys), or None."""
    model: type[BaseModel] = StackConfig
    for part in loc:
        field = next((f for name, f in model.model_fields.items() if (f.alias or name) == part), None)
        if field is None:
            return None
        inner = next(
            (
                t
                for t in (field.annotation, *typing.get_args(field.annotation))
                if isinstance(t, type) and issubclass(t, BaseModel)
            ),
            None,
        )
        if inner is None:
            return None
        model = inner
    return model


def _near_miss(loc: tuple) -> str:
    """(did you mean workers?)" for a key that resembles one the model knows there, else ""."""
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    known = [f.alias or name for name, f in model.model_fields.items()]
    key = str(loc[-1])
    match = next((k for k in known if k.lower() == key.lower()), None) or next(
        iter(difflib.get_close_matches(key, known, n=1, cutoff=0.6)), None
    )
    return f" (did you mean {match}?)" if match else ""


def _describe(error: ErrorDetails) -> str:
    # A dict key's own error (a flow variable's name) is the key's: "flows.env.NAME".
    path = ".".join(str(part) for part in error["loc"] if part != "[key]")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        hint = " (pulumi config set --secret editorPassword ...)" if path == "editorPassword" else ""
        return f"{NAMESPACE}:{path}: is required{hint}"
    if error["type"] == "extra_forbidden":
        return f"{NAMESPACE}:{path}: unknown key{_near_miss(error['loc'])}"
    # Echo the bad value, except for secrets and for model-wide errors (whose input is the whole config).
    if (
        path
        and "input" in error
        and not path.lower().endswith(("password", "secret", "uri", "keyfile", "token"))
        and not path.startswith(
            ("flowSecrets", "httpUsers", "httpTokens", "editorPasswords", "editorApiTokens", "editorOidc")
        )
    ):
        message = f"{message} (got {error['input']!r})"
    return f"{NAMESPACE}:{path}: {message}" if path else f"{NAMESPACE}:{message}"


def parse(raw: dict[str, Any]) -> StackConfig:
    """Validate a raw config mapping (camelCase keys); raises pulumi.RunError naming every bad key."""
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise pulumi.RunError("invalid stack config:\n  " + "\n  ".join(_describe(e) for e in exc.errors())) from None


def load_config(config: pulumi.Config | None = None) -> StackConfig:
    return parse(_raw(config or pulumi.Config(NAMESPACE)))
