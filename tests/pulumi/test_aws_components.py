"""aws components refuse wrong arguments when constructed, before any resource exists."""

import pytest

import nodered_contract
from components.aws.autoscaling import ServiceAutoscalingArgs
from components.aws.container import definition, target_environment
from components.aws.fargate_service import FargateServiceArgs
from components.aws.load_balancer import LoadBalancerArgs, worker_paths
from components.aws.runtime_secrets import RuntimeSecretsArgs
from components.aws.security_groups import SecurityGroupsArgs

SECRETS = {"MONGO_URL": ("arn:m", "arn:m:::v"), "NODE_RED_CREDENTIAL_SECRET": ("arn:c", "arn:c:::v")}


def _service(**override):
    args = dict(
        role="worker",
        family="f",
        cluster_arn="c",
        image_ref="i",
        repository_arn="r",
        cpu=512,
        memory=1024,
        environment=nodered_contract.environment("worker", **target_environment(True, 120)),
        secrets=SECRETS,
        desired_count=2,
        subnet_ids=["s"],
        security_group_id="g",
        assign_public_ip=False,
        target_group_arn="t",
        log_retention_days=30,
        region="eu-west-1",
    )
    return FargateServiceArgs(**{**args, **override})


def test_a_valid_worker_service_is_accepted():
    assert _service().desired_count == 2


@pytest.mark.parametrize(
    "override,reason",
    [
        (
            {"role": "editor", "desired_count": 2, "maximum_percent": 100, "minimum_healthy_percent": 0},
            "exactly one task",
        ),
        ({"role": "editor", "desired_count": 1, "maximum_percent": 200}, "exactly one task"),
        ({"role": "admin"}, "'editor' or 'worker'"),
        ({"secrets": {"MONGO_URL": ("a", "b")}}, "NODE_RED_CREDENTIAL_SECRET"),
        ({"environment": {"PORT": "1880"}}, "NODE_RED_ROLE is missing"),
        ({"minimum_healthy_percent": 150}, "minimum_healthy_percent"),
    ],
)
def test_fargate_service_args_refuse(override, reason):
    with pytest.raises(ValueError, match=reason):
        _service(**override)


def test_a_variable_cannot_be_both_plain_and_secret():
    with pytest.raises(ValueError, match="both plain and secret"):
        definition(
            name="worker",
            image="i",
            environment={"MONGO_URL": "x"},
            secrets={"MONGO_URL": "arn"},
            log_group="l",
            region="r",
        )


def test_other_args_refuse():
    with pytest.raises(ValueError, match="min"):
        ServiceAutoscalingArgs(cluster_name="c", service_name="s", min=5, max=3, target_cpu_percent=60)
    with pytest.raises(ValueError, match="allowed_cidrs"):
        SecurityGroupsArgs(vpc_id="v", allowed_cidrs=[])
    with pytest.raises(ValueError, match="http_node_root"):
        LoadBalancerArgs(
            vpc_id="v", subnet_ids=["a", "b"], security_group_id="g", http_node_root="/", idle_timeout_seconds=120
        )
    with pytest.raises(ValueError, match="keep-alive"):
        LoadBalancerArgs(
            vpc_id="v", subnet_ids=["a", "b"], security_group_id="g", http_node_root="/x", idle_timeout_seconds=10
        )
    with pytest.raises(ValueError, match="recovery_window_days"):
        RuntimeSecretsArgs(values={"A": "b"}, recovery_window_days=3)


def test_worker_paths_cover_the_root_and_below_only():
    assert worker_paths("/red-nodes") == ["/red-nodes", "/red-nodes/*"]
