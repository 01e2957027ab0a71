"""Flows as code through the router, as a team uses it (docs/flows-as-code.md): `python -m nodered_status
export` writes a revision into a directory, `diff --dir` and `deploy` take a directory to a stack through its
editor's cluster API. A dev and a prod stack, each with its own credential secret and its own credential
values; and Node-RED 4.1 for environment references in credentials.

Guards: promotion by Export/Import in two editors, which drops credentials and leaves no record; a deploy
from files that stores other flows than the files (order, keys), copies one stack's encrypted credentials
to another that cannot decrypt them, overwrites the target's own credentials, or saves files that do not
read back, a wire to nowhere or a node type the image lacks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from local_stack.flows import basic_auth_header, credentials_flow, function_node, marker_flow, tab
from nodered_contract import database as layout
from nodered_status import flowfiles
from tests.fixtures.stacks import make_stack

DEV = {"user": "dev-user", "password": "dev-password-1"}
PROD = {"user": "prod-user", "password": "prod-password-2"}
REF = {"user": "${API_USER}", "password": "${API_PASSWORD}"}


def stack_env(who: dict, api_user: str, api_password: str) -> dict:
    """What a stack's instances see: the headers its protected endpoints expect (its own credentials), and
    the values its environment references resolve to (flowSecrets on a real stack)."""
    return {
        "SECURE_AUTH": basic_auth_header(who["user"], who["password"]),
        "NEW_AUTH": basic_auth_header(who["user"], who["password"]),
        "API_USER": api_user,
        "API_PASSWORD": api_password,
        "REF_AUTH": basic_auth_header(api_user, api_password),
    }


def protected(path: str, credentials: dict, root: str) -> list[dict]:
    """GET <path> calls <path>-protected with a credentialed http request node; 200 when the header matches
    the one the stack expects (<NAME>_AUTH of its environment)."""
    name = path.strip("/").upper()
    nodes = credentials_flow("-", "-", root, path=path, expected_env=f"{name}_AUTH")
    for n in nodes:
        if "credentials" in n:
            n["credentials"] = dict(credentials)
    return nodes


def extras() -> list[dict]:
    """A subflow and an instance of it, a group, a config node: every kind of file the layout has."""
    return [
        {"id": "sf-pass", "type": "subflow", "name": "Pass through", "info": "", "in": [{"x": 40, "y": 40, "wires": [{"id": "sf-fn"}]}],
         "out": [{"x": 300, "y": 40, "wires": [{"id": "sf-fn", "port": 0}]}], "env": []},
        function_node("sf-fn", "sf-pass", "return msg;", [[]], name="identity"),
        tab("tab-misc", "misc"),
        {"id": "grp", "type": "group", "z": "tab-misc", "name": "kept together", "style": {"label": True}, "nodes": ["inst"],
         "x": 14, "y": 19, "w": 200, "h": 82},
        {"id": "inst", "type": "subflow:sf-pass", "z": "tab-misc", "g": "grp", "name": "", "x": 120, "y": 60, "wires": [[]]},
        {"id": "tls", "type": "tls-config", "name": "outbound tls", "cert": "", "key": "", "ca": "", "certname": "",
         "keyname": "", "caname": "", "servername": "", "verifyservercert": True, "alpnprotocol": ""},
    ]  # fmt: skip


def app(stack, marker: str, credentials: dict, new: bool = False) -> list[dict]:
    root = stack.http_node_root
    flows = marker_flow(marker) + protected("/secure", credentials, root) + protected("/ref", REF, root) + extras()
    return flows + (protected("/new", credentials, root) if new else [])


def own(request, tmp_path_factory, mongo_server, name: str, workers: int, secret: str, env: dict):
    """A stack of the module's own: its credential secret, its environment."""
    kw = {"workers": workers, "mongo": mongo_server, "credential_secret": secret, "extra_env": env}
    yield from make_stack(request, tmp_path_factory, name, **kw)


@pytest.fixture(scope="module")
def dev(request, tmp_path_factory, mongo_server):
    env = stack_env(DEV, "dev-api", "dev-api-password")
    yield from own(request, tmp_path_factory, mongo_server, "flows-dev", 1, "dev-credential-secret-0123456789", env)


@pytest.fixture(scope="module")
def prod(request, tmp_path_factory, mongo_server):
    env = stack_env(PROD, "prod-api", "prod-api-pw")
    yield from own(request, tmp_path_factory, mongo_server, "flows-prod", 2, "prod-credential-secret-9876543210", env)


def cli(stack, *args, timeout: float = 120):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB")}
    env["NODE_RED_PASSWORD"] = stack.editor_password
    p = subprocess.run(
        [sys.executable, "-m", "nodered_status", *map(str, args), "--url", stack.url],
        capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"$ nodered_status {' '.join(map(str, args))}  (exit {p.returncode})\n{p.stdout}{p.stderr}")
    return p


def saved_rev(p: subprocess.CompletedProcess) -> int:
    assert p.returncode == 0, p.stderr
    found = re.search(r"saved as revision (\d+) by (\S+):", p.stdout)
    assert found, p.stdout
    return int(found.group(1))


def revision_doc(stack, rev: int) -> dict:
    client = stack.mongo.client(tz_aware=True)
    try:
        return layout.collection(client[stack.db], "flows").find_one({"_id": rev})
    finally:
        client.close()


def newest(stack) -> int:
    return requests.get(stack.url + "/cluster/status", headers=stack.admin().headers(), timeout=10).json()["newestRev"]


def files_of(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def answers(stack, path: str, times: int = 4) -> set[tuple[int, str]]:
    """What the endpoint answers through the router, a few times (every worker in turn)."""
    return {(r.status_code, r.text) for r in (requests.get(stack.api_url + path, timeout=10) for _ in range(times))}


def test_export_deploy_export_gives_the_same_files_and_stores_revision_n_exactly(dev, tmp_path):
    """Round trip on one stack: export revision N, deploy something else, deploy the directory, export the new
    revision: the files are byte for byte the same, and the new revision stores N's flows exactly (its
    flowsJson, the order of nodes and of every node's keys included); the credentials still work."""
    n = dev.deploy(app(dev, "round-trip", DEV))
    assert cli(dev, "export", "--rev", n, "--out", tmp_path / "a").returncode == 0
    dev.deploy(app(dev, "something else", DEV))
    m = saved_rev(cli(dev, "deploy", tmp_path / "a", "--message", f"back to {n}", "--wait", 60))
    assert m > n + 1
    assert cli(dev, "export", "--rev", m, "--out", tmp_path / "b").returncode == 0
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    assert revision_doc(dev, m)["flowsJson"] == revision_doc(dev, n)["flowsJson"]
    doc = revision_doc(dev, m)
    assert (doc["deployType"], doc["savedBy"], doc["message"]) == ("files", dev.editor_user, f"back to {n}")
    assert answers(dev, "/marker") == {(200, '{"marker":"round-trip","seq":null}')}
    assert answers(dev, "/secure") == {(200, "secret-ok")}


def test_diff_dir_says_what_a_deploy_would_change_naming_files(dev, tmp_path):
    """`diff --dir` against the newest revision: exit 0 when the stack runs the files, 1 with every change
    and its file when it does not; nothing is saved either way."""
    dev.deploy(app(dev, "diff", DEV))
    assert cli(dev, "export", "--out", tmp_path).returncode == 0
    same = cli(dev, "diff", "--dir", tmp_path)
    assert same.returncode == 0 and "\nno changes\n" in same.stdout
    tab_file = tmp_path / "tabs" / "marker-marker--tab-marker.json"
    nodes = json.loads(tab_file.read_text())
    nodes[2]["func"] = nodes[2]["func"].replace('"diff"', '"edited in the repository"')
    tab_file.write_text(json.dumps(nodes, indent=2))
    before = newest(dev)
    changed = cli(dev, "diff", "--dir", tmp_path)
    assert changed.returncode == 1, changed.stderr
    assert "tabs ~1, nodes ~1" in changed.stdout
    assert "~ function m-marker-fn on tab-marker: func   [tabs/marker-marker--tab-marker.json]" in changed.stdout
    assert newest(dev) == before


def _edit(path: Path, fn) -> None:
    path.write_text(json.dumps(fn(json.loads(path.read_text())), indent=2))


MARKER_TAB = "tabs/marker-marker--tab-marker.json"
MISSING_TYPE = "node-red-contrib-not-in-this-image"


@pytest.mark.parametrize(
    ("break_it", "says"),
    [
        (lambda d: (d / MARKER_TAB).write_text("[{"), [f"{MARKER_TAB}: not JSON"]),
        (
            lambda d: _edit(d / MARKER_TAB, lambda n: [n[0], {**n[1], "z": "tab-misc"}, *n[2:]]),
            [f'{MARKER_TAB}: node "m-marker-in" is not on tab "tab-marker"'],
        ),
        (
            lambda d: _edit(d / MARKER_TAB, lambda n: [*n, {"id": "c-secure-req", "type": "debug", "z": "tab-marker"}]),
            ['node id "c-secure-req" is used twice', MARKER_TAB, "tabs/credentials-secure--tab-secure.json"],
        ),
        (
            lambda d: _edit(d / MARKER_TAB, lambda n: [n[0], {**n[1], "wires": [["nowhere"]]}, *n[2:]]),
            ['is wired to "nowhere", which does not exist', f'{MARKER_TAB}: node "m-marker-in"'],
        ),
        (
            lambda d: _edit(d / MARKER_TAB, lambda n: [n[0], n[1], {**n[2], "type": MISSING_TYPE}, *n[3:]]),
            [f'node types this image does not have: "{MISSING_TYPE}"', f'{MARKER_TAB}: node "m-marker-fn"'],
        ),
    ],
    ids=[
        "a file that does not parse",
        "a node moved by hand",
        "an id used twice",
        "a wire to nowhere",
        "an unknown type",
    ],
)
def test_bad_files_are_refused_naming_file_and_node_and_the_running_revision_serves(dev, tmp_path, break_it, says):
    dev.deploy(app(dev, "before bad files", DEV))
    assert cli(dev, "export", "--out", tmp_path).returncode == 0
    break_it(tmp_path)
    before = newest(dev)
    for args in (("deploy", tmp_path), ("diff", "--dir", tmp_path)):
        p = cli(dev, *args)
        assert p.returncode == 6, p.stderr
        for text in says:
            assert text in p.stderr
        assert "nothing s" in p.stderr  # nothing saved / nothing sent
    assert newest(dev) == before
    assert answers(dev, "/marker") == {(200, '{"marker":"before bad files","seq":null}')}


def test_promotion_keeps_the_targets_credentials_and_resolves_references_with_its_own_environment(dev, prod, tmp_path):
    """dev -> prod, stacks with different credential secrets and different credential values: prod keeps its
    own stored credentials (its workers still call the protected endpoint), environment references resolve
    with prod's environment, a node prod has no credentials for is listed (in the answer, and for the Cluster
    sidebar in the history); no credential value is in the files."""
    prod.deploy(app(prod, "prod-1", PROD))
    assert answers(prod, "/secure") == {(200, "secret-ok")}
    dev.deploy(app(dev, "dev-2", DEV, new=True))
    assert cli(dev, "export", "--out", tmp_path).returncode == 0
    text = b"".join(files_of(tmp_path).values()).decode()
    assert DEV["password"] not in text and "dev-api-password" not in text
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["credentials"]["c-secure-req"] == {"password": "stored", "user": "stored"}
    assert index["credentials"]["c-ref-req"] == {"password": "${API_PASSWORD}", "user": "${API_USER}"}

    p = cli(prod, "deploy", tmp_path, "--message", "promote dev-2", "--wait", 60)
    rev = saved_rev(p)
    assert 'http request c-new-req "call protected": password, user   [tabs/credentials-new--tab-new.json]' in p.stdout
    assert answers(prod, "/marker") == {(200, '{"marker":"dev-2","seq":null}')}
    assert answers(prod, "/secure") == {(200, "secret-ok")}, (
        "prod's own stored credentials, decrypted with its own secret"
    )
    assert answers(prod, "/ref") == {(200, "secret-ok")}, "references resolved with prod's environment"
    assert answers(prod, "/new") == {(401, "unauthorized")}, "no credentials for the new node on prod"
    row = prod.admin().get("/cluster/revisions?limit=1").json()["revisions"][0]
    assert (row["rev"], row["deployType"], row["message"]) == (rev, "files", "promote dev-2")
    assert [(n["id"], n["properties"]) for n in row["credentialsMissing"]] == [("c-new-req", ["password", "user"])]
    # Dev is untouched by all this: its own credentials and references still work.
    assert answers(dev, "/secure") == {(200, "secret-ok")} and answers(dev, "/ref") == {(200, "secret-ok")}


def test_references_in_credentials_resolve_on_node_red_4_1(request, tmp_path_factory, mongo_server, tmp_path):
    """Node-RED 4.1 resolves `${NAME}` in a credential from the instance's environment as 5 does: the way each
    stack gets its own secrets (flowSecrets) while the files stay the same."""
    stacks = make_stack(
        request, tmp_path_factory, "flows-4-1", workers=1, mongo=mongo_server, node_red="4.1",
        extra_env=stack_env(PROD, "api-4-1", "api-4-1-password"),
    )  # fmt: skip
    stack = next(stacks)
    try:
        flows = [
            {k: v for k, v in n.items() if k != "credentials"} for n in protected("/ref", REF, stack.http_node_root)
        ]
        flowfiles.write(tmp_path, flows, {"c-ref-req": dict(REF)})
        saved_rev(cli(stack, "deploy", tmp_path, "--wait", 60))
        assert answers(stack, "/ref") == {(200, "secret-ok")}
    finally:
        next(stacks, None)
        shutil.rmtree(tmp_path, ignore_errors=True)
