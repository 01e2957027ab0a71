"""The Node-RED container definition for ECS: the image's environment contract, secrets by reference."""
import json
from typing import Mapping, Optional

PORT = 1880
# Liveness (the process serves HTTP): the container health check, whose failure makes ECS replace the
# task. Never readiness: a deploy whose flows cannot start would make ECS restart every task in a loop,
# the editor too, where the flows must be fixed.
LIVENESS_PATH = "/livez"
# Readiness (the newest flows run): whether the load balancer sends flow requests to a worker.
READINESS_PATH = "/healthz"
# The CA bundle the image ships for TLS to Amazon DocumentDB (nodered_image/Dockerfile).
DOCUMENTDB_CA_FILE = "/etc/ssl/certs/rds-global-bundle.pem"
MONGO_DB = "nodered"
# The launcher force-exits 15 s after SIGTERM; ECS must wait a little longer before SIGKILL.
STOP_TIMEOUT_SECONDS = 20
# Node keeps idle connections open this much longer than the load balancer does.
KEEPALIVE_MARGIN_SECONDS = 5

# Node's fetch, as in the image's own HEALTHCHECK (which checks readiness, shown by `docker ps`):
# no curl/wget needed in the image.
_HEALTH_COMMAND = (
    f"fetch('http://127.0.0.1:{PORT}{LIVENESS_PATH}')"
    ".then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
)


def keepalive_seconds(idle_timeout_seconds: int) -> int:
    """Node's keep-alive timeout behind the ALB: longer than the ALB's idle timeout, so the ALB always
    closes an idle connection first and never sends a request on one Node is closing (a 502)."""
    return idle_timeout_seconds + KEEPALIVE_MARGIN_SECONDS


def environment(
    role: str, http_node_root: str, editor_user: str, documentdb: bool, idle_timeout_seconds: int
) -> dict[str, str]:
    """Plain (non-secret) environment of one role. Secrets never go here: see `secrets`.
    idle_timeout_seconds: the load balancer's idle timeout."""
    env = {
        "NODE_RED_ROLE": role,
        "MONGO_DB": MONGO_DB,
        "NODE_RED_HTTP_NODE_ROOT": http_node_root,
        "PORT": str(PORT),
        "NODE_RED_KEEPALIVE_SECONDS": str(keepalive_seconds(idle_timeout_seconds)),
    }
    if role == "editor":
        env["NODE_RED_EDITOR_USER"] = editor_user
    if documentdb:
        env["MONGO_TLS_CA_FILE"] = DOCUMENTDB_CA_FILE
        if role == "editor":
            # DocumentDB has change streams off per collection until enabled; the editor does it.
            env["MONGO_ENABLE_CHANGE_STREAMS"] = "true"
    return env


def definition(
    *,
    name: str,
    image: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    log_group: str,
    region: str,
    stream_prefix: Optional[str] = None,
) -> str:
    """The task definition's containerDefinitions JSON. `secrets` maps variable -> Secrets Manager valueFrom."""
    container = {
        "name": name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": PORT, "protocol": "tcp", "name": "http"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
        "healthCheck": {
            "command": ["CMD", "node", "-e", _HEALTH_COMMAND],
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 90,
        },
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        # Many concurrent HTTP requests per worker: lift the open-files limit.
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": stream_prefix or name,
                # A log backlog must not block Node-RED's event loop.
                "mode": "non-blocking",
                "max-buffer-size": "4m",
            },
        },
    }
    overlap = set(environment) & set(secrets)
    if overlap:
        raise ValueError(f"variables both plain and secret: {sorted(overlap)}")
    return json.dumps([container])
