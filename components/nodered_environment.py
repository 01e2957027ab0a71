"""The image's environment contract (PRODUCT.md) for the docker target's containers (ECS task definitions: aws/container.py)."""
from dataclasses import dataclass

import pulumi

PORT = 1880


@dataclass
class NodeRedEnvironment:
    http_node_root: str
    editor_user: str
    database: str

    def plain(self, role: str, instance_id: str) -> dict[str, str]:
        """Variables that are not secret."""
        return {
            "NODE_RED_ROLE": role,
            "NODE_RED_INSTANCE_ID": instance_id,
            "MONGO_DB": self.database,
            "NODE_RED_HTTP_NODE_ROOT": self.http_node_root,
            "NODE_RED_EDITOR_USER": self.editor_user,
            "PORT": str(PORT),
        }


def healthcheck_command() -> list[str]:
    """Container health check: GET /healthz on the instance's own port, 200 only when ready."""
    script = f"fetch('http://127.0.0.1:{PORT}/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
    return ["CMD", "node", "-e", script]


def as_env_list(plain: dict[str, str], secrets: dict[str, pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    """KEY=VALUE list for a container; secret whenever a secret is in it."""
    keys = list(secrets)
    return pulumi.Output.all(*secrets.values()).apply(
        lambda values: [f"{k}={v}" for k, v in plain.items()] + [f"{k}={v}" for k, v in zip(keys, values)]
    )
