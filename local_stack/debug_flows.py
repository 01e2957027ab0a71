"""Flows that make debug output, node errors and floods on demand, for the tests and the benchmark of
debug forwarding (a worker's debug sidebar messages shown in the editor).

debug_flow() endpoints, each under httpNodeRoot, each answering 200 with the worker's own port:
    GET /dbg/probe/:tag    a debug node (sidebar) gets {"tag": tag}
    GET /dbg/error/:tag    the function node calls node.error("failed <tag>") and node.warn("warned <tag>")
    GET /dbg/console/:tag  a debug node set to the system console only gets {"tag": tag}
    GET /dbg/caught/:tag   node.error("caught <tag>", msg), handled by a catch node, which answers
    GET /dbg/flood/:n      a debug node gets n messages {"flood": i} at once
    GET /dbg/stream/:n     the same debug node gets n messages {"stream": i}, one every 5 ms (answered at once)
    GET /dbg/plain         answers without any debug node (the benchmark's "no debug output" flow)
On tabs of their own (the forwarding budget is shared fairly by flow):
    GET /dbg/big/:kib      "noisy" tab: a debug node gets an object of about kib KiB (many short strings:
                           debug nodes cut long strings and arrays, not objects)
    GET /dbg/quiet/:tag    "quiet" tab: the function node calls node.warn("quiet <tag>")
"""

from __future__ import annotations

from .flows import function_node, tab

TAB = "dbg-tab"
NOISY_TAB = "dbg-noisy-tab"
QUIET_TAB = "dbg-quiet-tab"
PROBE_NODE = "dbg-probe-debug"
FLOOD_NODE = "dbg-flood-debug"
BIG_NODE = "dbg-big-debug"


def _http_in(node_id: str, url: str, wires: list[list[str]], y: int, z: str = TAB) -> dict:
    return {"id": node_id, "type": "http in", "z": z, "name": "", "url": url, "method": "get", "upload": False,
            "swaggerDoc": "", "x": 120, "y": y, "wires": wires}  # fmt: skip


def _function(node_id: str, name: str, func: str, wires: list[list[str]], y: int, z: str = TAB) -> dict:
    return function_node(node_id, z, func, wires, name=name, x=420, y=y)


def _debug(node_id: str, name: str, y: int, console: bool = False, sidebar: bool = True, z: str = TAB) -> dict:
    return {"id": node_id, "type": "debug", "z": z, "name": name, "active": True, "tosidebar": sidebar,
            "console": console, "tostatus": False, "complete": "payload", "targetType": "msg",
            "statusVal": "", "statusType": "auto", "x": 660, "y": y, "wires": []}  # fmt: skip


def _response(node_id: str, y: int, z: str = TAB) -> dict:
    return {"id": node_id, "type": "http response", "z": z, "name": "", "statusCode": "", "headers": {},
            "x": 660, "y": y + 40, "wires": []}  # fmt: skip


ANSWER = "msg.payload = {port: msg.req.socket.localPort};"


def debug_flow() -> list[dict]:
    nodes = [tab(TAB, "debug output")]

    # probe: the tag to a sidebar debug node, and the answer.
    nodes += [
        _http_in("dbg-probe-in", "/dbg/probe/:tag", [["dbg-probe-fn"]], 60),
        _function(
            "dbg-probe-fn",
            "probe",
            f"node.send([{{payload: {{tag: msg.req.params.tag}}}}, null]);\n{ANSWER}\nreturn [null, msg];",
            [[PROBE_NODE], ["dbg-probe-out"]],
            60,
        ),  # fmt: skip
        _debug(PROBE_NODE, "probe", 60),
        _response("dbg-probe-out", 60),
    ]
    # error: node.error and node.warn without a message (not catchable): Node-RED's sidebar shows both.
    nodes += [
        _http_in("dbg-error-in", "/dbg/error/:tag", [["dbg-error-fn"]], 160),
        _function(
            "dbg-error-fn",
            "fails",
            "node.error('failed ' + msg.req.params.tag);\n"
            "node.warn('warned ' + msg.req.params.tag);\n"
            f"{ANSWER}\nreturn msg;",
            [["dbg-error-out"]],
            160,
        ),  # fmt: skip
        _response("dbg-error-out", 160),
    ]
    # console: a debug node that writes to the worker's log only.
    nodes += [
        _http_in("dbg-console-in", "/dbg/console/:tag", [["dbg-console-fn"]], 260),
        _function(
            "dbg-console-fn",
            "console",
            f"node.send([{{payload: {{tag: msg.req.params.tag}}}}, null]);\n{ANSWER}\nreturn [null, msg];",
            [["dbg-console-debug"], ["dbg-console-out"]],
            260,
        ),  # fmt: skip
        _debug("dbg-console-debug", "console only", 260, console=True, sidebar=False),
        _response("dbg-console-out", 260),
    ]
    # caught: an error with its message, handled by a catch node scoped to that function.
    nodes += [
        _http_in("dbg-caught-in", "/dbg/caught/:tag", [["dbg-caught-fn"]], 360),
        _function(
            "dbg-caught-fn", "fails caught", "node.error('caught ' + msg.req.params.tag, msg);\nreturn null;", [[]], 360
        ),  # fmt: skip
        {
            "id": "dbg-catch",
            "type": "catch",
            "z": TAB,
            "name": "handler",
            "scope": ["dbg-caught-fn"],
            "uncaught": False,
            "x": 120,
            "y": 420,
            "wires": [["dbg-caught-answer"]],
        },  # fmt: skip
        _function("dbg-caught-answer", "answer", f"{ANSWER}\nreturn msg;", [["dbg-caught-out"]], 420),
        _response("dbg-caught-out", 420),
    ]
    # flood: n messages to a sidebar debug node in one go.
    nodes += [
        _http_in("dbg-flood-in", "/dbg/flood/:n", [["dbg-flood-fn"]], 520),
        _function(
            "dbg-flood-fn",
            "flood",
            "const n = Number(msg.req.params.n);\n"
            "for (let i = 0; i < n; i++) node.send([{payload: {flood: i}}, null]);\n"
            f"{ANSWER}\nreturn [null, msg];",
            [[FLOOD_NODE], ["dbg-flood-out"]],
            520,
        ),  # fmt: skip
        _debug(FLOOD_NODE, "flood", 520),
        _response("dbg-flood-out", 520),
    ]
    # stream: n messages to the flood's debug node, spread out (a steady flood, not bursts).
    nodes += [
        _http_in("dbg-stream-in", "/dbg/stream/:n", [["dbg-stream-fn"]], 580),
        _function(
            "dbg-stream-fn",
            "stream",
            "const n = Number(msg.req.params.n);\nlet i = 0;\n"
            "const tick = () => { node.send([{payload: {stream: i}}, null]); if (++i < n) setTimeout(tick, 5); };\n"
            f"tick();\n{ANSWER}\nreturn [null, msg];",
            [[FLOOD_NODE], ["dbg-stream-out"]],
            580,
        ),  # fmt: skip
        _response("dbg-stream-out", 580),
    ]
    # plain: no debug node at all.
    nodes += [
        _http_in("dbg-plain-in", "/dbg/plain", [["dbg-plain-fn"]], 620),
        _function("dbg-plain-fn", "plain", f"{ANSWER}\nreturn msg;", [["dbg-plain-out"]], 620),
        _response("dbg-plain-out", 620),
    ]
    # big: one debug message of about kib KiB per request, on a tab of its own.
    nodes += [
        tab(NOISY_TAB, "noisy"),
        _http_in("dbg-big-in", "/dbg/big/:kib", [["dbg-big-fn"]], 60, z=NOISY_TAB),
        _function(
            "dbg-big-fn",
            "big",
            "const o = {};\n"
            "for (let i = 0; i < Number(msg.req.params.kib) * 16; i++) o['k' + i] = 'x'.repeat(56);\n"
            f"node.send([{{payload: o}}, null]);\n{ANSWER}\nreturn [null, msg];",
            [[BIG_NODE], ["dbg-big-out"]],
            60,
            z=NOISY_TAB,
        ),  # fmt: skip
        _debug(BIG_NODE, "big", 60, z=NOISY_TAB),
        _response("dbg-big-out", 60, z=NOISY_TAB),
    ]
    # quiet: one warning per request, on a tab of its own.
    nodes += [
        tab(QUIET_TAB, "quiet"),
        _http_in("dbg-quiet-in", "/dbg/quiet/:tag", [["dbg-quiet-fn"]], 60, z=QUIET_TAB),
        _function(
            "dbg-quiet-fn",
            "quiet",
            f"node.warn('quiet ' + msg.req.params.tag);\n{ANSWER}\nreturn msg;",
            [["dbg-quiet-out"]],
            60,
            z=QUIET_TAB,
        ),  # fmt: skip
        _response("dbg-quiet-out", 60, z=QUIET_TAB),
    ]
    return nodes
