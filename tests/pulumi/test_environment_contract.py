"""Both deploy targets give each role only what the image reads for that role (nodered_image/contract.json),
and exactly its secrets.

Guards: the targets drifting apart from the image and from each other, e.g. the docker target handing the
editor login name to every worker while the aws target gave it to the editor only, or a worker able to
read the editor password."""

import pytest

import nodered_contract

from .aws_helpers import environment, run_example, secret_refs, task_definition
from .docker_helpers import DOCKER_KEPT_SECRETS, by_role, env
from .mock_program import cached_program


def docker_roles(config: dict) -> dict[str, list[tuple[set[str], set[str]]]]:
    """role -> (plain names, secret names) of each container of the docker target."""
    program = cached_program(config)
    secrets = {n for role in nodered_contract.ROLES for n in nodered_contract.secret_variables(role)}
    return {
        role: [(set(env(c)) - secrets, set(env(c)) & secrets) for c in by_role(program, role)]
        for role in nodered_contract.ROLES
    }


def aws_roles(**override) -> dict[str, list[tuple[set[str], set[str]]]]:
    program = run_example(**override)
    return {
        role: [(set(environment(task_definition(program, role))), set(secret_refs(task_definition(program, role))))]
        for role in nodered_contract.ROLES
    }


@pytest.mark.parametrize(
    "target",
    [
        lambda: docker_roles(
            {"editorPassword": "correct-horse-battery", **DOCKER_KEPT_SECRETS, "workers": {"replicas": 2}}
        ),
        lambda: aws_roles(),
        lambda: aws_roles(mongo={"mode": "external"}, mongoUri="mongodb://u:p@db.example:27017/?replicaSet=rs0"),
    ],
    ids=["docker", "aws-documentdb", "aws-external"],
)
def test_each_role_gets_only_variables_the_image_reads_for_it_and_exactly_its_secrets(target):
    for role, instances in target().items():
        assert instances, role
        for plain, secrets in instances:
            not_for_role = {n for n in plain if role not in nodered_contract.VARIABLES[n].roles}
            assert not not_for_role, f"{role} gets {sorted(not_for_role)}, which the image reads for other roles only"
            assert {"NODE_RED_ROLE", "MONGO_DB", "NODE_RED_HTTP_NODE_ROOT", "PORT"} <= plain
            # The editor's logins this config uses: the one-admin shorthand's password.
            given = {"MONGO_URL", "NODE_RED_CREDENTIAL_SECRET"} | (
                {"NODE_RED_EDITOR_PASSWORD"} if role == "editor" else set()
            )
            assert secrets == given
