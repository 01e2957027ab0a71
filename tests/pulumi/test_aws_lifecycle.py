"""aws target: what a real first `pulumi up`, a later `up` during a scale-out, a replacement and a destroy do.
Mocks cannot run AWS, so these check the resource options and dependency edges the engine acts on, and the
task definitions ECS acts on; edges are followed transitively (a service names its task definition, which
names a Secrets Manager secret version, whose value is made from the database's outputs)."""

from urllib.parse import urlparse

from nodered_contract import DB_SETUP_SCRIPT

from . import mock_program
from .aws_helpers import (
    DOCDB_CLUSTER,
    DOCDB_INSTANCE,
    EXTERNAL_URI,
    ROLE_POLICY,
    SCALING_TARGET,
    SECRET,
    SECRET_VERSION,
    SUBNET,
    arn,
    container,
    containers,
    example_config,
    merged,
    run_example,
    secret_values,
    service,
    task_definition,
)
from .aws_mocks import REGION, ZONES
from .mock_program import ROOT, run_program


def _secret_version(program, variable: str):
    slug = variable.lower().replace("_", "-")
    [version] = [v for v in program.of_type(SECRET_VERSION) if v.name.endswith(f"-{slug}")]
    return version


def test_services_and_their_mongo_url_wait_for_every_documentdb_instance():
    """Guards: the services (and the MONGO_URL secret they read) depended only on the cluster endpoint, which
    exists minutes before any instance: tasks started against no database, failed their health checks, the
    circuit breaker failed the first deployment."""
    program = run_example(mongo={"instances": 3})
    instances = program.of_type(DOCDB_INSTANCE)
    assert len(instances) == 3
    url_version = _secret_version(program, "MONGO_URL")
    for instance in instances:
        assert program.waits_for(url_version, instance), instance.name
        for role in ("editor", "worker"):
            task = task_definition(program, role)
            # The edge runs service -> task definition -> secret version -> instance.
            assert program.waits_for(task, url_version)
            assert program.waits_for(service(program, role), instance), (role, instance.name)


def test_up_waits_for_both_services_to_reach_steady_state():
    """Guards: `pulumi up` reported success before any task was healthy, also when the circuit breaker then
    rolled the first deployment back; a rerun changed nothing."""
    program = run_example()
    for role in ("editor", "worker"):
        assert service(program, role).inputs["waitForSteadyState"] is True, role


def test_autoscaling_owns_the_worker_count_after_the_first_up():
    """Guards: desired_count was owned by both Pulumi and autoscaling: an `up` during a scale-out set the
    workers back to workers.replicas."""
    program = run_example(workers={"replicas": 3})
    workers, editor = service(program, "worker"), service(program, "editor")
    assert workers.inputs["desiredCount"] == 3  # the first count
    assert "desiredCount" in workers.ignore_changes
    assert "desiredCount" not in editor.ignore_changes  # always exactly one editor
    assert program.waits_for(program.one(SCALING_TARGET), workers)


def test_the_database_cannot_be_replaced_or_destroyed_while_deletion_protection_is_on():
    """Guards: no protect on the cluster (a change forcing replacement made a new, empty cluster and pointed
    MONGO_URL at it: the flows gone from the app)."""
    cluster = run_example().one(DOCDB_CLUSTER)
    assert cluster.protect and cluster.inputs["deletionProtection"] is True


def test_deletion_protection_off_lifts_protect_too_so_destroy_can_run():
    assert not run_example(aws={"documentdb": {"deletionProtection": False}}).one(DOCDB_CLUSTER).protect


def test_services_wait_for_their_execution_role_policies():
    """Guards: the services waited for the secrets policy but not for the one that lets ECS pull the image and
    write logs: the first tasks could fail to start."""
    program = run_example()
    for role in ("editor", "worker"):
        task = task_definition(program, role)
        role_name = task.inputs["executionRoleArn"].rsplit(":", 1)[1]
        policies = [p for p in program.of_type(ROLE_POLICY) if p.inputs["role"] == role_name]
        assert len(policies) == 2
        for policy in policies:
            assert program.waits_for(service(program, role), policy), (role, policy.name)


def test_node_red_logs_in_as_an_app_user_the_editor_task_sets_up_with_the_master_login():
    """Guards: the app connected as the DocumentDB master user, which may do anything on the cluster."""
    program = run_example()
    stored = secret_values(program)
    editor_task, worker_task = task_definition(program, "editor"), task_definition(program, "worker")
    [setup] = [c for c in containers(editor_task) if not c["essential"]]
    assert setup["command"] == ["node", DB_SETUP_SCRIPT]
    setup_secrets = {s["name"]: stored[s["valueFrom"].split(":::")[0]] for s in setup["secrets"]}
    assert set(setup_secrets) == {"MONGO_ADMIN_URL", "MONGO_URL"}
    admin, app = urlparse(setup_secrets["MONGO_ADMIN_URL"]), urlparse(setup_secrets["MONGO_URL"])
    assert admin.username == program.one(DOCDB_CLUSTER).inputs["masterUsername"]
    assert app.username != admin.username and app.password != admin.password
    # Node-RED starts once the setup succeeded, and neither role's Node-RED ever gets the master login.
    assert container(editor_task)["dependsOn"] == [{"containerName": setup["name"], "condition": "SUCCESS"}]
    for task in (editor_task, worker_task):
        names = {s["name"] for s in container(task)["secrets"]}
        assert "MONGO_ADMIN_URL" not in names and "MONGO_URL" in names
        [url_ref] = [s["valueFrom"] for s in container(task)["secrets"] if s["name"] == "MONGO_URL"]
        assert urlparse(stored[url_ref.split(":::")[0]]).username == app.username
    assert len(containers(worker_task)) == 1
    # The setup container reads the admin URL's secret, and waits for the instances like the rest.
    [admin_secret] = [s for s in program.of_type(SECRET) if s.name.endswith("-mongo-admin-url")]
    assert any(s["valueFrom"].startswith(arn(admin_secret)) for s in setup["secrets"])
    for instance in program.of_type(DOCDB_INSTANCE):
        assert program.waits_for(_secret_version(program, "MONGO_ADMIN_URL"), instance)


def test_external_mongodb_gets_no_setup_container():
    program = run_example(mongo={"mode": "external"}, mongoUri=EXTERNAL_URI)
    assert len(containers(task_definition(program, "editor"))) == 1
    assert not [s for s in program.of_type(SECRET) if s.name.endswith("-mongo-admin-url")]


def test_a_new_vpc_uses_regular_zones_only(monkeypatch):
    """Guards: the zone lookup had no opt-in filter, so a region whose list starts with a Local Zone (opt-in,
    without DocumentDB or NAT gateways) could get a subnet there."""
    local_zone = f"{REGION}-lax-1a"

    def zones(args: dict) -> dict:
        # As AWS answers: opted-in Local Zones are listed unless the filter leaves them out.
        regular_only = any(
            f.get("name") == "opt-in-status" and f.get("values") == ["opt-in-not-required"]
            for f in args.get("filters") or []
        )
        names = ZONES if regular_only else [local_zone, *ZONES]
        return {"id": REGION, "names": names, "zoneIds": names}

    monkeypatch.setitem(mock_program.CALLS, "aws:index/getAvailabilityZones:getAvailabilityZones", zones)
    program = run_program(merged(example_config(), {"aws": {"availabilityZones": 2}}))
    used = {s.inputs["availabilityZone"] for s in program.of_type(SUBNET)}
    assert used == set(ZONES[:2])


def test_the_docs_list_every_endpoint_private_subnets_of_an_existing_vpc_need():
    """Guards: the existing-VPC prerequisites listed ECR, Secrets Manager and Logs endpoints but not the S3
    gateway endpoint ECR's image layers are pulled from: tasks without NAT could not start."""
    page = (ROOT / "docs" / "aws.md").read_text()
    [line] = [line for line in page.splitlines() if "An existing VPC instead of a new one" in line]
    paragraph = page[page.index(line) : page.index("\n\n", page.index(line))]
    for endpoint in ("ecr.api", "ecr.dkr", "S3 gateway", "secretsmanager", "logs"):
        assert endpoint in paragraph, endpoint
