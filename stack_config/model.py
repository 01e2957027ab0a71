"""The typed stack config: every key of the `nodered-scale:` namespace, its default and its limits."""

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from nodered_contract import BODY_LIMIT_MB, DEFAULT_HTTP_NODE_ROOT, VARIABLES, validate_http_node_root

from .aws import PLAIN_HTTP_REFUSED, AwsConfig, fargate_size_problem
from .base import ConfigModel, ipv4_network
from .editor_access import NamedRole, OidcConfig, access_problems, password_problem
from .flows import ContextConfig, FlowsConfig, FlowSecretsConfig
from .http import HttpConfig, HttpTokensConfig, HttpUsersConfig, duplicate_token
from .references import pinned_image, repository

_PACKAGE_JSON = Path(__file__).resolve().parent.parent / "nodered_image" / "package.json"
_BODY_LIMIT = VARIABLES["NODE_RED_BODY_LIMIT_MB"]


def locked_node_red_version() -> str:
    """The Node-RED version the image's lock file pins: the default base image tag."""
    return json.loads(_PACKAGE_JSON.read_text())["devDependencies"]["node-red"]


class AutoscalingConfig(ConfigModel):
    """aws target: target tracking on the worker service's CPU and, when set, on the load balancer's requests
    per worker (HTTP flows that wait on other services are busy without using CPU)."""

    min: Annotated[int, Field(ge=1)] = 2
    max: Annotated[int, Field(ge=1)] = 10
    target_cpu_percent: Annotated[int, Field(ge=10, le=90)] = 60
    # Requests a minute per worker the ALB should see on average (its RequestCountPerTarget); unset: CPU only.
    requests_per_target: Annotated[int, Field(ge=1, le=1_000_000)] | None = None

    @model_validator(mode="after")
    def _min_not_above_max(self):
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be greater than max ({self.max})")
        return self


# The most workers a stack may ask for (the docker target's address plan has room for exactly these).
MAX_WORKERS = 200


class WorkersConfig(ConfigModel):
    replicas: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = 2
    # aws target sizing (Fargate units: 1024 cpu = 1 vCPU; memory in MiB).
    cpu: Annotated[int, Field(ge=256)] = 512
    memory: Annotated[int, Field(ge=512)] = 1024
    autoscaling: AutoscalingConfig = AutoscalingConfig()


class EditorConfig(ConfigModel):
    # The one-admin shorthand: this user with the secret editorPassword.
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")] = "admin"
    # aws target sizing.
    cpu: Annotated[int, Field(ge=256)] = 512
    memory: Annotated[int, Field(ge=512)] = 1024
    # Who logs in (docs/editor-access.md): users with a role and a password in editorPasswords, single
    # sign-on, API tokens with their tokens in editorApiTokens (stack_config/editor_access.py).
    users: list[NamedRole] = []
    oidc: OidcConfig | None = None
    api_tokens: list[NamedRole] = []
    # The longest a login session lasts; how long the audit trail keeps a record.
    session_hours: Annotated[int, Field(ge=1, le=720)] = 12
    audit_retention_days: Annotated[int, Field(ge=1, le=3650)] = 90


class RouterConfig(ConfigModel):
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    image: str = "nginx:1.27.5-alpine"
    # docker target: the host address the port is published on. Loopback by default: the editor (with its
    # login) and the flows are reachable from this machine only; 0.0.0.0 publishes on every interface.
    bind_address: str = "127.0.0.1"

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        return pinned_image(value)

    @field_validator("bind_address")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError(
                "must be an IPv4 address of this host (127.0.0.1, or 0.0.0.0 for every interface)"
            ) from None
        if address.is_multicast or address.is_reserved or address == ipaddress.IPv4Address("255.255.255.255"):
            raise ValueError("must be an IPv4 address of this host (127.0.0.1, or 0.0.0.0 for every interface)")
        return value

    @property
    def host(self) -> str:
        """The host name the stack's URLs use: localhost unless published on one other address."""
        address = ipaddress.IPv4Address(self.bind_address)
        return "localhost" if address.is_loopback or address.is_unspecified else self.bind_address


class MongoConfig(ConfigModel):
    # docker target: replica set members (1 for development, 3 to survive a member's loss).
    members: Literal[1, 3] = 1
    image: str = "mongo:7.0.16"
    # docker target: publish member 0 on this host port (off by default: MongoDB stays private).
    publish_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    # aws target: Amazon DocumentDB, or an external MongoDB given as the `mongoUri` secret.
    mode: Literal["documentdb", "external"] = "documentdb"
    instance_class: str = "db.t4g.medium"
    instances: Annotated[int, Field(ge=1, le=16)] = 2

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        return pinned_image(value)


# The Node.js lines of the nodered/node-red images per Node-RED release line, as the Node-RED project builds
# them (its node-red-docker build matrix: 4.1.x on 18, 20 and 22, 5.x on 24 only), less the lines past
# their end of life (18, 20). The first is the default (docs/image.md, "The base image").
BASE_IMAGE_NODE_LINES: dict[str, tuple[int, ...]] = {"5": (24,), "4.1": (22,)}


_NPM_SPEC = r"^[@A-Za-z0-9][@A-Za-z0-9._/^~=<>-]*$"


def release_line(node_red_version: str) -> str | None:
    """The release line of BASE_IMAGE_NODE_LINES a Node-RED version belongs to, or None."""
    major, minor = node_red_version.split(".")[:2]
    return next((line for line in (major, f"{major}.{minor}") if line in BASE_IMAGE_NODE_LINES), None)


class ImageConfig(ConfigModel):
    name: str = "nodered-scale"
    # Unset: a digest of nodered_image/ and the build args, so a changed image rolls the containers.
    tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] | None = None
    node_red_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")] = Field(
        default_factory=locked_node_red_version
    )
    # Node.js major of the base image nodered/node-red:<nodeRedVersion>-<nodeVersion>: one the Node-RED project
    # publishes for that release line and still maintained; unset: the line's (BASE_IMAGE_NODE_LINES).
    node_version: Literal[22, 24] | None = None
    # npm specs baked into the image (editor and workers alike), e.g. "node-red-contrib-foo@1.2.3".
    extra_nodes: list[Annotated[str, Field(pattern=_NPM_SPEC)]] = []
    # npm specs function nodes may use from their Setup tab, baked into the image (docs/api.md).
    function_modules: list[Annotated[str, Field(pattern=_NPM_SPEC)]] = []

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return repository(value)

    @field_validator("node_red_version")
    @classmethod
    def _published_line(cls, value: str) -> str:
        if release_line(value) is None:
            lines = " and ".join(f"{line}.x" for line in BASE_IMAGE_NODE_LINES)
            raise ValueError(f"Node-RED {value}: this image builds on Node-RED {lines} only")
        return value

    @field_validator("node_version")
    @classmethod
    def _published_combination(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        version = info.data.get("node_red_version")
        line = release_line(version) if version else None
        if line is not None and value not in BASE_IMAGE_NODE_LINES[line]:
            published = " or ".join(str(n) for n in BASE_IMAGE_NODE_LINES[line])
            raise ValueError(
                f"the Node-RED project publishes no nodered/node-red:{version}-{value}: "
                f"Node-RED {line}.x images on a maintained Node.js line are on {published}"
            )
        return value

    @model_validator(mode="after")
    def _default_node_line(self):
        if self.node_version is None:
            line = release_line(self.node_red_version)
            object.__setattr__(self, "node_version", BASE_IMAGE_NODE_LINES[line][0] if line else 24)
        return self

    @property
    def base_tag(self) -> str:
        """The tag of nodered/node-red the image is built FROM."""
        return f"{self.node_red_version}-{self.node_version}"


class NetworkConfig(ConfigModel):
    # docker target: the private network; containers get fixed addresses in it so the router's
    # upstream list never depends on a name resolved once.
    subnet: str = "172.28.0.0/24"

    @field_validator("subnet")
    @classmethod
    def _subnet(cls, value: str) -> str:
        network = ipv4_network(value)
        if not any(network.subnet_of(private) for private in _PRIVATE_RANGES):
            raise ValueError("must lie in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)")
        if not 16 <= network.prefixlen <= 24:
            raise ValueError("needs at least a /24 and at most a /16")
        return value


# RFC 1918: Docker's own bridge networks come from these; loopback, link-local or public ranges would
# shadow the host's routes.
_PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

# Secrets the docker target keeps in the stack config, so they outlive `make down` with the MongoDB volumes
# (`make up` generates the missing ones: python -m stack_secrets). The aws target keeps the first there too:
# the credential key must outlive `pulumi destroy` with the final DocumentDB snapshot.
DOCKER_KEPT_SECRETS = ("credentialSecret", "mongoRootPassword", "mongoAppPassword", "mongoKeyFile")
AWS_KEPT_SECRETS = ("credentialSecret",)
_KEPT_FIELDS = ("credential_secret", "mongo_root_password", "mongo_app_password", "mongo_key_file")
_KEY_FILE = re.compile(r"[A-Za-z0-9+/=]{6,1024}")


class StackConfig(ConfigModel):
    target: Literal["docker", "aws"] = "docker"
    workers: WorkersConfig = WorkersConfig()
    editor: EditorConfig = EditorConfig()
    router: RouterConfig = RouterConfig()
    mongo: MongoConfig = MongoConfig()
    image: ImageConfig = ImageConfig()
    network: NetworkConfig = NetworkConfig()
    # Prefix of every HTTP-in endpoint; the rule is the image's (nodered_image/contract.json).
    http_node_root: str = DEFAULT_HTTP_NODE_ROOT
    # The one request body limit (MiB), for flow requests and deploys, at the router and every
    # instance alike (NODE_RED_BODY_LIMIT_MB); its bounds are the image's.
    body_limit_mb: Annotated[int, Field(ge=_BODY_LIMIT.minimum or 1, le=_BODY_LIMIT.maximum or 1024)] = BODY_LIMIT_MB
    aws: AwsConfig | None = None
    # What flows see on every instance (stack_config/flows.py).
    context: ContextConfig = ContextConfig()
    flows: FlowsConfig = FlowsConfig()
    flow_secrets: FlowSecretsConfig = {}
    # The flows' endpoints as an API (stack_config/http.py, docs/api.md) and its users and clients.
    http: HttpConfig = HttpConfig()
    http_users: HttpUsersConfig = {}
    http_tokens: HttpTokensConfig = {}
    # Secrets: held as SecretStr so they never show in a repr; components wrap them as Pulumi secrets.
    editor_password: Annotated[SecretStr, Field(strict=False)] | None = None
    # The editor's other logins' secrets: passwords of editor.users, the single sign-on client's secret,
    # the tokens of editor.apiTokens.
    editor_passwords: dict[str, Annotated[SecretStr, Field(strict=False)]] = {}
    editor_oidc_client_secret: Annotated[SecretStr, Field(strict=False)] | None = None
    editor_api_tokens: dict[str, Annotated[SecretStr, Field(strict=False)]] = {}
    credential_secret: Annotated[SecretStr, Field(strict=False)] | None = None
    # During a rotation of the credential key: the key before it, which instances still decrypt with until the
    # editor has re-encrypted every kept revision (docs/operations.md, "Rotate the credential key").
    previous_credential_secret: Annotated[SecretStr, Field(strict=False)] | None = None
    mongo_uri: Annotated[SecretStr, Field(strict=False)] | None = None
    # docker target: its MongoDB's root and app passwords and the members' key file.
    mongo_root_password: Annotated[SecretStr, Field(strict=False)] | None = None
    mongo_app_password: Annotated[SecretStr, Field(strict=False)] | None = None
    mongo_key_file: Annotated[SecretStr, Field(strict=False)] | None = None
    # With flows.source: the token `pulumi up` deploys the flows with (the editor knows its SHA-256 only).
    flows_deploy_token: Annotated[SecretStr, Field(strict=False)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _kept_secrets_checked_when_absent(cls, data: Any) -> Any:
        # The kept secrets are checked even when left out, each error under its own key.
        if isinstance(data, dict):
            data = dict(data)
            for alias, name in zip(DOCKER_KEPT_SECRETS, _KEPT_FIELDS, strict=True):
                if alias not in data and name not in data:
                    data[alias] = None
            # So is editorPassword: required unless the editor has other logins.
            if "editorPassword" not in data and "editor_password" not in data:
                data["editorPassword"] = None
        return data

    @field_validator("http_node_root")
    @classmethod
    def _http_node_root(cls, value: str) -> str:
        return validate_http_node_root(value)

    @model_validator(mode="after")
    def _flow_variables_once(self):
        both = sorted(set(self.flows.env) & set(self.flow_secrets))
        if both:
            raise ValueError(f"flowSecrets: {', '.join(both)} also in flows.env: a variable is either plain or secret")
        return self

    @model_validator(mode="after")
    def _deploy_token_with_source(self):
        token = self.flows_deploy_token
        if self.flows.source is not None and token is None:
            raise ValueError(
                "flowsDeployToken: required with flows.source, the token `pulumi up` deploys the flows with: "
                "`make up` generates it (or run: venv/bin/python -m stack_secrets --stack <stack>)"
            )
        if token is not None and len(token.get_secret_value().strip()) < 32:
            raise ValueError("flowsDeployToken: must be at least 32 characters besides whitespace")
        return self

    @model_validator(mode="after")
    def _http_names(self):
        problem = self.http.names_problem(self.http_users, self.http_tokens)
        if problem:
            raise ValueError(problem)
        second = duplicate_token(self.http_tokens)
        if second:
            raise ValueError(f"httpTokens.{second}: the same token as another client; each client needs its own")
        return self

    @field_validator("editor_password")
    @classmethod
    def _password_length(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            editor = info.data.get("editor")
            if editor is not None and not editor.users and editor.oidc is None:
                raise ValueError(
                    "is required (pulumi config set --secret editorPassword ...), unless editor.users or "
                    "editor.oidc gives the editor its logins"
                )
            return value
        problem = password_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _editor_logins(self):
        problems = access_problems(
            user=self.editor.user,
            password_given=self.editor_password is not None,
            users=self.editor.users,
            passwords=self.editor_passwords,
            oidc=self.editor.oidc,
            oidc_secret=self.editor_oidc_client_secret,
            tokens=self.editor.api_tokens,
            token_values=self.editor_api_tokens,
        )
        if problems:
            raise ValueError("\n  nodered-scale:".join(problems))
        return self

    @field_validator(*_KEPT_FIELDS)
    @classmethod
    def _kept_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        target = info.data.get("target")
        if value is None:
            if target == "docker":
                raise ValueError(
                    "is required on the docker target, which keeps it in the stack config so that MongoDB's data "
                    "volumes, kept by `make down`, still open and decrypt after the next `make up`: `make up` "
                    "generates the missing ones (or run: venv/bin/python -m stack_secrets --stack <stack>)"
                )
            if target == "aws" and info.field_name == "credential_secret":
                raise ValueError(
                    "is required on the aws target, which keeps it in the stack config so that the flows' credentials "
                    "in a DocumentDB snapshot still decrypt after `pulumi destroy`: `make up STACK=<stack>` generates "
                    "it (or run: venv/bin/python -m stack_secrets --stack <stack>)"
                )
            return value
        if target == "aws" and info.field_name != "credential_secret":
            raise ValueError("only for target docker (its own MongoDB replica set)")
        text = value.get_secret_value()
        if info.field_name == "mongo_key_file":
            if not _KEY_FILE.fullmatch(text):
                raise ValueError("must be 6 to 1024 characters of the base64 alphabet (A-Z, a-z, 0-9, +, /, =)")
        elif len(text) < 16:
            raise ValueError("must be at least 16 characters")
        elif info.field_name == "credential_secret" and not text.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("previous_credential_secret")
    @classmethod
    def _previous_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            return value
        if len(value.get_secret_value()) < 16 or not value.get_secret_value().strip():
            raise ValueError("must be at least 16 characters")
        current = info.data.get("credential_secret")
        if current is not None and current.get_secret_value() == value.get_secret_value():
            raise ValueError(
                "is the same as credentialSecret: during a rotation it holds the key before, credentialSecret the new one"
            )
        return value

    @model_validator(mode="after")
    def _target_specific(self):
        if self.target == "docker":
            # aws-only keys would be silently ignored here: say so instead.
            if "mode" in self.mongo.model_fields_set:
                raise ValueError(
                    "mongo.mode: only for target aws; the docker target runs its own replica set (mongo.members)"
                )
            if self.mongo_uri is not None:
                raise ValueError("mongoUri: only for target aws with mongo.mode external")
            if self.aws is not None:
                raise ValueError("aws: only for target aws")
        if self.target == "aws":
            if self.aws is None:
                object.__setattr__(self, "aws", AwsConfig())
            snapshot = self.aws.documentdb.snapshot_identifier if self.aws is not None else None
            if self.mongo.mode == "external" and snapshot is not None:
                raise ValueError(
                    "aws.documentdb.snapshotIdentifier: only for mongo.mode documentdb (restore your own MongoDB yourself)"
                )
            if self.mongo.mode == "external" and self.mongo_uri is None:
                raise ValueError(
                    "mongoUri: required when mongo.mode is external (pulumi config set --secret mongoUri ...)"
                )
            if self.aws is not None and not self.aws.https and not self.aws.allow_plain_http:
                raise ValueError(f"aws.certificateArn: {PLAIN_HTTP_REFUSED}")
            if self.editor.oidc is not None and self.aws is not None and self.aws.domain_name is None:
                raise ValueError(
                    "editor.oidc: on the aws target it needs aws.domainName: the provider redirects to "
                    "https://<domainName>/auth/strategy/callback, which you register as the client's redirect URL"
                )
            if not self.workers.autoscaling.min <= self.workers.replicas <= self.workers.autoscaling.max:
                raise ValueError(
                    f"workers.replicas: {self.workers.replicas} must lie between workers.autoscaling.min "
                    f"({self.workers.autoscaling.min}) and max ({self.workers.autoscaling.max})"
                )
            for role in ("workers", "editor"):
                sizing = getattr(self, role)
                problem = fargate_size_problem(sizing.cpu, sizing.memory)
                if problem:
                    raise ValueError(f"{role}.{problem[0]}: {problem[1]}")
            if self.mongo.mode == "documentdb" and not re.fullmatch(
                r"db\.[a-z0-9]+\.[a-z0-9]+", self.mongo.instance_class
            ):
                raise ValueError(
                    f"mongo.instanceClass: {self.mongo.instance_class!r} is not a DocumentDB instance class (e.g. db.t4g.medium)"
                )
        return self
