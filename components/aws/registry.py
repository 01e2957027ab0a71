"""An ECR repository and the Node-RED image pushed to it, referenced by digest."""

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.image import NodeRedImage, NodeRedImageArgs
from stack_config.model import ImageConfig

# Images kept in the repository; older ones are expired (each `up` with a changed image pushes one).
IMAGES_KEPT = 20


@dataclass
class EcrImageArgs:
    config: ImageConfig


class EcrImage(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    # <repository>@sha256:<digest>: a new image changes the task definitions, which rolls the services.
    image_ref: pulumi.Output[str]

    def __init__(self, name: str, args: EcrImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:EcrImage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repository = aws.ecr.Repository(
            f"{name}-repo",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            image_tag_mutability="MUTABLE",
            # Images are rebuilt from nodered_image/ on every `up`: nothing to keep on destroy.
            force_delete=True,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-expire",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"keep the newest {IMAGES_KEPT} images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": IMAGES_KEPT,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=pulumi.ResourceOptions(parent=repository),
        )
        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        image = NodeRedImage(
            f"{name}-image",
            NodeRedImageArgs(
                config=args.config,
                repository_url=repository.repository_url,
                registry=docker.RegistryArgs(
                    server=repository.repository_url,
                    username=token.user_name,
                    password=pulumi.Output.secret(token.password),
                ),
            ),
            opts=child,
        )
        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.image_ref = image.image_ref
        self.register_outputs({"repositoryUrl": self.repository_url, "imageRef": self.image_ref})
