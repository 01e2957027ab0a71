"""The directory `python -m nodered_status export` writes and `deploy`, `diff --dir` and `pulumi up` read
(nodered_status/flowfiles.py): one file per tab and subflow, the config nodes in one, an index holding the
order; the same flows give the same bytes and read back exactly; what does not read back is refused
naming the file and the node. Pure: no server.

Guards: a pull request that shows one changed line as a rewritten file (keys or nodes reordered, a file
renamed at random), a deploy from files that stores the flows in another order or with keys sorted, a
credential value ending up in a repository, a file edited by hand into a wrong shape deployed anyway."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nodered_status import flowfiles
from nodered_status.flowfiles import FilesRefused


def flows() -> list[dict]:
    """Two tabs, a subflow with a node and an instance of it, a group, a global and a tab-scoped config
    node, nodes of one tab between those of the other (the order the editor gives), keys in no sorted order."""
    return [
        {"id": "t1", "type": "tab", "label": "Orders API", "disabled": False, "info": ""},
        {"id": "t2", "type": "tab", "label": "Zürich / Ops", "disabled": False, "info": ""},
        {"id": "sf1", "type": "subflow", "name": "Retry", "info": "", "in": [], "out": []},
        {"id": "g1", "type": "group", "z": "t1", "name": "validate", "nodes": ["n2"], "x": 1, "y": 2},
        {"id": "cfg", "type": "mqtt-broker", "name": "broker", "broker": "mqtt.example.com", "port": "1883"},
        {"id": "n1", "z": "t1", "type": "http in", "url": "/orders", "method": "post", "wires": [["n2"]]},
        {"id": "n9", "type": "debug", "z": "t2", "name": "ops", "wires": []},
        {"id": "n2", "type": "function", "z": "t1", "g": "g1", "func": "return msg;", "wires": [["n3"]]},
        {"id": "sfn", "type": "function", "z": "sf1", "func": "return msg;", "wires": []},
        {"id": "n3", "type": "subflow:sf1", "z": "t1", "wires": [["n4"]]},
        {"id": "tcfg", "type": "tls-config", "z": "t2", "name": "local tls"},
        {"id": "n4", "type": "http response", "z": "t1", "wires": []},
    ]


CREDENTIALS = {"cfg": {"user": "stored", "password": "${MQTT_PASSWORD}"}, "tcfg": {"key": "stored"}}


def test_one_file_per_tab_and_subflow_named_for_label_and_id_config_nodes_apart(tmp_path):
    files = flowfiles.write(tmp_path, flows(), CREDENTIALS)
    assert sorted(files) == [
        "config-nodes.json",
        "index.json",
        "subflows/retry--sf1.json",
        "tabs/orders-api--t1.json",
        "tabs/zurich-ops--t2.json",
    ]
    tab = json.loads((tmp_path / "tabs/orders-api--t1.json").read_text())
    assert [n["id"] for n in tab] == ["t1", "g1", "n1", "n2", "n3", "n4"]
    assert [n["id"] for n in json.loads((tmp_path / "tabs/zurich-ops--t2.json").read_text())] == ["t2", "n9", "tcfg"]
    assert [n["id"] for n in json.loads((tmp_path / "subflows/retry--sf1.json").read_text())] == ["sf1", "sfn"]
    assert [n["id"] for n in json.loads((tmp_path / "config-nodes.json").read_text())] == ["cfg"]
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["order"] == [n["id"] for n in flows()]
    # Which nodes have credentials, never a value: "stored" or an environment reference.
    assert index["credentials"] == {
        "cfg": {"password": "${MQTT_PASSWORD}", "user": "stored"},
        "tcfg": {"key": "stored"},
    }


def test_the_bytes_keep_node_red_s_key_order_two_space_indented(tmp_path):
    flowfiles.write(tmp_path, flows(), {})
    text = (tmp_path / "tabs/orders-api--t1.json").read_text()
    # n1's keys as given ("id", "z", "type", ...), not sorted; UTF-8 as it is; a final newline.
    assert text.index('"id": "n1"') < text.index('"z": "t1",\n    "type": "http in"')
    assert '\n  {\n    "id": "t1",' in text and text.endswith("]\n")
    assert "Zürich" in (tmp_path / "tabs/zurich-ops--t2.json").read_text()


def test_the_same_flows_always_give_the_same_bytes_and_read_back_exactly(tmp_path):
    first = flowfiles.write(tmp_path / "a", flows(), CREDENTIALS)
    back = flowfiles.read(tmp_path / "a")
    # Exactly: node order and every node's key order (compared as JSON text).
    assert json.dumps(back.flows) == json.dumps(flows())
    assert back.credentials == CREDENTIALS
    assert back.origin["n9"] == "tabs/zurich-ops--t2.json"
    again = flowfiles.write(tmp_path / "b", back.flows, back.credentials)
    assert again == first
    for name, data in first.items():
        assert (tmp_path / "b" / name).read_bytes() == data
    assert flowfiles.digest(tmp_path / "a") == flowfiles.digest(tmp_path / "b")


def test_a_new_export_removes_the_files_of_tabs_that_are_gone_and_leaves_other_files(tmp_path):
    flowfiles.write(tmp_path, flows(), {})
    (tmp_path / "README.md").write_text("reviewed by the ops team\n")
    (tmp_path / "tabs" / "notes.txt").write_text("keep me\n")
    fewer = [n for n in flows() if n["id"] != "t2" and n.get("z") != "t2"]
    flowfiles.write(tmp_path, fewer, {})
    assert not (tmp_path / "tabs/zurich-ops--t2.json").exists()
    assert (tmp_path / "README.md").exists() and (tmp_path / "tabs" / "notes.txt").exists()
    assert [n["id"] for n in flowfiles.read(tmp_path).flows] == [n["id"] for n in fewer]


def test_ids_a_file_name_cannot_hold_and_names_alike_but_for_case_get_a_stable_digest(tmp_path):
    nodes = [
        {"id": "Tab1", "type": "tab", "label": "main"},
        {"id": "tab1", "type": "tab", "label": "main"},
        {"id": "a/b c", "type": "tab", "label": ""},
    ]
    names = sorted(flowfiles.write(tmp_path, nodes, {}))
    assert names[0] == "config-nodes.json" and names[1] == "index.json"
    assert names[2].startswith("tabs/main--Tab1") and names[3].startswith("tabs/main--tab1-")
    assert names[4].startswith("tabs/tab--a_b_c-")  # no label: the kind; unsafe characters replaced
    assert len({n.lower() for n in names}) == len(names)
    assert sorted(flowfiles.render(nodes, {})) == names


def test_a_file_is_looked_for_by_content_so_renaming_a_tab_file_reads_the_same(tmp_path):
    flowfiles.write(tmp_path, flows(), {})
    (tmp_path / "tabs/orders-api--t1.json").rename(tmp_path / "tabs/renamed.json")
    assert json.dumps(flowfiles.read(tmp_path).flows) == json.dumps(flows())


def _exported(tmp_path: Path) -> Path:
    flowfiles.write(tmp_path, flows(), CREDENTIALS)
    return tmp_path


def _edit(path: Path, fn) -> None:
    path.write_text(json.dumps(fn(json.loads(path.read_text())), indent=2))


TAB = "tabs/orders-api--t1.json"


@pytest.mark.parametrize(
    ("break_it", "says"),
    [
        (
            lambda d: (d / TAB).write_text('[{"id": "t1", "type": "tab"},'),
            f"{TAB}: not JSON: Expecting value at line 1",
        ),
        (lambda d: (d / "index.json").unlink(), "index.json: missing"),
        (lambda d: (d / TAB).write_text('{"id": "t1"}'), f"{TAB}: must be a JSON array of nodes"),
        (lambda d: _edit(d / TAB, lambda n: [n[0], "n1", *n[2:]]), f"{TAB}: entry 2 is no JSON object"),
        (lambda d: _edit(d / TAB, lambda n: [n[0], {**n[2], "type": 7}, *n[3:]]), f'{TAB}: node "n1" has no type'),
        (lambda d: _edit(d / TAB, lambda n: n[1:]), f"{TAB}: must start with the tab it is the file of"),
        (
            lambda d: _edit(d / TAB, lambda n: [*n, {"id": "x", "type": "debug", "z": "t2"}]),
            f'{TAB}: node "x" is not on tab "t1"',
        ),
        (
            lambda d: _edit(d / TAB, lambda n: [*n, {"id": "n9", "type": "debug", "z": "t1"}]),
            'node id "n9" is used twice: in tabs/orders-api--t1.json and in tabs/zurich-ops--t2.json',
        ),
        (
            lambda d: _edit(d / TAB, lambda n: [*n, {"id": "n5", "type": "debug", "z": "t1"}]),
            f'{TAB}: node "n5" is not in index.json\'s order',
        ),
        (
            lambda d: _edit(d / "index.json", lambda i: {**i, "order": [*i["order"], "gone"]}),
            'index.json: the order lists node "gone", which no file holds',
        ),
        (
            lambda d: _edit(d / "config-nodes.json", lambda n: [*n, {"id": "t3", "type": "tab"}]),
            'config-nodes.json: tab "t3" belongs in a file of its own',
        ),
        (
            lambda d: _edit(d / TAB, lambda n: [n[0], {**n[1], "credentials": {"password": "hunter2"}}, *n[2:]]),
            f'{TAB}: node "g1" carries credentials',
        ),
        (
            lambda d: _edit(d / "index.json", lambda i: {**i, "credentials": {"cfg": {"password": "hunter2"}}}),
            'index.json: credential "password" of node "cfg" must be "stored" or an environment reference',
        ),
        (
            lambda d: _edit(d / "index.json", lambda i: {**i, "format": "something else"}),
            'index.json: not an index of this layout (its "format" must be "nodered-scale flows 1")',
        ),
        (lambda d: _edit(d / "index.json", lambda i: {**i, "extra": 1}), 'index.json: unknown field "extra"'),
    ],
    ids=[
        "not JSON",
        "no index",
        "no array",
        "a string for a node",
        "a type that is no string",
        "a tab file without its tab",
        "a node of another tab",
        "an id used twice",
        "a node not in the order",
        "the order names a node no file has",
        "a tab among the config nodes",
        "credentials on a node",
        "a credential value in the index",
        "another format",
        "an unknown index field",
    ],
)
def test_a_directory_that_does_not_read_back_is_refused_naming_the_file_and_the_node(tmp_path, break_it, says):
    directory = _exported(tmp_path)
    break_it(directory)
    with pytest.raises(FilesRefused) as refused:
        flowfiles.read(directory)
    assert says in str(refused.value)


def test_no_directory_is_refused(tmp_path):
    with pytest.raises(FilesRefused, match="no such directory"):
        flowfiles.read(tmp_path / "nothing")
