"""The one Node-RED image (editor and workers alike), built from nodered_image/."""

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from stack_config.model import ImageConfig

CONTEXT = Path(__file__).resolve().parent.parent / "nodered_image"
# What the Dockerfile copies; node_modules and tests stay out of the build context (.dockerignore).
_IGNORED_PARTS = {"node_modules", "test", ".git"}


def _context_files() -> list[Path]:
    """The build context's files in path order; ignored directories are never entered (node_modules alone
    holds thousands of files)."""
    files: list[Path] = []
    for directory, subdirs, names in os.walk(CONTEXT):
        subdirs[:] = [d for d in subdirs if d not in _IGNORED_PARTS]
        files.extend(Path(directory, n) for n in names if n not in _IGNORED_PARTS)
    return sorted(p for p in files if p.is_file())


def context_hash(config: ImageConfig) -> str:
    """A digest of the build context and build args: the tag changes exactly when the image would."""
    digest = hashlib.sha256()
    for path in _context_files():
        digest.update(str(path.relative_to(CONTEXT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(config.base_tag.encode() + b"\0" + " ".join(config.extra_nodes).encode())
    if config.function_modules:
        digest.update(b"\0" + " ".join(config.function_modules).encode())
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
    # Reference containers and task definitions use: the repo digest when pushed, else name:content-tag.
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
                dockerfile=str(CONTEXT / "Dockerfile"),
                platform=args.platform,
                args={
                    "NODE_RED_VERSION": args.config.node_red_version,
                    "NODE_VERSION": str(args.config.node_version),
                    "EXTRA_NODES": " ".join(args.config.extra_nodes),
                    "FUNCTION_MODULES": " ".join(args.config.function_modules),
                },
            ),
            skip_push=args.repository_url is None,
            registry=args.registry,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = image.repo_digest if args.repository_url is not None else image.image_name
        self.register_outputs({"imageRef": self.image_ref})
