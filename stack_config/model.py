"""The typed stack config: every key of the `nodered-scale:` namespace, its default and its limits."""

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from nodered_contract import DEFAULT_HTTP_NODE_ROOT, validate_http_node_root

from .aws import AwsConfig, fargate_size_problem
from .base import ConfigModel, ipv4_network
from .flows import ContextConfig, FlowsConfig, FlowSecrets

_PACKAGE_JSON = Path(__file__).resolve().parent.parent / "nodered_image" / "package.json"


def locked_node_red_version() -> str:
    """The Node-RED version the image's lock file pins: the default base image tag."""
    return json.loads(_PACKAGE_JSON.read_text())["devDependencies"]["node-red"]


class AutoscalingConfig(ConfigModel):
    """aws target: target-tracking on the worker service's CPU."""

    min: Annotated[int, Field(ge=1)] = 2
    max: Annotated[int, Field(ge=1)] = 10
    target_cpu_percent: Annotated[int, Field(ge=10, le=90)] = 60

    @model_validator(mode="after")
    def _min_not_above_max(self):
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not be greater than max ({self.max})")
        return self


class WorkersConfig(ConfigModel):
    replicas: Annotated[int, Field(ge=1, le=200)] = 2
    # aws target sizing (Fargate units: 1024 cpu = 1 vCPU; memory in MiB).
    cpu: Annotated[int, Field(ge=256)] = 512
    memory: Annotated[int, Field(ge=512)] = 1024
    autoscaling: AutoscalingConfig = AutoscalingConfig()


class EditorConfig(ConfigModel):
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")] = "admin"
    # aws target sizing.
    cpu: Annotated[int, Field(ge=256)] = 512
    memory: Annotated[int, Field(ge=512)] = 1024


class RouterConfig(ConfigModel):
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    image: str = "nginx:1.27.5-alpine"


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


class ImageConfig(ConfigModel):
    name: str = "nodered-scale"
    # Unset: a digest of nodered_image/ and the build args, so a changed image rolls the containers.
    tag: Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")] | None = None
    node_red_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")] = Field(
        default_factory=locked_node_red_version
    )
    # npm specs baked into the image (editor and workers alike), e.g. "node-red-contrib-foo@1.2.3".
    extra_nodes: list[Annotated[str, Field(pattern=r"^[@A-Za-z0-9][@A-Za-z0-9._/^~=<>-]*$")]] = []


class NetworkConfig(ConfigModel):
    # docker target: the private network; containers get fixed addresses in it so the router's
    # upstream list never depends on a name resolved once.
    subnet: str = "172.28.0.0/24"

    @field_validator("subnet")
    @classmethod
    def _subnet(cls, value: str) -> str:
        if ipv4_network(value).num_addresses < 256:
            raise ValueError("needs at least a /24")
        return value


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
    aws: AwsConfig | None = None
    # What flows see on every instance (stack_config/flows.py).
    context: ContextConfig = ContextConfig()
    flows: FlowsConfig = FlowsConfig()
    flow_secrets: FlowSecrets = {}
    # Secrets: held as SecretStr so they never show in a repr; components wrap them as Pulumi secrets.
    editor_password: Annotated[SecretStr, Field(strict=False)]
    credential_secret: Annotated[SecretStr, Field(strict=False)] | None = None
    mongo_uri: Annotated[SecretStr, Field(strict=False)] | None = None

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

    @field_validator("editor_password")
    @classmethod
    def _password_length(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("must be at least 8 characters")
        return value

    @field_validator("credential_secret")
    @classmethod
    def _credential_secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (or leave it unset to have one generated)")
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
            if self.mongo.mode == "external" and self.mongo_uri is None:
                raise ValueError(
                    "mongoUri: required when mongo.mode is external (pulumi config set --secret mongoUri ...)"
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
