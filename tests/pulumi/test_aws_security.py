"""aws target: load balancer from the allowed CIDRs only, tasks only from the load balancer, database only from the tasks."""

from .aws_helpers import (
    DOCDB_CLUSTER,
    EGRESS,
    INGRESS,
    LOAD_BALANCER,
    SECURITY_GROUP,
    ingress_sources,
    resource_id,
    run_example,
    security_group,
    service,
)

OFFICE = ["203.0.113.0/24", "198.51.100.7/32"]


def test_every_security_groups_ingress_source():
    program = run_example(aws={"allowedCidrs": OFFICE})
    alb, tasks, db = (security_group(program, s) for s in ("alb", "tasks", "db"))
    assert len(program.of_type(SECURITY_GROUP)) == 3
    assert ingress_sources(program, alb) == sorted((port, cidr) for cidr in OFFICE for port in (80, 443))
    assert ingress_sources(program, tasks) == [(1880, resource_id(alb))]
    assert ingress_sources(program, db) == [(27017, resource_id(tasks))]
    # No rule anywhere lets in anything else.
    assert len(program.of_type(INGRESS)) == 2 * len(OFFICE) + 2


def test_groups_are_attached_where_they_belong():
    program = run_example()
    alb, tasks, db = (security_group(program, s) for s in ("alb", "tasks", "db"))
    assert program.one(LOAD_BALANCER).inputs["securityGroups"] == [resource_id(alb)]
    for role in ("editor", "worker"):
        assert service(program, role).inputs["networkConfiguration"]["securityGroups"] == [resource_id(tasks)]
    assert program.one(DOCDB_CLUSTER).inputs["vpcSecurityGroupIds"] == [resource_id(db)]


def test_load_balancer_may_only_reach_the_tasks_and_the_database_reach_nothing():
    program = run_example()
    alb, tasks, db = (security_group(program, s) for s in ("alb", "tasks", "db"))
    egress = {}
    for rule in program.of_type(EGRESS):
        egress.setdefault(rule.inputs["securityGroupId"], []).append(rule.inputs)
    [alb_out] = egress[resource_id(alb)]
    assert (alb_out["fromPort"], alb_out["toPort"], alb_out["referencedSecurityGroupId"]) == (
        1880,
        1880,
        resource_id(tasks),
    )
    assert resource_id(db) not in egress
    for group in (alb, tasks, db):
        # Rules are separate resources: no inline rule can widen a group behind the tests' back.
        assert "ingress" not in group.inputs and "egress" not in group.inputs


def test_the_example_lets_everyone_reach_the_load_balancer_and_no_one_else_in():
    program = run_example()
    assert ingress_sources(program, security_group(program, "alb")) == [(80, "0.0.0.0/0"), (443, "0.0.0.0/0")]
    assert ingress_sources(program, security_group(program, "tasks")) == [
        (1880, resource_id(security_group(program, "alb")))
    ]
