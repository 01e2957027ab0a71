"""aws target: the editor and worker services on ECS Fargate, their tasks, secrets and autoscaling."""

import json

import pytest

from nodered_contract import DATABASE, DOCUMENTDB_CA_FILE, HEALTHCHECK_SCRIPT

from .aws_helpers import (
    DOCKER_IMAGE,
    LOAD_BALANCER,
    LOG_GROUP,
    SCALING_POLICY,
    SCALING_TARGET,
    SECRET_VERSION,
    USER_SECRETS,
    arn,
    container,
    containers,
    environment,
    example_config,
    execution_policy,
    run_example,
    secret_refs,
    secret_values,
    service,
    target_group,
    task_definition,
)
from .mock_program import RANDOM_PASSWORD, ROOT, is_secret

SECRET_VARIABLES = {"MONGO_URL", "NODE_RED_CREDENTIAL_SECRET", "NODE_RED_EDITOR_PASSWORD"}


@pytest.mark.parametrize("replicas", [2, 3, 7])
def test_worker_service_runs_workers_replicas_tasks(replicas):
    program = run_example(workers={"replicas": replicas})
    assert service(program, "worker").inputs["desiredCount"] == replicas
    assert program.output("workerCount") == replicas


def test_the_example_file_sets_the_worker_count():
    program = run_example()
    assert service(program, "worker").inputs["desiredCount"] == example_config()["workers"]["replicas"]


def test_never_two_editors():
    editor = service(run_example(), "editor").inputs
    assert editor["desiredCount"] == 1
    # The old editor stops before the new one starts: at no point do two editors write flows.
    assert (editor["deploymentMaximumPercent"], editor["deploymentMinimumHealthyPercent"]) == (100, 0)


def test_worker_deployments_keep_capacity_and_roll_back_on_failure():
    workers = service(run_example(), "worker").inputs
    assert workers["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert workers["deploymentMinimumHealthyPercent"] == 100 and workers["deploymentMaximumPercent"] >= 150


def test_services_sit_behind_their_target_groups():
    program = run_example()
    for role, group in (("editor", "editor"), ("worker", "workers")):
        [lb] = service(program, role).inputs["loadBalancers"]
        assert (lb["targetGroupArn"], lb["containerName"], lb["containerPort"]) == (
            arn(target_group(program, group)),
            role,
            1880,
        )
        assert service(program, role).inputs["launchType"] == "FARGATE"


@pytest.mark.parametrize("low,high,target", [(2, 10, 60), (3, 25, 45)])
def test_autoscaling_between_min_and_max_on_cpu(low, high, target):
    program = run_example(
        workers={"replicas": low, "autoscaling": {"min": low, "max": high, "targetCpuPercent": target}}
    )
    scaling = program.one(SCALING_TARGET).inputs
    assert (scaling["minCapacity"], scaling["maxCapacity"]) == (low, high)
    assert scaling["scalableDimension"] == "ecs:service:DesiredCount"
    workers = service(program, "worker")
    assert scaling["resourceId"] == f"service/nodered-cluster/{workers.name}"
    policy = program.one(SCALING_POLICY).inputs
    assert policy["policyType"] == "TargetTrackingScaling"
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert tracking["targetValue"] == target


def test_task_definitions_carry_the_environment_contract():
    program = run_example(httpNodeRoot="/api", editor={"user": "ops"})
    for role in ("editor", "worker"):
        env = environment(task_definition(program, role))
        assert env["NODE_RED_ROLE"] == role
        assert env["NODE_RED_HTTP_NODE_ROOT"] == "/api"
        assert env["MONGO_DB"] == DATABASE
        assert env["PORT"] == "1880"
        assert env["MONGO_TLS_CA_FILE"] == DOCUMENTDB_CA_FILE
        assert set(secret_refs(task_definition(program, role))) >= {"MONGO_URL", "NODE_RED_CREDENTIAL_SECRET"}
    editor = task_definition(program, "editor")
    assert environment(editor)["NODE_RED_EDITOR_USER"] == "ops"
    assert environment(editor)["MONGO_ENABLE_CHANGE_STREAMS"] == "true"
    assert "NODE_RED_EDITOR_PASSWORD" in secret_refs(editor)
    worker = task_definition(program, "worker")
    # Workers have no editor: no login, no password, and they never touch change-stream settings.
    assert "NODE_RED_EDITOR_PASSWORD" not in secret_refs(worker) and "NODE_RED_EDITOR_PASSWORD" not in environment(
        worker
    )
    assert "NODE_RED_EDITOR_USER" not in environment(worker)
    assert "MONGO_ENABLE_CHANGE_STREAMS" not in environment(worker)


def test_the_body_limit_and_the_trusted_load_balancer_reach_both_roles():
    """The ALB has no body limit of its own: the instances apply bodyLimitMb. They read the client
    address from X-Forwarded-For only when the peer has a private address (the ALB's nodes; the
    tasks' security group admits nothing else)."""
    program = run_example(bodyLimitMb=12)
    for role in ("editor", "worker"):
        env = environment(task_definition(program, role))
        assert env["NODE_RED_BODY_LIMIT_MB"] == "12"
        assert env["NODE_RED_TRUSTED_PROXIES"] == "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"


@pytest.mark.parametrize("idle", [None, 30, 600])
def test_node_keeps_idle_connections_open_longer_than_the_load_balancer(idle):
    """Else the ALB may send a request on a connection Node is just closing: an intermittent 502."""
    program = run_example(aws={"idleTimeoutSeconds": idle} if idle else {})
    alb_idle = int(program.one(LOAD_BALANCER).inputs["idleTimeout"])
    assert alb_idle == (idle or 120)
    for role in ("editor", "worker"):
        assert environment(task_definition(program, role))["NODE_RED_KEEPALIVE_SECONDS"] == str(alb_idle + 5)


def test_the_ca_bundle_path_is_where_the_image_puts_it():
    dockerfile = (ROOT / "nodered_image" / "Dockerfile").read_text()
    assert f" {DOCUMENTDB_CA_FILE}\n" in dockerfile


def test_both_roles_run_the_pushed_image_by_digest():
    program = run_example()
    image = program.one(DOCKER_IMAGE)
    assert image.inputs["imageName"].startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/")
    assert image.inputs.get("skipPush") is not True
    refs = {container(task_definition(program, role))["image"] for role in ("editor", "worker")}
    assert len(refs) == 1
    [ref] = refs
    assert ref.startswith(image.inputs["imageName"].split(":")[0]) and "@sha256:" in ref


def test_no_secret_in_any_plain_environment_variable():
    program = run_example(credentialSecret="a-credential-secret-of-the-user")
    values = secret_values(program)
    assert USER_SECRETS["editorPassword"] in values.values()
    assert "a-credential-secret-of-the-user" in values.values()
    for role in ("editor", "worker"):
        task = task_definition(program, role)
        env = environment(task)
        assert not SECRET_VARIABLES & set(env), env
        blob = json.dumps(container(task))
        for value in values.values():
            assert value not in blob
        # Each secret variable names a Secrets Manager secret this stack stores, at its current version.
        for name, value_from in secret_refs(task).items():
            secret_arn, version = value_from.split(":::")
            assert secret_arn in values and len(version) == 32, (name, value_from)
    # What is stored is a Pulumi secret (encrypted in the state), never plain text.
    for version in program.of_type(SECRET_VERSION):
        assert is_secret(version.raw_inputs["secretString"])


def test_each_secret_variable_holds_its_value():
    program = run_example(credentialSecret="a-credential-secret-of-the-user")
    values = secret_values(program)
    refs = secret_refs(task_definition(program, "editor"))
    stored = {name: values[ref.split(":::")[0]] for name, ref in refs.items()}
    assert stored["NODE_RED_EDITOR_PASSWORD"] == USER_SECRETS["editorPassword"]
    assert stored["NODE_RED_CREDENTIAL_SECRET"] == "a-credential-secret-of-the-user"
    assert stored["MONGO_URL"].startswith("mongodb://")


def test_the_credential_key_of_the_stack_config_is_what_both_roles_read():
    """Guards: a credential key generated into the Pulumi state, which `pulumi destroy` forgets while the final
    DocumentDB snapshot keeps the credentials it encrypted. The key is the stack config's (kept there by `make
    up`), and the Secrets Manager secret both roles read holds exactly it; no random resource holds one."""
    program = run_example()
    assert not [r for r in program.of_type(RANDOM_PASSWORD) if r.name.endswith("-credential-secret")]
    values = secret_values(program)
    for role in ("editor", "worker"):
        ref = secret_refs(task_definition(program, role))["NODE_RED_CREDENTIAL_SECRET"]
        assert values[ref.split(":::")[0]] == USER_SECRETS["credentialSecret"], role


def test_execution_roles_read_exactly_their_secrets():
    program = run_example()
    refs = {
        role: {r["valueFrom"].split(":::")[0] for c in containers(task_definition(program, role)) for r in c["secrets"]}
        for role in ("editor", "worker")
    }
    for role in ("editor", "worker"):
        [statement] = execution_policy(program, task_definition(program, role), "secrets")["Statement"]
        assert statement["Action"] == "secretsmanager:GetSecretValue"
        assert set(statement["Resource"]) == refs[role]
    # The editor's: its own 3 and the admin URL for its db-setup container; the workers': MONGO_URL and the
    # credential secret.
    assert len(refs["editor"]) == 4 and len(refs["worker"]) == 2


def test_containers_check_liveness_and_log_to_their_retained_group():
    """ECS replaces a task whose container check fails: that check is /livez (the process serves), never
    /healthz (readiness), or a deploy whose flows cannot start would restart every task in a loop."""
    program = run_example(aws={"logRetentionDays": 90})
    groups = {g.name: g for g in program.of_type(LOG_GROUP)}
    for role in ("editor", "worker"):
        definition = container(task_definition(program, role))
        # The image's healthcheck.js probing liveness (GET /livez on the container's port).
        assert definition["healthCheck"]["command"] == ["CMD", "node", HEALTHCHECK_SCRIPT, "liveness"]
        options = definition["logConfiguration"]["options"]
        assert definition["logConfiguration"]["logDriver"] == "awslogs"
        assert groups[options["awslogs-group"]].inputs["retentionInDays"] == 90
        assert options["awslogs-region"] == "eu-west-1"


def test_fargate_sizes_come_from_config():
    program = run_example(workers={"cpu": 1024, "memory": 3072}, editor={"cpu": 256, "memory": 512})
    worker, editor = task_definition(program, "worker").inputs, task_definition(program, "editor").inputs
    assert (worker["cpu"], worker["memory"]) == ("1024", "3072")
    assert (editor["cpu"], editor["memory"]) == ("256", "512")
    assert worker["requiresCompatibilities"] == ["FARGATE"] and worker["networkMode"] == "awsvpc"


def test_a_changed_secret_rolls_the_services_that_read_it():
    """valueFrom names the secret's version: a new value is a new task definition, which ECS rolls out."""
    before = run_example()
    after = run_example(editorPassword="another-password-entirely")
    assert container(task_definition(after, "editor")) != container(task_definition(before, "editor"))
    # Workers never read the editor password: they keep running.
    assert container(task_definition(after, "worker")) == container(task_definition(before, "worker"))
