"""Stack config of who may log in to the editor (`editor.users`, `editor.oidc`, `editor.apiTokens` and their
secret objects): the rules the image applies at start (nodered_image/lib/access/config.js), checked before
anything is created. docs/editor-access.md explains them."""

import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from .base import ConfigModel

# An editor login name (users, API tokens): what the image accepts.
LoginName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
Role = Literal["admin", "read"]
# The shortest API token the image takes.
MIN_TOKEN_LENGTH = 32


def password_problem(value: str) -> str | None:
    """Why `value` is no editor password (8+ characters besides whitespace), or None."""
    if len(value) < 8:
        return "must be at least 8 characters"
    if len("".join(value.split())) < 8:
        return "must have at least 8 characters that are not whitespace"
    return None


class NamedRole(ConfigModel):
    name: LoginName
    role: Role


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OidcConfig(ConfigModel):
    """editor.oidc: single sign-on with an OpenID Connect provider."""

    issuer: str
    client_id: Annotated[str, Field(min_length=1)]
    scopes: list[Annotated[str, Field(min_length=1)]] = ["openid", "profile", "email"]
    # The claim that names the user; the groups that make a user an admin or a read user, and the claim
    # that lists a user's groups (in the ID token or user info).
    username_claim: Annotated[str, Field(min_length=1)] = "preferred_username"
    admin_groups: list[Annotated[str, Field(min_length=1)]] = []
    read_groups: list[Annotated[str, Field(min_length=1)]] = []
    groups_claim: Annotated[str, Field(min_length=1)] | None = None
    label: Annotated[str, Field(min_length=1, max_length=80)] = "Sign in with single sign-on"

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be the provider's URL, e.g. https://sso.example.com/realms/ops")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError("must be https (plain http only on a loopback address): the login crosses it")
        return value

    @field_validator("scopes")
    @classmethod
    def _openid(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("must include openid")
        return value

    @model_validator(mode="before")
    @classmethod
    def _check_absent_keys_too(cls, data):
        # readGroups and groupsClaim are checked even when left out, each error under its own key.
        if isinstance(data, dict):
            data = {"readGroups": [], "groupsClaim": None, **data}
        return data

    @field_validator("read_groups")
    @classmethod
    def _some_group(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if not value and not info.data.get("admin_groups"):
            raise ValueError("name adminGroups or readGroups (a user in neither is refused, so nobody could log in)")
        return value

    @field_validator("groups_claim")
    @classmethod
    def _groups_claim(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError(
                "is required with adminGroups or readGroups: the claim of the ID token (or user info) that lists a "
                "user's groups, e.g. groups"
            )
        return value

    def image_json(self) -> dict:
        """NODE_RED_EDITOR_OIDC's object (camelCase, as the stack file has it)."""
        return self.model_dump(by_alias=True)


def _named_secrets(
    list_key: str, secret_key: str, what: str, names: list[str], secrets: dict[str, SecretStr], problem, hint: str
) -> list[str]:
    """A list of names (editor.users, editor.apiTokens) against its secret object: each name once, each with
    exactly one secret that `problem` (value -> why not, or None) accepts, and no secret for another name."""
    out = [f"{list_key}: {n} is listed twice" for n in sorted({n for n in names if names.count(n) > 1})]
    for name in names:
        if name not in secrets:
            out.append(
                f"{secret_key}: no {what} {name} (pulumi config set --secret --path '{secret_key}.{name}'{hint})"
            )
    for name, value in secrets.items():
        if name not in names:
            out.append(f"{secret_key}.{name}: not listed in {list_key}")
        elif why := problem(value.get_secret_value()):
            out.append(f"{secret_key}.{name}: {why}")
    return out


def _token_problem(value: str) -> str | None:
    return f"must be at least {MIN_TOKEN_LENGTH} characters" if len(value) < MIN_TOKEN_LENGTH else None


def access_problems(
    *,
    user: str,
    password_given: bool,
    users: list[NamedRole],
    passwords: dict[str, SecretStr],
    oidc: OidcConfig | None,
    oidc_secret: SecretStr | None,
    tokens: list[NamedRole],
    token_values: dict[str, SecretStr],
) -> list[str]:
    """Every problem across editor.users, editor.oidc, editor.apiTokens and their secret objects, each
    naming its key (StackConfig raises them together)."""
    names = [u.name for u in users]
    out = _named_secrets(
        "editor.users", "editorPasswords", "password for editor user", names, passwords, password_problem, ""
    )
    if password_given and user in names:
        out.append(f"editor.users: {user} is also editor.user (with editorPassword): name each user once")
    if oidc is not None and oidc_secret is None:
        out.append("editorOidcClientSecret: is required with editor.oidc: the client's secret at the provider")
    if oidc is None and oidc_secret is not None:
        out.append("editorOidcClientSecret: only with editor.oidc")
    token_names = [t.name for t in tokens]
    out += _named_secrets(
        "editor.apiTokens",
        "editorApiTokens",
        "token for API token",
        token_names,
        token_values,
        _token_problem,
        ' "$(openssl rand -hex 24)"',
    )
    for name in token_names:
        if name in names or (password_given and name == user):
            out.append(
                f"editor.apiTokens: {name} is an editor user's name too: the audit trail tells them apart by name"
            )
    values = [v.get_secret_value() for v in token_values.values()]
    if len(set(values)) != len(values):
        out.append("editorApiTokens: two API tokens have the same token")
    return out
