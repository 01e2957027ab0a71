"""A stack's flows as a directory made for review (docs/flows-as-code.md): what `export` writes and
`deploy`, `diff --dir` and `pulumi up` (stack config flows.source) read back. Pure logic and files.

    index.json                       the format, the order of every node, which nodes have credentials
    tabs/<label>--<id>.json          a tab, then the nodes on it (z: the tab)
    subflows/<name>--<id>.json       a subflow, then the nodes in it
    config-nodes.json                every other node: config nodes and anything on no tab or subflow

Every file is a JSON array, two-space indented, keys in the order Node-RED gave them (never sorted: a
deploy of the files stores the flows exactly as they were, key order included), nodes in their order in
the flows; index.json's `order` lists every node id once, in the flows' order across files, so reading
the files gives back the flows as they were. The same flows and credentials always give the same bytes.
No credential value is ever written: `credentials` in index.json says per node which properties the
stack keeps in its own store ("stored") and which are an environment reference ("${API_KEY}", the same
on every stack, resolved from each stack's flowSecrets or flows.env).

Anything that does not read back as such is refused before anything is sent, naming the file (and the
node): FilesRefused.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "nodered-scale flows 1"
INDEX = "index.json"
CONFIG = "config-nodes.json"
TABS = "tabs"
SUBFLOWS = "subflows"
STORED = "stored"
# Node-RED's rule for a credential that names an environment variable (runtime/lib/flows/util.js).
ENV_REFERENCE = re.compile(r"^\$\{(\S+)\}$")
_FOLDERS = {"tab": TABS, "subflow": SUBFLOWS}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class FilesRefused(Exception):
    """The directory does not hold flows in this layout: why, naming the file and the node."""


@dataclass(frozen=True)
class FlowFiles:
    flows: list[dict[str, Any]]
    credentials: dict[str, dict[str, str]]
    origin: dict[str, str] = field(default_factory=dict)  # node id -> the file (relative path) holding it

    def body(self) -> dict[str, Any]:
        """The flows and the index's credentials, as the cluster API takes them."""
        return {"flows": self.flows, "credentials": self.credentials}

    def where(self, node_id: str | None) -> str:
        """A node as a person finds it: its file and id."""
        if node_id is None:
            return "the flows"
        return f"{self.origin.get(node_id, '?')}: node {json.dumps(node_id)}"


def dumps(value: Any) -> bytes:
    """One file's bytes: two-space indented JSON, keys in their given order, UTF-8, a final newline."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _slug(text: Any, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-")
    return slug or fallback


def _file_names(containers: list[dict]) -> dict[str, str]:
    """id -> relative file name of each tab and subflow: its label (a subflow's name) and id; an id a file
    name cannot hold as it is, or two names alike but for case, get a digest of the id (stable)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for node in containers:
        kind = node["type"]
        safe = _UNSAFE.sub("_", node["id"])
        base = f"{_slug(node.get('label') if kind == 'tab' else node.get('name'), kind)}--{safe}"
        if safe != node["id"] or base.lower() in taken:
            base += "-" + hashlib.sha256(node["id"].encode()).hexdigest()[:8]
        taken.add(base.lower())
        names[node["id"]] = f"{_FOLDERS[kind]}/{base}.json"
    return names


def placement(flows: list[dict]) -> dict[str, str]:
    """node id -> the file (relative path) the layout puts it in."""
    names = _file_names([n for n in flows if n.get("type") in _FOLDERS])
    out = {}
    for node in flows:
        home = node["id"] if node.get("type") in _FOLDERS else node.get("z")
        out[node["id"]] = names[home] if isinstance(home, str) and home in names else CONFIG
    return out


def render(flows: list[dict], credentials: dict[str, dict[str, str]]) -> dict[str, bytes]:
    """relative path -> bytes of every file of the layout for these flows and credentials' outline."""
    where = placement(flows)
    files: dict[str, list[dict]] = {name: [] for name in sorted(set(where.values()) | {CONFIG})}
    for node in flows:
        files[where[node["id"]]].append(node)
    order = [n["id"] for n in flows]
    index = {
        "format": FORMAT,
        "order": order,
        "credentials": {i: dict(sorted(credentials[i].items())) for i in order if credentials.get(i)},
    }
    return {INDEX: dumps(index), **{name: dumps(nodes) for name, nodes in sorted(files.items())}}


def write(directory: Path, flows: list[dict], credentials: dict[str, dict[str, str]]) -> dict[str, bytes]:
    """Writes the layout into `directory` (created if need be), removing the files of tabs and subflows
    the flows no longer have; any other file there is left alone. Returns what render() made."""
    files = render(flows, credentials)
    directory.mkdir(parents=True, exist_ok=True)
    for folder in _FOLDERS.values():
        for stale in sorted((directory / folder).glob("*.json")):
            if f"{folder}/{stale.name}" not in files:
                stale.unlink()
    for name, data in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    return files


def _load(directory: Path, name: str) -> Any:
    path = directory / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FilesRefused(f"{name}: missing (is {directory} a directory `export` wrote?)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FilesRefused(f"{name}: cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FilesRefused(f"{name}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _index(directory: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    index = _load(directory, INDEX)
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise FilesRefused(f'{INDEX}: not an index of this layout (its "format" must be {json.dumps(FORMAT)})')
    extra = sorted(set(index) - {"format", "order", "credentials"})
    if extra:
        raise FilesRefused(f"{INDEX}: unknown field {json.dumps(extra[0])} (it holds format, order, credentials)")
    order = index.get("order")
    if not isinstance(order, list) or not all(isinstance(i, str) for i in order):
        raise FilesRefused(f'{INDEX}: "order" must be a list of node ids')
    twice = next((i for i, n in Counter(order).items() if n > 1), None)
    if twice is not None:
        raise FilesRefused(f'{INDEX}: "order" lists node {json.dumps(twice)} twice')
    credentials = index.get("credentials", {})
    if not isinstance(credentials, dict):
        raise FilesRefused(
            f'{INDEX}: "credentials" must be an object: {{node id: {{property: "stored" or "${{NAME}}"}}}}'
        )
    for node_id, props in credentials.items():
        if not isinstance(props, dict) or not props:
            raise FilesRefused(f"{INDEX}: credentials of node {json.dumps(node_id)} must be an object of properties")
        for prop, value in props.items():
            if value != STORED and not (isinstance(value, str) and ENV_REFERENCE.fullmatch(value)):
                raise FilesRefused(
                    f"{INDEX}: credential {json.dumps(prop)} of node {json.dumps(node_id)} must be "
                    '"stored" or an environment reference "${NAME}": a value would put a secret in the files'
                )
    return order, credentials


def _nodes(directory: Path, name: str) -> list[dict]:
    nodes = _load(directory, name)
    if not isinstance(nodes, list):
        raise FilesRefused(f"{name}: must be a JSON array of nodes")
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise FilesRefused(f"{name}: entry {i + 1} is no JSON object (a node)")
        if not isinstance(node.get("id"), str) or not node["id"]:
            raise FilesRefused(f"{name}: entry {i + 1} has no id (a string)")
        if not isinstance(node.get("type"), str) or not node["type"]:
            raise FilesRefused(f"{name}: node {json.dumps(node['id'])} has no type (a string)")
        if "credentials" in node:
            raise FilesRefused(
                f"{name}: node {json.dumps(node['id'])} carries credentials: they stay in each stack "
                f"({INDEX} lists which it needs)"
            )
    return nodes


def _files(directory: Path) -> dict[str, list[dict]]:
    """Every file of nodes, checked for its place: a tab's (subflow's) file holds it first, then only nodes
    on it; the config nodes' file holds no tab or subflow."""
    found: dict[str, list[dict]] = {}
    for kind, folder in _FOLDERS.items():
        for path in sorted((directory / folder).glob("*.json")):
            name = f"{folder}/{path.name}"
            nodes = _nodes(directory, name)
            if not nodes or nodes[0]["type"] != kind:
                raise FilesRefused(f"{name}: must start with the {kind} it is the file of")
            home = nodes[0]["id"]
            for node in nodes[1:]:
                if node.get("z") != home:
                    raise FilesRefused(
                        f"{name}: node {json.dumps(node['id'])} is not on {kind} {json.dumps(home)} "
                        f"(its z is {json.dumps(node.get('z'))}): it belongs in another file"
                    )
            found[name] = nodes
    found[CONFIG] = _nodes(directory, CONFIG)
    for node in found[CONFIG]:
        if node["type"] in _FOLDERS:
            raise FilesRefused(f"{CONFIG}: {node['type']} {json.dumps(node['id'])} belongs in a file of its own")
    return found


def read(directory: Path) -> FlowFiles:
    """The flows and credentials' outline the directory holds, in the flows' order; FilesRefused if it
    does not hold them in this layout."""
    if not directory.is_dir():
        raise FilesRefused(f"{directory}: no such directory")
    order, credentials = _index(directory)
    origin: dict[str, str] = {}
    by_id: dict[str, dict] = {}
    for name, nodes in _files(directory).items():
        for node in nodes:
            node_id = node["id"]
            if node_id in origin:
                raise FilesRefused(f"node id {json.dumps(node_id)} is used twice: in {origin[node_id]} and in {name}")
            origin[node_id] = name
            by_id[node_id] = node
    listed = set(order)
    unlisted = [i for i in origin if i not in listed]
    if unlisted:
        raise FilesRefused(
            f"{origin[unlisted[0]]}: node {json.dumps(unlisted[0])} is not in {INDEX}'s order "
            "(every node is listed there once, in the flows' order)"
        )
    absent = next((i for i in order if i not in origin), None)
    if absent is not None:
        raise FilesRefused(f"{INDEX}: the order lists node {json.dumps(absent)}, which no file holds")
    stray = next((i for i in credentials if i not in origin), None)
    if stray is not None:
        raise FilesRefused(f"{INDEX}: credentials name node {json.dumps(stray)}, which no file holds")
    return FlowFiles(flows=[by_id[i] for i in order], credentials=credentials, origin=origin)


def digest(directory: Path) -> str:
    """SHA-256 of what the directory's flows render to: equal for the same flows and credentials' outline,
    whatever else sits in the directory."""
    files = read(directory)
    h = hashlib.sha256()
    for name, data in render(files.flows, files.credentials).items():
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()
