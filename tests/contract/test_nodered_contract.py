"""nodered_contract, the Python side of nodered_image/contract.json, and the Dockerfile that ships it.

Guards: a deploy target giving a role a variable the image does not read for it (the editor login on
workers), a secret put into plain environment, and an image whose health check, port or CA bundle is
not where the contract (and so every deploy target) says."""

import re

import pytest

import nodered_contract as contract

from .node import IMAGE

DOCKERFILE = (IMAGE / "Dockerfile").read_text()


def test_the_defaults_deployed_stacks_rely_on_stay():
    """Existing stacks keep their flows in this database and serve on this port and root: a changed default
    would start every instance on an empty database, or move the endpoints users call."""
    assert (contract.DATABASE, contract.PORT, contract.DEFAULT_HTTP_NODE_ROOT) == ("nodered", 1880, "/red-nodes")
    assert (contract.LIVENESS_PATH, contract.READINESS_PATH) == ("/livez", "/healthz")


def test_each_role_gets_the_secrets_it_needs_and_only_those():
    """Workers never get the editor's logins (password, users' passwords, the single sign-on client secret,
    API tokens); the editor never gets the flows' API users and tokens; both get the key before during a
    rotation."""
    assert contract.secret_variables("editor") == (
        "MONGO_URL",
        "NODE_RED_CREDENTIAL_SECRET",
        "NODE_RED_PREVIOUS_CREDENTIAL_SECRET",
        "NODE_RED_EDITOR_PASSWORD",
        "NODE_RED_EDITOR_PASSWORDS",
        "NODE_RED_EDITOR_OIDC_CLIENT_SECRET",
        "NODE_RED_EDITOR_API_TOKEN_SECRETS",
    )
    assert contract.secret_variables("worker") == (
        "MONGO_URL",
        "NODE_RED_CREDENTIAL_SECRET",
        "NODE_RED_PREVIOUS_CREDENTIAL_SECRET",
        "NODE_RED_HTTP_USERS",
        "NODE_RED_HTTP_TOKENS",
    )
    with pytest.raises(ValueError, match="role"):
        contract.secret_variables("admin")


def test_the_same_arguments_build_each_roles_own_environment():
    args = dict(
        http_node_root="/api",
        editor_user="ops",
        instance_id="i-1",
        keepalive_seconds=125,
        tls_ca_file=contract.DOCUMENTDB_CA_FILE,
        enable_change_streams=True,
    )
    common = {
        "NODE_RED_INSTANCE_ID": "i-1",
        "MONGO_DB": contract.DATABASE,
        "NODE_RED_HTTP_NODE_ROOT": "/api",
        "PORT": "1880",
        "NODE_RED_KEEPALIVE_SECONDS": "125",
        "MONGO_TLS_CA_FILE": "/etc/ssl/certs/rds-global-bundle.pem",
    }
    assert contract.environment("worker", **args) == {"NODE_RED_ROLE": "worker", **common}
    assert contract.environment("editor", **args) == {
        "NODE_RED_ROLE": "editor",
        **common,
        "NODE_RED_EDITOR_USER": "ops",
        "MONGO_ENABLE_CHANGE_STREAMS": "true",
    }


def test_optional_variables_are_left_to_the_images_defaults():
    assert contract.environment("worker") == {
        "NODE_RED_ROLE": "worker",
        "MONGO_DB": contract.DATABASE,
        "NODE_RED_HTTP_NODE_ROOT": "/red-nodes",
        "PORT": "1880",
    }
    assert contract.environment(
        "worker", extra={"NODE_RED_USER_DIR": "/tmp/w", "NODE_RED_LISTEN_HOST": "127.0.0.1"}
    ) == {
        **contract.environment("worker"),
        "NODE_RED_USER_DIR": "/tmp/w",
        "NODE_RED_LISTEN_HOST": "127.0.0.1",
    }


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"role": "admin"}, "role must be one of editor, worker"),
        ({"http_node_root": "/red-nodes/"}, "NODE_RED_HTTP_NODE_ROOT must not end with '/'"),
        ({"keepalive_seconds": 4}, "NODE_RED_KEEPALIVE_SECONDS must be from 5 to 86400"),
        ({"port": 0}, "PORT must be from 1 to 65535"),
        ({"port": "80a"}, "PORT must be an integer"),
        ({"extra": {"NODE_RED_REVISIONS_KEPT": 0}}, "NODE_RED_REVISIONS_KEPT must be at least 1"),
        ({"extra": {"MONGO_URL": "mongodb://x"}}, "MONGO_URL is a secret"),
        ({"extra": {"NODE_RED_EDITOR_PASSWORD": "pw"}}, "NODE_RED_EDITOR_PASSWORD is a secret"),
        ({"extra": {"NODE_RED_FOO": "1"}}, "NODE_RED_FOO is not a variable the image reads"),
        ({"extra": {"PORT": "1"}}, "own parameter"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(kwargs, message):
    kwargs = {"role": "worker", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        contract.environment(kwargs.pop("role"), **kwargs)


@pytest.mark.parametrize(
    "value,reason",
    [
        ("red-nodes", "must start with '/'"),
        ("/", "not '/' itself"),
        ("/red-nodes/", "must not end with '/'"),
        ("/a//b", "empty segment"),
        ("/a/..", "'..' segment"),
        ("/a b", "letters, digits"),
        ("/Auth", "must not start with '/Auth'"),
        (None, "must be a string"),
    ],
)
def test_http_node_root_errors_say_why(value, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        contract.validate_http_node_root(value)


def test_health_checks_run_the_images_script():
    assert contract.healthcheck_command() == ["CMD", "node", contract.HEALTHCHECK_SCRIPT, "readiness"]
    assert contract.healthcheck_command("liveness")[-1] == "liveness"
    with pytest.raises(ValueError, match="probe"):
        contract.healthcheck_command("startup")


def test_the_dockerfile_ships_what_the_contract_points_at():
    app_dir = contract.HEALTHCHECK_SCRIPT.rsplit("/", 1)[0] + "/"
    [copy] = [line for line in DOCKERFILE.splitlines() if line.startswith("COPY") and "settings.js" in line]
    assert copy.split()[-1] == app_dir
    assert {"settings.js", "contract.json", "healthcheck.js"} <= set(copy.split())
    assert f'CMD ["node", "{contract.HEALTHCHECK_SCRIPT}", "readiness"]' in DOCKERFILE
    assert re.search(rf"^EXPOSE {contract.PORT}$", DOCKERFILE, re.M)
    assert re.search(rf"^ADD \S+ {re.escape(contract.DOCUMENTDB_CA_FILE)}$", DOCKERFILE, re.M)


def test_the_dockerfile_health_check_has_the_contracts_timings():
    """Guards: the image's HEALTHCHECK (what `docker ps` shows) and the docker target's containers checking
    readiness on different schedules: one source, contract.json health.container."""
    [line] = [ln for ln in DOCKERFILE.splitlines() if ln.startswith("HEALTHCHECK")]
    flags = dict(re.findall(r"--([a-z-]+)=(\S+)", line))
    timings = contract.CONTAINER_HEALTHCHECK
    assert flags == {
        "interval": f"{timings.interval_seconds}s",
        "timeout": f"{timings.timeout_seconds}s",
        "start-period": f"{timings.start_period_seconds}s",
        "retries": str(timings.retries),
    }


def test_the_database_setups_environment_is_the_contracts():
    assert contract.DB_SETUP_SECRETS == ("MONGO_ADMIN_URL", "MONGO_URL")
    assert contract.db_setup_environment(tls_ca_file=contract.DOCUMENTDB_CA_FILE) == {
        "MONGO_DB": contract.DATABASE,
        "MONGO_TLS_CA_FILE": contract.DOCUMENTDB_CA_FILE,
    }
    assert contract.db_setup_environment() == {"MONGO_DB": contract.DATABASE}


def test_each_role_gets_its_secrets_from_one_map():
    values = contract.secret_values(mongo_url="m", credential_secret="c", editor_password="p")
    assert contract.role_secrets("worker", values) == {"MONGO_URL": "m", "NODE_RED_CREDENTIAL_SECRET": "c"}
    assert contract.role_secrets("editor", values) == {
        **contract.role_secrets("worker", values),
        "NODE_RED_EDITOR_PASSWORD": "p",
    }
    # Logins a stack does not use are not given at all.
    users_only = contract.secret_values(mongo_url="m", credential_secret="c", editor_passwords='{"ann": "pw"}')
    assert contract.role_secrets("editor", users_only) == {
        **contract.role_secrets("worker", values),
        "NODE_RED_EDITOR_PASSWORDS": '{"ann": "pw"}',
    }
    assert contract.role_secrets("worker", users_only) == contract.role_secrets("worker", values)


def test_the_contract_is_consistent():
    for variable in contract.VARIABLES.values():
        assert set(variable.roles) <= set(contract.ROLES) and variable.roles, variable.name
        assert variable.meaning, variable.name
        if variable.alternative:
            assert contract.VARIABLES[variable.alternative].alternative_to == variable.name
        if variable.default is not None and variable.minimum is not None:
            assert variable.minimum <= int(variable.default) <= (variable.maximum or int(variable.default))
    assert contract.validate_http_node_root(contract.DEFAULT_HTTP_NODE_ROOT)


def test_the_docs_table_lists_exactly_the_contracts_variables():
    """docs/instances.md keeps the one table for people; it must not drift from contract.json."""
    page = (IMAGE.parent / "docs" / "instances.md").read_text()
    section = page.split("## Every instance: environment", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    listed = [re.match(r"\| `([A-Z_]+)` \|", row).group(1) for row in rows]
    assert sorted(listed) == sorted(contract.VARIABLES)
    for row, name in zip(rows, listed, strict=False):
        roles = row.split("|")[2].strip()
        variable = contract.VARIABLES[name]
        assert roles == ("both" if set(variable.roles) == set(contract.ROLES) else variable.roles[0]), name
        assert ("**secret**" in row) == variable.secret, name
