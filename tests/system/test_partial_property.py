"""Random deploy sequences (full, modified flows, modified nodes; tabs, nodes, wiring, a config node,
tab environment, subflows, credentials added, removed and changed): after every deploy every worker
serves exactly what the newest revision says, and so does a worker that loaded it in full.

Fixed seeds here; more by hand:  PARTIAL_PROPERTY_SEEDS=100-140 venv/bin/python -m pytest tests/system/test_partial_property.py
"""

from __future__ import annotations

import json
import os
import random
import re

import requests

from local_stack.flows import basic_auth_header, endpoint, function_node, http_request_node, tab

CI_SEEDS = [1, 2, 3]
DEPLOYS_PER_SEED = 8


def seeds() -> list[int]:
    spec = os.environ.get("PARTIAL_PROPERTY_SEEDS")
    if not spec:
        return CI_SEEDS
    if "-" in spec:
        lo, hi = spec.split("-")
        return list(range(int(lo), int(hi)))
    return [int(s) for s in spec.split(",")]


class Model:
    """What the flows say; flows() builds them, expected() says what each endpoint answers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.next_tab = 0
        self.tabs: dict[str, dict] = {}
        self.subflow_v = {"sf-1": 1, "sf-2": 1}
        self.g = 1
        self.password = 1
        self.password_changed = True
        for _ in range(3):
            self.add_tab()

    def add_tab(self) -> None:
        self.next_tab += 1
        self.tabs[f"t{self.next_tab}"] = {"v": 1, "env": None, "sf": None}

    def mutate(self) -> str:
        rng, tabs = self.rng, self.tabs
        t = rng.choice(sorted(tabs))
        ops = ["node", "node", "env", "subflow use", "subflow", "config", "credentials", "add tab"]
        if len(tabs) > 1:
            ops.append("remove tab")
        op = rng.choice(ops)
        if op == "node":
            tabs[t]["v"] += 1
        elif op == "env":
            tabs[t]["env"] = None if tabs[t]["env"] else rng.randint(1, 99)
        elif op == "subflow use":
            tabs[t]["sf"] = rng.choice([None, "sf-1", "sf-2"])
        elif op == "subflow":
            self.subflow_v[rng.choice(["sf-1", "sf-2"])] += 1
        elif op == "config":
            self.g += 1
        elif op == "credentials":
            self.password += 1
            self.password_changed = True
        elif op == "add tab":
            self.add_tab()
        else:
            del tabs[t]
        return op

    def flows(self) -> list[dict]:
        nodes: list[dict] = [
            {"id": "gcfg", "type": "global-config", "env": [{"name": "G", "value": f"g{self.g}", "type": "str"}]}
        ]
        for sf, v in self.subflow_v.items():
            nodes += [
                {
                    "id": sf,
                    "type": "subflow",
                    "name": sf,
                    "info": "",
                    "env": [],
                    "in": [{"x": 50, "y": 30, "wires": [{"id": f"{sf}-fn"}]}],
                    "out": [{"x": 300, "y": 30, "wires": [{"id": f"{sf}-fn", "port": 0}]}],
                },
                function_node(f"{sf}-fn", sf, f"msg.via = '{sf}:{v}';\nreturn msg;", [[]], x=150, y=30),
            ]
        for t, s in self.tabs.items():
            tab_node = tab(t, f"tab {t}")
            tab_node["env"] = [{"name": "T", "value": f"e{s['env']}", "type": "str"}] if s["env"] else []
            body = (
                f"msg.payload = {{tab: '{t}', v: {s['v']}, g: env.get('G') || null, t: env.get('T') || null, "
                "via: msg.via || null};\nreturn msg;"
            )
            ep = endpoint(t, t, f"/p/{t}", "get", body)
            if s["sf"]:
                ep[0]["wires"] = [[f"{t}-sfi"]]
                ep.append(
                    {
                        "id": f"{t}-sfi",
                        "type": f"subflow:{s['sf']}",
                        "z": t,
                        "name": "",
                        "env": [],
                        "x": 200,
                        "y": 140,
                        "wires": [[f"{t}-fn"]],
                    }
                )
            nodes += [tab_node] + ep
        nodes += self.credentials_tab()
        return nodes

    def credentials_tab(self) -> list[dict]:
        """GET /cred: an http request node with basic-auth credentials calls /cred-echo, which answers the
        Authorization header it got."""
        outer = endpoint(
            "tab-cred",
            "cred",
            "/cred",
            "get",
            "msg.url = 'http://127.0.0.1:' + msg.req.socket.localPort + '/red-nodes/cred-echo';\n"
            "delete msg.headers;\nreturn msg;",
        )
        outer[1]["wires"] = [["cred-req"]]
        req = http_request_node("cred-req", "tab-cred", [["cred-out"]], auth_type="basic")
        if self.password_changed:  # as the editor sends them: only when they changed
            req["credentials"] = {"user": "u", "password": f"pw{self.password}"}
        echo = endpoint(
            "tab-cred",
            "echo",
            "/cred-echo",
            "get",
            "msg.payload = msg.req.headers.authorization || 'none';\nreturn msg;",
        )
        return [tab("tab-cred", "credentials")] + outer + [req] + echo

    def expected(self) -> dict[str, object]:
        out: dict[str, object] = {
            f"/p/{t}": {
                "tab": t,
                "v": s["v"],
                "g": f"g{self.g}",
                "t": f"e{s['env']}" if s["env"] else None,
                "via": f"{s['sf']}:{self.subflow_v[s['sf']]}" if s["sf"] else None,
            }
            for t, s in self.tabs.items()
        }
        out["/cred"] = basic_auth_header("u", f"pw{self.password}")
        return out


def served(worker, paths) -> dict[str, object]:
    got: dict[str, object] = {}
    for path in paths:
        r = requests.get(worker.node_url + path, timeout=10)
        got[path] = (
            (r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text)
            if r.ok
            else r.status_code
        )
    return got


def test_random_deploy_sequences_leave_every_worker_running_the_newest_revision(nodered_factory, admin):
    """Guards: a worker applying deploys as diffs ends up running something other than the newest
    revision (a node not restarted after its code, wiring, subflow, config node, tab environment or
    credentials changed; a removed tab still answering)."""
    workers = [nodered_factory("worker") for _ in range(2)]
    for w in workers:
        w.wait_ready()
    removed: set[str] = set()
    rev = None
    for seed in seeds():
        rng = random.Random(seed)
        model = Model(rng)
        history = []
        for step in range(DEPLOYS_PER_SEED):
            ops = [model.mutate() for _ in range(rng.randint(1, 2))] if step else ["first"]
            kind = "full" if step == 0 else rng.choice(["full", "flows", "flows", "nodes", "nodes"])
            before = set(model.tabs)
            rev = admin.deploy(model.flows(), deployment_type=kind)
            model.password_changed = False
            history.append(f"{kind} {ops}")
            expected = model.expected()
            removed |= {f"/p/{t}" for t in before} - set(expected)
            for w in workers:
                w.wait_ready(rev=rev, timeout=30)
                got = served(w, expected)
                assert got == expected, f"seed {seed}, {w.instance_id} after {history}: {json.dumps(got)}"
                for path in removed - set(expected):
                    assert requests.get(w.node_url + path, timeout=10).status_code == 404, (seed, path, history)
    # A worker that loads the newest revision in full serves the same.
    fresh = nodered_factory("worker")
    fresh.wait_ready(rev=rev)
    assert served(fresh, expected) == served(workers[0], expected) == expected
    partial = [len(re.findall(r"deploy: \d+ of \d+ flows restarted", w.log_text())) for w in workers]
    assert all(n > 0 for n in partial), f"some deploys were applied as diffs: {partial}"
