"""Run the whole stack locally by hand:

    venv/bin/python -m local_stack up --workers 3 [--port 8080] [--http-node-root /red-nodes] [--node-red 4.1] [--demo]
    venv/bin/python -m local_stack node install | run LINE -- COMMAND...   (node_lines.py)

Starts SecantusDB (or uses MONGO_TEST_URL), one editor, N workers and nginx with the rendered
router config, prints the URLs, and stops everything on Ctrl-C (or SIGTERM). A port it wants that
another process holds ends it with exit code 1 and an error naming the port, before any URL is printed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from nodered_contract import DEFAULT_HTTP_NODE_ROOT

from . import node_lines
from .flows import demo_flow
from .ports import PortInUse
from .stack import LocalStack


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["node"]:  # Node.js and Node-RED of a line: its own arguments, `--` and a command
        return node_lines.main(argv[1:])
    p = argparse.ArgumentParser(prog="python -m local_stack")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the local stack until Ctrl-C")
    up.add_argument("--workers", type=int, default=3)
    up.add_argument("--port", type=int, default=None, help="router port (default: a free one)")
    up.add_argument("--http-node-root", default=DEFAULT_HTTP_NODE_ROOT)
    up.add_argument("--demo", action="store_true", help="deploy a GET <root>/hello flow once up")
    up.add_argument("--keep", action="store_true", help="keep logs and data dir after stopping")
    up.add_argument(
        "--node-red", choices=list(node_lines.LINES), default=node_lines.DEFAULT_LINE, help="Node-RED line to run"
    )
    args = p.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Ctrl-C stops it even when started with SIGINT ignored (e.g. in the background of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stack = LocalStack(
        workers=args.workers,
        http_node_root=args.http_node_root,
        router_port=args.port,
        keep_dir=args.keep,
        node_red=args.node_red,
    )
    print(
        f"starting MongoDB, 1 editor, {args.workers} workers (Node-RED {args.node_red}) and the router ...", flush=True
    )
    code = 0
    try:
        stack.start()
        if args.demo:
            rev = stack.deploy(demo_flow())
            print(f"deployed demo flow as revision {rev}: curl {stack.api_url}/hello", flush=True)
        print(stack.describe(), flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    except PortInUse as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        print("\nstopping ...", flush=True)
        stack.close()
        if args.keep:
            print(f"kept {stack.base_dir}")
    return code


if __name__ == "__main__":
    sys.exit(main())
