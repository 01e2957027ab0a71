"""The one Node-RED image (editor and workers alike), built from nodered_image/."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from stack_config.model import ImageConfig

from .build_inputs import build_files

CONTEXT = Path(__file__).resolve().parent.parent / "nodered_image"
DOCKERFILE = "Dockerfile"


def build_args(config: ImageConfig) -> dict[str, str]:
    return {
        "NODE_RED_VERSION": config.node_red_version,
        "NODE_VERSION": str(config.node_version),
        "EXTRA_NODES": " ".join(config.extra_nodes),
        "FUNCTION_MODULES": " ".join(config.function_modules),
    }


def context_hash(config: ImageConfig) -> str:
    """A digest of what the build uses: the Dockerfile, the files its COPY and ADD take from the context
    (components/build_inputs.py) and the build args. The tag changes exactly when the image would."""
    digest = hashlib.sha256()
    dockerfile = CONTEXT / DOCKERFILE
    for path in [dockerfile, *build_files(CONTEXT, DOCKERFILE)]:
        digest.update(str(path.relative_to(CONTEXT)).encode() + b"\0" + path.read_bytes() + b"\0")
    for name, value in sorted(build_args(config).items()):
        digest.update(f"{name}={value}\0".encode())
    return digest.hexdigest()[:16]


@dataclass
class NodeRedImageArgs:
    config: ImageConfig
    # Where to push (aws: the ECR repository URL and its credentials); None builds a local image only.
    repository_url: pulumi.Input[str] | None = None
    registry: docker.RegistryArgs | None = None
    # Fargate's architecture by default; None builds for the local engine's own (fast on arm64 laptops).
    platform: str | None = "linux/amd64"


class NodeRedImage(pulumi.ComponentResource):
    # What containers and task definitions name: the pushed image's repo digest (repository@sha256:...), or
    # a local build's image id (sha256:...). Either changes with every new build, also when image.tag is
    # given and stays the same: a rebuilt image always replaces the containers that run the old one.
    image_ref: pulumi.Output[str]

    def __init__(self, name: str, args: NodeRedImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:index:NodeRedImage", name, None, opts)
        tag = args.config.tag or f"c{context_hash(args.config)}"
        repository = args.repository_url if args.repository_url is not None else args.config.name
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(repository, ":", tag),
            build=docker.DockerBuildArgs(
                context=str(CONTEXT),
                dockerfile=str(CONTEXT / DOCKERFILE),
                platform=args.platform,
                args=build_args(args.config),
            ),
            skip_push=args.repository_url is None,
            registry=args.registry,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = image.repo_digest
        self.register_outputs({"imageRef": self.image_ref})
