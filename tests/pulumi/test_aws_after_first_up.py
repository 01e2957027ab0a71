"""aws target, later in a stack's life: a restore from the final DocumentDB snapshot after `pulumi destroy`, a
credential key rotation, instance class changes applied at once, the execution role scoped to what the tasks use,
request-count autoscaling, and a grace period that covers the editor's database setup."""

import json
from urllib.parse import urlparse

import pulumi
import pytest

from components.aws.fargate_service import NODE_RED_START_SECONDS
from nodered_contract import DB_SETUP_DEADLINE_SECONDS, PREVIOUS_CREDENTIAL_SECRET

from .aws_helpers import (
    DOCDB_CLUSTER,
    DOCDB_INSTANCE,
    LOG_GROUP,
    SCALING_POLICY,
    USER_SECRETS,
    arn,
    containers,
    example_config,
    execution_policy,
    merged,
    run_example,
    secret_refs,
    secret_values,
    service,
    task_definition,
)
from .mock_program import run_program

SNAPSHOT = "nodered-docdb-final-0a1b2c3d"


def role_secret(program, role: str, variable: str) -> str:
    """The value `role`'s Node-RED container gets for `variable` from Secrets Manager."""
    ref = secret_refs(task_definition(program, role))[variable]
    return secret_values(program)[ref.split(":::")[0]]


def setup_secret(program, variable: str) -> str:
    [setup] = [c for c in containers(task_definition(program, "editor")) if not c["essential"]]
    [ref] = [s["valueFrom"] for s in setup["secrets"] if s["name"] == variable]
    return secret_values(program)[ref.split(":::")[0]]


def test_destroy_then_up_from_the_final_snapshot_gives_both_roles_the_same_key():
    """Guards: the credential key was a random value in the Pulumi state (its Secrets Manager copy restorable for 7
    days only) and no setting created the cluster from a snapshot: after `pulumi destroy`, the credentials in the
    final snapshot could never be decrypted again.

    The sequence, as the engine runs it: `up` (the key is the stack config's, kept there by `make up`), `destroy`
    (the state emptied, the stack config kept), `up` with aws.documentdb.snapshotIdentifier set to the snapshot
    the first stack named."""
    config = example_config()
    first = run_program(config, stack="prod", state={})
    snapshot = first.output("finalSnapshotIdentifier")
    assert first.one(DOCDB_CLUSTER).inputs["finalSnapshotIdentifier"] == snapshot
    assert "snapshotIdentifier" not in first.one(DOCDB_CLUSTER).inputs
    key = config["credentialSecret"]
    assert {role_secret(first, r, "NODE_RED_CREDENTIAL_SECRET") for r in ("editor", "worker")} == {key}

    # `pulumi destroy`: nothing of the state is left; the stack config stays as it was.
    restored = run_program(merged(config, {"aws": {"documentdb": {"snapshotIdentifier": snapshot}}}), "prod", {})
    cluster = restored.one(DOCDB_CLUSTER)
    assert cluster.inputs["snapshotIdentifier"] == snapshot
    for role in ("editor", "worker"):
        assert role_secret(restored, role, "NODE_RED_CREDENTIAL_SECRET") == key, role
    # A new master password (the old one went with the state): the provider sets it on the restored cluster, and
    # the editor task's db-setup logs in with it to reset the app user whose password the snapshot holds.
    admin = urlparse(setup_secret(restored, "MONGO_ADMIN_URL"))
    assert (
        admin.password == cluster.inputs["masterPassword"] != urlparse(setup_secret(first, "MONGO_ADMIN_URL")).password
    )
    assert (
        urlparse(setup_secret(restored, "MONGO_URL")).username
        == urlparse(role_secret(restored, "worker", "MONGO_URL")).username
    )
    # A new snapshot name for the restored stack's own destroy: never one that exists.
    assert restored.output("finalSnapshotIdentifier") != snapshot


def test_the_snapshot_is_read_when_the_cluster_is_created_only():
    """Setting, changing or removing aws.documentdb.snapshotIdentifier on a running stack replaces nothing (the
    provider would replace the cluster for a changed snapshot: a protected cluster stops the `up`, an unprotected
    one is recreated from the snapshot with the data since lost)."""
    cluster = run_example(aws={"documentdb": {"snapshotIdentifier": SNAPSHOT}}).one(DOCDB_CLUSTER)
    assert cluster.ignore_changes == ["snapshotIdentifier"]
    assert cluster.protect


@pytest.mark.parametrize("value", ["final-", "1abc", "a--b", "arn:aws:rds:eu-west-1:123:cluster-snapshot:x", "x" * 256])
def test_a_snapshot_that_is_no_snapshot_identifier_is_refused(value):
    with pytest.raises(
        pulumi.RunError, match="aws.documentdb.snapshotIdentifier: must be a DocumentDB cluster snapshot"
    ):
        run_example(aws={"documentdb": {"snapshotIdentifier": value}})


def test_a_snapshot_is_refused_for_an_external_mongodb():
    with pytest.raises(pulumi.RunError, match="snapshotIdentifier: only for mongo.mode documentdb"):
        run_example(
            mongo={"mode": "external"},
            mongoUri="mongodb+srv://u:p@h.example.net/",
            aws={"documentdb": {"snapshotIdentifier": SNAPSHOT}},
        )


def test_a_shared_snapshot_is_named_by_its_arn():
    shared = "arn:aws:rds:eu-west-1:210987654321:cluster-snapshot:nodered-docdb-final-0a1b2c3d"
    cluster = run_example(aws={"documentdb": {"snapshotIdentifier": shared}}).one(DOCDB_CLUSTER)
    assert cluster.inputs["snapshotIdentifier"] == shared


def test_an_aws_stack_without_a_credential_key_in_its_config_is_refused_naming_the_fix():
    """Guards: the program generated the key itself, into the state `pulumi destroy` forgets."""
    config = {k: v for k, v in example_config().items() if k != "credentialSecret"}
    with pytest.raises(pulumi.RunError) as raised:
        run_program(config)
    message = str(raised.value)
    assert "nodered-scale:credentialSecret: is required on the aws target" in message
    assert "python -m stack_secrets" in message


@pytest.mark.parametrize("apply", [None, True, False])
def test_instance_class_and_cluster_changes_apply_during_the_up(apply):
    """Guards: no apply_immediately, so a new mongo.instanceClass waited for the next maintenance window: `pulumi
    up` said done and nothing changed until Sunday night. auto_minor_version_upgrade, which DocumentDB ignores, is
    gone."""
    documentdb = {} if apply is None else {"applyImmediately": apply}
    program = run_example(mongo={"instanceClass": "db.r6g.large"}, aws={"documentdb": documentdb})
    expected = True if apply is None else apply
    assert program.one(DOCDB_CLUSTER).inputs["applyImmediately"] is expected
    for instance in program.of_type(DOCDB_INSTANCE):
        assert instance.inputs["instanceClass"] == "db.r6g.large"
        assert instance.inputs["applyImmediately"] is expected
        assert "autoMinorVersionUpgrade" not in instance.inputs


def test_the_execution_role_pulls_from_the_stacks_repository_and_writes_its_own_log_group_only():
    """Guards: AmazonECSTaskExecutionRolePolicy, which lets the tasks' execution role pull any image of the account
    and write to any log group."""
    program = run_example()
    [repository] = program.of_type("aws:ecr/repository:Repository")
    for role in ("editor", "worker"):
        task = task_definition(program, role)
        group = next(c for c in containers(task) if c["essential"])["logConfiguration"]["options"]["awslogs-group"]
        [log_group] = [g for g in program.of_type(LOG_GROUP) if g.name == group]
        statements = execution_policy(program, task, "pull-and-log")["Statement"]
        by_action = {
            a: s["Resource"]
            for s in statements
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }
        # A registry token has no resource of its own: `*` is the only value AWS takes for it.
        assert by_action.pop("ecr:GetAuthorizationToken") == "*"
        for action in ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"):
            assert by_action.pop(action) == arn(repository), action
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            assert by_action.pop(action) == [arn(log_group), arn(log_group) + ":*"], action
        assert by_action == {}
    assert not program.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")


def test_workers_scale_on_requests_per_target_beside_cpu():
    """Guards: autoscaling followed CPU only, while HTTP flows waiting on other services keep a worker busy
    without using its CPU."""
    program = run_example(workers={"autoscaling": {"requestsPerTarget": 600}})
    policies = {p.name.rsplit("-", 1)[1]: p for p in program.of_type(SCALING_POLICY)}
    assert set(policies) == {"cpu", "requests"}
    tracking = policies["requests"].inputs["targetTrackingScalingPolicyConfiguration"]
    metric = tracking["predefinedMetricSpecification"]
    assert metric["predefinedMetricType"] == "ALBRequestCountPerTarget" and tracking["targetValue"] == 600
    [alb] = program.of_type("aws:lb/loadBalancer:LoadBalancer")
    [workers_group] = [g for g in program.of_type("aws:lb/targetGroup:TargetGroup") if g.name.endswith("-workers")]
    assert metric["resourceLabel"] == f"{alb.state['arnSuffix']}/{workers_group.state['arnSuffix']}"
    # AWS refuses the label of a target group no listener rule uses yet.
    [rule] = [r for r in program.of_type("aws:lb/listenerRule:ListenerRule") if r.name.endswith("-workers")]
    assert program.waits_for(policies["requests"], rule)
    # Both policies act on the worker service's one scalable target.
    assert policies["requests"].inputs["resourceId"] == policies["cpu"].inputs["resourceId"]
    # Without the key: CPU only.
    assert [p.name for p in run_example().of_type(SCALING_POLICY)] == [policies["cpu"].name]


@pytest.mark.parametrize("value", [0, -5, "many"])
def test_requests_per_target_must_be_a_positive_count(value):
    with pytest.raises(pulumi.RunError, match="workers.autoscaling.requestsPerTarget"):
        run_example(workers={"autoscaling": {"requestsPerTarget": value}})


def test_the_editors_grace_period_covers_its_database_setup_and_node_reds_start():
    """The editor's task runs db-setup before Node-RED (up to its deadline). ECS ignores the load balancer's and
    the container's health checks for the grace period "after a task has first started"; its documentation does
    not say whether a task whose Node-RED container still waits for the setup counts as started. Either way a slow
    first setup must not get the editor replaced in a loop: the grace covers the setup's whole run and Node-RED's
    own start after it, as a worker gets for its start."""
    program = run_example()
    editor, workers = service(program, "editor"), service(program, "worker")
    assert workers.inputs["healthCheckGracePeriodSeconds"] == NODE_RED_START_SECONDS
    assert editor.inputs["healthCheckGracePeriodSeconds"] >= DB_SETUP_DEADLINE_SECONDS + NODE_RED_START_SECONDS
    # External MongoDB: no setup step, no extra grace.
    external = run_example(mongo={"mode": "external"}, mongoUri="mongodb+srv://u:p@h.example.net/")
    assert service(external, "editor").inputs["healthCheckGracePeriodSeconds"] == NODE_RED_START_SECONDS


def test_during_a_rotation_both_roles_get_the_previous_key_from_secrets_manager():
    program = run_example(previousCredentialSecret="the-key-before-0123456789")
    for role in ("editor", "worker"):
        assert role_secret(program, role, PREVIOUS_CREDENTIAL_SECRET) == "the-key-before-0123456789"
        assert role_secret(program, role, "NODE_RED_CREDENTIAL_SECRET") == USER_SECRETS["credentialSecret"]
    # Outside a rotation there is no such secret at all.
    assert PREVIOUS_CREDENTIAL_SECRET not in secret_refs(task_definition(run_example(), "worker"))


def test_the_previous_key_must_differ_from_the_key():
    with pytest.raises(pulumi.RunError, match="previousCredentialSecret: is the same as credentialSecret"):
        run_example(previousCredentialSecret=USER_SECRETS["credentialSecret"])


def test_the_final_snapshot_name_is_an_output_before_any_destroy():
    program = run_example()
    assert json.dumps(program.output("finalSnapshotIdentifier")).startswith('"nodered-docdb-final-')
    skipped = run_example(aws={"documentdb": {"skipFinalSnapshot": True}})
    assert "finalSnapshotIdentifier" not in skipped.outputs
