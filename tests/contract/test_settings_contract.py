"""settings.js reads exactly the environment contract.json declares, with its defaults and its
httpNodeRoot rule, the same rule the Python side (deploy targets, router, stack config) applies.

Guards: a variable the image reads that nobody documents or deploys (or one a target sets that the
image ignores), and a stack whose httpNodeRoot the config and router accept but the image refuses to
start with, or the other way round (e.g. "/red-nodes/" or "/auth" once passed the router and broke
the editor's login)."""

import json

import pytest

import nodered_contract as contract

from .node import load_settings

BASE = {"MONGO_URL": "mongodb://127.0.0.1:1/?replicaSet=rs0", "NODE_RED_CREDENTIAL_SECRET": "a-credential-secret"}
# bcrypt hash of "secret-password", cost 4.
HASH = "$2b$04$SIAVXqp76KA/p0PVY.EFTeygVh1qmz1YHfWV.SktHBlcPbUMACly2"
# One environment per branch of settings.js: each role, the editor's password vs. hash, and its other logins.
BRANCHES = {
    "worker": [{**BASE, "NODE_RED_ROLE": "worker"}],
    "editor": [
        {**BASE, "NODE_RED_ROLE": "editor", "NODE_RED_EDITOR_PASSWORD": "secret-password"},
        {**BASE, "NODE_RED_ROLE": "editor", "NODE_RED_EDITOR_PASSWORD_HASH": HASH},
        # Flows from files: the lock and the deploy token's hash.
        {
            **BASE,
            "NODE_RED_ROLE": "editor",
            "NODE_RED_EDITOR_PASSWORD_HASH": HASH,
            "NODE_RED_FLOWS_SOURCE": "flows/prod",
            "NODE_RED_FLOWS_DEPLOYER": "pulumi:prod",
            "NODE_RED_FLOWS_DEPLOY_TOKEN_HASH": "0" * 64,
        },
        # Its other logins: users with roles, API tokens, single sign-on.
        {
            **BASE,
            "NODE_RED_ROLE": "editor",
            "NODE_RED_EDITOR_USERS": '[{"name": "ann", "role": "read"}]',
            "NODE_RED_EDITOR_PASSWORDS": '{"ann": "ann-password"}',
            "NODE_RED_EDITOR_API_TOKENS": '[{"name": "ci", "role": "admin"}]',
            "NODE_RED_EDITOR_API_TOKEN_SECRETS": '{"ci": "0123456789abcdef0123456789abcdef"}',
            "NODE_RED_EDITOR_OIDC": '{"issuer": "https://sso.example.com", "clientId": "nr", "groupsClaim": "g", '
            '"adminGroups": ["a"]}',
            "NODE_RED_EDITOR_OIDC_CLIENT_SECRET": "s",
            "NODE_RED_EDITOR_URL": "https://nodered.example.com/",
        },
    ],
}


def declared(role: str) -> set[str]:
    return {name for name, variable in contract.VARIABLES.items() if role in variable.roles}


@pytest.mark.parametrize("role", contract.ROLES)
def test_settings_reads_exactly_the_variables_the_contract_gives_each_role(role):
    results = load_settings(*BRANCHES[role])
    for result in results:
        assert result["error"] is None, result["error"]
        assert set(result["reads"]) <= declared(role), f"read but not declared for {role}"
    assert set().union(*(r["reads"] for r in results)) == declared(role)


def test_unset_variables_take_the_contracts_defaults():
    [worker, editor, *_] = load_settings(*BRANCHES["worker"], *BRANCHES["editor"])
    defaults = {name: v.default for name, v in contract.VARIABLES.items()}
    expected = {
        "uiPort": contract.PORT,
        "port": contract.PORT,
        "uiHost": defaults["NODE_RED_LISTEN_HOST"],
        "userDir": defaults["NODE_RED_USER_DIR"],
        "httpNodeRoot": contract.DEFAULT_HTTP_NODE_ROOT,
        "database": contract.DATABASE,
        "keepAliveSeconds": int(defaults["NODE_RED_KEEPALIVE_SECONDS"]),
        "revisionsKept": int(defaults["NODE_RED_REVISIONS_KEPT"]),
        "syncCheckSeconds": int(defaults["NODE_RED_SYNC_CHECK_SECONDS"]),
        "tlsCAFile": None,
        "enableChangeStreams": False,
        "bodyLimitBytes": int(defaults["NODE_RED_BODY_LIMIT_MB"]) * 1024 * 1024,
        "apiMaxLength": contract.BODY_LIMIT_MB * 1024 * 1024,
        "trustedProxies": [],
    }
    for result in (worker, editor):
        assert {k: result["settings"][k] for k in expected} == expected
    assert editor["settings"]["editorUser"] == defaults["NODE_RED_EDITOR_USER"]


def test_what_the_deploy_targets_set_is_what_settings_uses():
    env = contract.environment(
        "editor",
        http_node_root="/api/v1",
        editor_user="ops",
        database="flows",
        port=1999,
        instance_id="ed-1",
        keepalive_seconds=125,
        tls_ca_file=contract.DOCUMENTDB_CA_FILE,
        enable_change_streams=True,
        body_limit_mb=12,
        trusted_proxies=["10.1.2.3", "fd00::/8"],
    )
    worker_env = contract.environment("worker", http_node_root="/api/v1", editor_user="ops", enable_change_streams=True)
    editor, worker = load_settings(
        {**BASE, **env, "NODE_RED_EDITOR_PASSWORD": "secret-password"}, {**BASE, **worker_env}
    )
    assert editor["error"] is None and worker["error"] is None
    expected = {
        "httpNodeRoot": "/api/v1",
        "editorUser": "ops",
        "database": "flows",
        "uiPort": 1999,
        "instanceId": "ed-1",
        "keepAliveSeconds": 125,
        "tlsCAFile": contract.DOCUMENTDB_CA_FILE,
        "enableChangeStreams": True,
        # The one body limit: the launcher's and Node-RED's parsers' (apiMaxLength) alike.
        "bodyLimitBytes": 12 * 1024 * 1024,
        "apiMaxLength": 12 * 1024 * 1024,
        "trustedProxies": ["10.1.2.3", "fd00::/8"],
    }
    assert {k: editor["settings"][k] for k in expected} == expected
    assert (worker["settings"]["httpNodeRoot"], worker["settings"]["enableChangeStreams"]) == ("/api/v1", False)


# (value, accepted): the table both sides must agree on, and the answer both must give.
ROOTS = [
    ("/red-nodes", True),
    ("/api/v1", True),
    ("/A.b_c~d-e/f", True),
    ("/authority", True),
    ("/red-nodes/", False),
    ("/", False),
    ("//", False),
    ("//x", False),
    ("/a//b", False),
    ("/.", False),
    ("/..", False),
    ("/red-nodes/..", False),
    ("/red-nodes/./x", False),
    ("api", False),
    ("/auth", False),
    ("/AUTH", False),
    ("/auth/x", False),
    ("/comms", False),
    ("/Flows", False),
    ("/settings", False),
    ("/red", False),
    ("/livez", False),
    ("/_router", False),
    ("/a b", False),
    ("/api;return", False),
    ("/caf\u00e9", False),
]


def test_settings_and_python_accept_and_refuse_the_same_http_node_roots():
    results = load_settings(
        *({**BASE, "NODE_RED_ROLE": "worker", "NODE_RED_HTTP_NODE_ROOT": root} for root, _ in ROOTS)
    )
    for (root, accepted), result in zip(ROOTS, results, strict=False):
        try:
            contract.validate_http_node_root(root)
            python = True
        except ValueError:
            python = False
        node = result["error"] is None
        assert (root, python, node) == (root, accepted, accepted), result["error"]
        if not accepted:
            assert "NODE_RED_HTTP_NODE_ROOT" in result["error"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NODE_RED_BODY_LIMIT_MB", "0", "NODE_RED_BODY_LIMIT_MB must be a positive integer"),
        ("NODE_RED_BODY_LIMIT_MB", "2048", "NODE_RED_BODY_LIMIT_MB must be from 1 to 1024"),
        ("NODE_RED_BODY_LIMIT_MB", "5mb", "NODE_RED_BODY_LIMIT_MB must be a positive integer"),
        ("NODE_RED_TRUSTED_PROXIES", "router", "NODE_RED_TRUSTED_PROXIES must be IP addresses or CIDRs"),
        ("NODE_RED_TRUSTED_PROXIES", "10.0.0.0/40", '"10.0.0.0/40" is neither'),
    ],
)
def test_bad_limits_and_proxies_stop_the_instance_naming_the_variable(name, value, message):
    [result] = load_settings({**BASE, "NODE_RED_ROLE": "worker", name: value})
    assert result["error"] is not None and message in result["error"], result["error"]


def test_python_refuses_the_proxies_the_image_refuses():
    with pytest.raises(ValueError, match="NODE_RED_TRUSTED_PROXIES: 'router'"):
        contract.environment("worker", trusted_proxies=["router"])
    with pytest.raises(ValueError, match="must be from 1 to 1024"):
        contract.environment("worker", body_limit_mb=0)


def test_context_stores_and_the_editors_tabs_from_the_environment():
    """The stores a flow can name (memory, shared) with the default the deploy targets set, and which tabs
    an instance runs: guards a stack config `context.default: shared` or `flows.editor: all` that the
    image would ignore, and a misspelt value that would silently fall back to the default."""
    worker, editor, shared_worker, all_editor = load_settings(
        *BRANCHES["worker"],
        BRANCHES["editor"][0],
        {**BASE, **contract.environment("worker", extra={"NODE_RED_CONTEXT_DEFAULT": "shared"})},
        {
            **BASE,
            **contract.environment(
                "editor", extra={"NODE_RED_EDITOR_FLOWS": "all", "NODE_RED_CONTEXT_DEFAULT": "shared"}
            ),
            "NODE_RED_EDITOR_PASSWORD": "secret-password",
        },
    )
    assert (worker["settings"]["contextDefault"], worker["settings"]["tabs"]) == ("memory", "all")
    assert (editor["settings"]["contextDefault"], editor["settings"]["tabs"]) == ("memory", "ordinary")
    assert (shared_worker["settings"]["contextDefault"], all_editor["settings"]["tabs"]) == ("shared", "all")
    # The shared store reaches the same database as the storage, as this instance.
    shared = worker["settings"]["sharedContext"]
    assert (shared["mongoUrl"], shared["database"], shared["role"]) == (BASE["MONGO_URL"], contract.DATABASE, "worker")

    bad_store, bad_tabs = load_settings(
        {**BASE, "NODE_RED_ROLE": "worker", "NODE_RED_CONTEXT_DEFAULT": "Shared"},
        {
            **BASE,
            "NODE_RED_ROLE": "editor",
            "NODE_RED_EDITOR_PASSWORD": "secret-password",
            "NODE_RED_EDITOR_FLOWS": "leader",
        },
    )
    assert "NODE_RED_CONTEXT_DEFAULT must be one of memory, shared" in bad_store["error"]
    assert "NODE_RED_EDITOR_FLOWS must be one of ordinary, all, none" in bad_tabs["error"]
    with pytest.raises(ValueError, match="NODE_RED_CONTEXT_DEFAULT must be one of"):
        contract.environment("worker", extra={"NODE_RED_CONTEXT_DEFAULT": "redis"})


def test_the_previous_credential_key_reaches_the_storage_and_may_not_be_the_key_itself():
    """During a rotation (docs/operations.md) the storage gets the key before NODE_RED_CREDENTIAL_SECRET; the same
    key twice is a mistake of the stack config and stops the instance, naming the variable."""
    plain, rotating, same = load_settings(
        {**BASE, "NODE_RED_ROLE": "worker"},
        {**BASE, "NODE_RED_ROLE": "worker", "NODE_RED_PREVIOUS_CREDENTIAL_SECRET": "the-key-before-0123456789"},
        {**BASE, "NODE_RED_ROLE": "worker", "NODE_RED_PREVIOUS_CREDENTIAL_SECRET": BASE["NODE_RED_CREDENTIAL_SECRET"]},
    )
    assert plain["settings"]["previousCredentialSecret"] is None
    assert rotating["settings"]["previousCredentialSecret"] == "the-key-before-0123456789"
    assert "NODE_RED_PREVIOUS_CREDENTIAL_SECRET is NODE_RED_CREDENTIAL_SECRET" in same["error"]


def test_the_logins_the_stack_config_builds_are_the_ones_the_editor_starts_with():
    """What stack_config and the targets make of editor.users, editor.oidc, editor.apiTokens and their
    secrets (components/nodered_environment.py) is what settings.js reads: guards the two rule sets
    drifting apart, so a stack the config accepts would not start (or start with other logins)."""
    from components.nodered_environment import editor_access_environment
    from stack_config import parse

    config = parse(
        {
            "editor": {
                "users": [{"name": "ann", "role": "read"}, {"name": "bob", "role": "admin"}],
                "apiTokens": [{"name": "ci", "role": "read"}],
                "oidc": {
                    "issuer": "https://sso.example.com/realms/ops",
                    "clientId": "nodered",
                    "groupsClaim": "groups",
                    "adminGroups": ["nodered-admins"],
                },
                "sessionHours": 8,
                "auditRetentionDays": 30,
            },
            "editorPasswords": {"ann": "ann-password", "bob": HASH},
            "editorApiTokens": {"ci": "0123456789abcdef0123456789abcdef"},
            "editorOidcClientSecret": "client-secret",
            "credentialSecret": "kept-credential-secret-0123456789",
            "mongoRootPassword": "kept-root-password-0123456789",
            "mongoAppPassword": "kept-app-password-0123456789",
            "mongoKeyFile": "a2VwdC1rZXktZmlsZS0wMTIzNDU2Nzg5",
        }
    )
    plain = contract.environment("editor", extra=editor_access_environment(config, "https://nodered.example.com/"))
    secrets = {
        "NODE_RED_EDITOR_PASSWORDS": json.dumps({k: v.get_secret_value() for k, v in config.editor_passwords.items()}),
        "NODE_RED_EDITOR_API_TOKEN_SECRETS": json.dumps(
            {k: v.get_secret_value() for k, v in config.editor_api_tokens.items()}
        ),
        "NODE_RED_EDITOR_OIDC_CLIENT_SECRET": "client-secret",
    }
    [editor] = load_settings({**BASE, **plain, **secrets})
    assert editor["error"] is None, editor["error"]
    access = editor["settings"]["access"]
    assert access["users"] == [["ann", "read"], ["bob", "*"]]
    assert access["tokens"] == [["ci", "read"]]
    assert access["loginType"] == "strategy" and access["sessionExpiryTime"] == 8 * 3600
    assert access["oidc"]["callbackURL"] == "https://nodered.example.com/auth/strategy/callback"
    assert access["auditRetentionDays"] == 30
    assert not set(contract.environment("worker", extra=editor_access_environment(config, "https://x/"))) - set(
        contract.environment("worker")
    ), "a worker gets none of the editor's logins"
