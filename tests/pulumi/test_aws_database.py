"""aws target: DocumentDB (private, encrypted, TLS, change streams retained), or an external MongoDB."""

from urllib.parse import parse_qs, unquote, urlparse

from .aws_helpers import (
    DOCDB_CLUSTER,
    DOCDB_INSTANCE,
    DOCDB_PARAMS,
    DOCDB_SUBNETS,
    EXTERNAL_URI,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SECURITY_GROUP,
    SUBNET,
    environment,
    resource_id,
    run_example,
    secret_refs,
    secret_values,
    task_definition,
)
from .aws_mocks import DOCDB_ENDPOINT
from .mock_program import RANDOM_PASSWORD


def _mongo_url(program) -> str:
    ref = secret_refs(task_definition(program, "worker"))["MONGO_URL"]
    return secret_values(program)[ref.split(":::")[0]]


def test_parameter_group_requires_tls_and_retains_change_streams():
    program = run_example(aws={"documentdb": {"changeStreamRetentionHours": 48}})
    params = program.one(DOCDB_PARAMS).inputs
    assert params["family"] == "docdb5.0"
    values = {p["name"]: p["value"] for p in params["parameters"]}
    assert values["tls"] == "enabled"
    assert values["change_stream_log_retention_duration"] == str(48 * 3600)
    assert program.one(DOCDB_CLUSTER).inputs["dbClusterParameterGroupName"] == "nodered-docdb-params"


def test_cluster_is_encrypted_protected_and_snapshotted():
    program = run_example()
    cluster = program.one(DOCDB_CLUSTER).inputs
    assert cluster["storageEncrypted"] is True
    assert cluster["deletionProtection"] is True
    # Snapshot names are unique per account and region: the stack's own random suffix, kept in its state.
    suffix = program.one("random:index/randomId:RandomId").state["hex"]
    assert (
        cluster["skipFinalSnapshot"] is False and cluster["finalSnapshotIdentifier"] == f"nodered-docdb-final-{suffix}"
    )
    assert cluster["backupRetentionPeriod"] >= 1
    assert cluster["engineVersion"].startswith("5.")


def test_teardown_settings_are_honoured():
    cluster = (
        run_example(aws={"documentdb": {"deletionProtection": False, "skipFinalSnapshot": True}})
        .one(DOCDB_CLUSTER)
        .inputs
    )
    assert cluster["deletionProtection"] is False and cluster["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in cluster


def test_documentdb_is_not_publicly_accessible():
    program = run_example()
    private = [s for s in program.of_type(SUBNET) if "-private-" in s.name]
    assert sorted(program.one(DOCDB_SUBNETS).inputs["subnetIds"]) == sorted(resource_id(s) for s in private)
    assert program.one(DOCDB_CLUSTER).inputs["dbSubnetGroupName"] == "nodered-docdb-subnets"
    # Its subnets hand out no public addresses and have no route to the internet gateway.
    tables = {resource_id(t): t for t in program.of_type(ROUTE_TABLE)}
    for subnet in private:
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
        [association] = [
            a for a in program.of_type(ROUTE_TABLE_ASSOCIATION) if a.inputs["subnetId"] == resource_id(subnet)
        ]
        for route in tables[association.inputs["routeTableId"]].inputs.get("routes", []):
            assert "gatewayId" not in route, route
    # Reachable from the tasks only (the full ingress check is in test_aws_security).
    assert len([g for g in program.of_type(SECURITY_GROUP) if g.name.endswith("-db")]) == 1


def test_instances_follow_mongo_config():
    program = run_example(mongo={"instances": 3, "instanceClass": "db.r6g.large"})
    instances = program.of_type(DOCDB_INSTANCE)
    assert len(instances) == 3
    assert {i.inputs["instanceClass"] for i in instances} == {"db.r6g.large"}
    assert {i.inputs["clusterIdentifier"] for i in instances} == {"nodered-docdb-cluster-id"}


def test_connection_string_carries_tls_and_the_cluster_endpoint():
    program = run_example()
    url = urlparse(_mongo_url(program))
    assert url.scheme == "mongodb" and url.hostname == DOCDB_ENDPOINT and url.port == 27017
    query = parse_qs(url.query)
    assert query["tls"] == ["true"] and query["replicaSet"] == ["rs0"] and query["retryWrites"] == ["false"]
    assert query["authSource"] == ["admin"]
    # The app user (readWrite on its database only, set up by the editor task's db-setup container), never
    # the cluster's master user; its generated password, not merely some password (the mocks generate
    # one per stack).
    generated = {r.name: r.state["result"] for r in program.of_type(RANDOM_PASSWORD)}
    assert url.username == "noderedapp"
    assert unquote(url.password) == generated["nodered-docdb-app-password"]
    cluster = program.one(DOCDB_CLUSTER).inputs
    assert cluster["masterPassword"] == generated["nodered-docdb-master-password"] != unquote(url.password)


def test_external_mode_creates_no_documentdb_and_uses_the_given_uri():
    program = run_example(mongo={"mode": "external"}, mongoUri=EXTERNAL_URI)
    assert not [r for r in program.resources if r.type.startswith("aws:docdb/") or "DocumentDb" in r.type]
    assert not [g for g in program.of_type(SECURITY_GROUP) if g.name.endswith("-db")]
    assert _mongo_url(program) == EXTERNAL_URI
    for role in ("editor", "worker"):
        env = environment(task_definition(program, role))
        # The Atlas URI brings its own TLS settings; DocumentDB's CA bundle and change-stream switch do not apply.
        assert "MONGO_TLS_CA_FILE" not in env and "MONGO_ENABLE_CHANGE_STREAMS" not in env
        assert EXTERNAL_URI not in str(env)
