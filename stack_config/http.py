"""Stack config for the flows' endpoints as an API (docs/api.md): `http` (auth rules, CORS, rate limit, the
OpenAPI document) and the secrets `httpUsers` (basic) and `httpTokens` (bearer). The rules are the image's
(contract.json httpApi, nodered_contract.HTTP_API): the instances check the same at start."""

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator

from nodered_contract import HTTP_API

from .base import ConfigModel

_RULE_PATH = re.compile(HTTP_API["rulePath"]["pattern"])
_NAME = re.compile(HTTP_API["name"]["pattern"])
_TOKEN = re.compile(HTTP_API["token"]["pattern"])
_ORIGIN = re.compile(HTTP_API["corsOrigin"]["pattern"])
_HEADER = re.compile(HTTP_API["corsHeader"]["pattern"])
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RATE = HTTP_API["rateLimit"]

AuthType = Literal["none", "basic", "bearer"]
CorsMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"{value!r} must be {HTTP_API['name']['rule']}")
    return value


Name = Annotated[str, AfterValidator(_name)]


def _no_duplicates(values: list[str], what: str, normal=lambda v: v) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if normal(value) in seen:
            raise ValueError(f"{value!r} {what} twice")
        seen.add(normal(value))
    return values


class AuthRule(ConfigModel):
    # A pattern under httpNodeRoot: '*' one segment, '**' any number; matched case-sensitively.
    path: str
    type: AuthType
    # Only these users (basic) or clients (bearer) may pass; unset: any of them.
    names: list[Name] | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _RULE_PATH.fullmatch(value):
            raise ValueError(f"must be {HTTP_API['rulePath']['rule']}")
        return value

    @field_validator("names")
    @classmethod
    def _names(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("must name at least one user or client (leave it out for any)")
            _no_duplicates(value, "listed")
        return value


class AuthConfig(ConfigModel):
    default: AuthType = "none"
    rules: Annotated[list[AuthRule], Field(max_length=HTTP_API["maxRules"])] = []

    @field_validator("rules")
    @classmethod
    def _rules(cls, value: list[AuthRule]) -> list[AuthRule]:
        seen: set[str] = set()
        for i, rule in enumerate(value):
            if rule.path in seen:
                raise ValueError(f"[{i}].path: {rule.path!r} is already a rule before it (the first match wins)")
            if rule.type == "none" and rule.names is not None:
                raise ValueError(f"[{i}].names: a rule of type none names nobody")
            seen.add(rule.path)
        return value


class CorsConfig(ConfigModel):
    origins: list[str]
    methods: list[CorsMethod] | None = None  # unset: every method
    headers: list[str] | None = None  # request headers allowed; unset: those the browser asks for
    credentials: bool = False

    @field_validator("origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one origin")
        for origin in value:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin: must be {HTTP_API['corsOrigin']['rule']}")
        if "*" in value and len(value) > 1:
            raise ValueError("'*' stands alone")
        return _no_duplicates(value, "listed", str.lower)

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("must list at least one method (leave it out for all)")
            _no_duplicates(value, "listed")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("must list at least one header (leave it out for what browsers ask)")
            for header in value:
                if not _HEADER.fullmatch(header):
                    raise ValueError(f"{header!r} must be {HTTP_API['corsHeader']['rule']}")
            _no_duplicates(value, "listed", str.lower)
        return value

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: bool, info) -> bool:
        if value and info.data.get("origins") == ["*"]:
            raise ValueError("not with origins ['*'] (browsers refuse it): list the origins")
        return value


class RateLimitConfig(ConfigModel):
    per_second: Annotated[int, Field(ge=_RATE["perSecond"]["min"], le=_RATE["perSecond"]["max"])]
    # Requests at once above the steady rate; unset: perSecond.
    burst: Annotated[int, Field(ge=_RATE["burst"]["min"], le=_RATE["burst"]["max"])] | None = None

    @property
    def effective_burst(self) -> int:
        return self.per_second if self.burst is None else self.burst


class HttpConfig(ConfigModel):
    auth: AuthConfig | None = None
    cors: CorsConfig | None = None
    rate_limit: RateLimitConfig | None = None
    openapi: bool = False

    def environment(self, *, rate_limit_at_instances: bool) -> dict[str, Any]:
        """The workers' NODE_RED_HTTP_* values (mappings; nodered_contract writes them as JSON), and
        NODE_RED_HTTP_OPENAPI for both roles. The rate limit goes to the instances only where no router
        applies it (rate_limit_at_instances: the aws target)."""
        env: dict[str, Any] = {"NODE_RED_HTTP_OPENAPI": "true" if self.openapi else "false"}
        if self.auth is not None:
            env["NODE_RED_HTTP_AUTH"] = self.auth.model_dump(by_alias=True, exclude_none=True)
        if self.cors is not None:
            env["NODE_RED_HTTP_CORS"] = self.cors.model_dump(by_alias=True, exclude_none=True)
        if self.rate_limit is not None and rate_limit_at_instances:
            env["NODE_RED_HTTP_RATE_LIMIT"] = {
                "perSecond": self.rate_limit.per_second,
                "burst": self.rate_limit.effective_burst,
            }
        return env

    def names_problem(self, users: dict[str, SecretStr], tokens: dict[str, SecretStr]) -> str | None:
        """Why the auth rules do not fit the secrets (a `<key>: reason` line), or None."""
        both = sorted(set(users) & set(tokens))
        if both:
            return f"httpTokens: {', '.join(both)} also in httpUsers: a name is a user or a client, not both"
        auth = self.auth or AuthConfig()
        for i, rule in enumerate(auth.rules):
            known, key = (users, "httpUsers") if rule.type == "basic" else (tokens, "httpTokens")
            for name in rule.names or []:
                if name not in known:
                    return f"http.auth.rules[{i}].names: {name!r} is not in {key}"
        for type_, known, key in (("basic", users, "httpUsers"), ("bearer", tokens, "httpTokens")):
            used = auth.default == type_ or any(r.type == type_ for r in auth.rules)
            if used and not known:
                return (
                    f"{key}: http.auth uses type {type_}, but {key} has nobody to accept "
                    f"(pulumi config set --secret --path '{key}.<name>' ...)"
                )
        return None


def _password(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    low, high = HTTP_API["passwordMinLength"], HTTP_API["passwordMaxLength"]
    if not low <= len(text) <= high:
        raise ValueError(f"the password must have {low} to {high} characters")
    if _CONTROL.search(text):
        raise ValueError("the password must not contain control characters")
    return value


def _token(value: SecretStr) -> SecretStr:
    if not _TOKEN.fullmatch(value.get_secret_value()):
        raise ValueError(f"the token must be {HTTP_API['token']['rule']}")
    return value


# `httpUsers`: user -> password, `httpTokens`: client -> token (pulumi config set --secret --path
# 'httpUsers.carol' ...): secret in the Pulumi state, in Secrets Manager on aws, given to workers only.
HttpUsersConfig = dict[Name, Annotated[SecretStr, Field(strict=False), AfterValidator(_password)]]
HttpTokensConfig = dict[Name, Annotated[SecretStr, Field(strict=False), AfterValidator(_token)]]


def duplicate_token(tokens: dict[str, SecretStr]) -> str | None:
    """The second client whose token another client has, or None: a token names its client."""
    seen: set[str] = set()
    for name, token in tokens.items():
        if token.get_secret_value() in seen:
            return name
        seen.add(token.get_secret_value())
    return None
