"""Run the whole stack locally by hand:

    venv/bin/python -m tests.harness up --workers 3 [--port 8080] [--http-node-root /red-nodes] [--demo]

Starts SecantusDB (or uses MONGO_TEST_URL), one editor, N workers and nginx with the rendered
router config, prints the URLs, and stops everything on Ctrl-C (or SIGTERM).
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from .stack import LocalStack


def demo_flow(http_node_root: str) -> list[dict]:
    """GET <root>/hello answers which worker (port) served it."""
    func = ("msg.payload = {hello: 'world', workerPort: msg.req.socket.localPort};\nreturn msg;")
    return [
        {"id": "demo-tab", "type": "tab", "label": "demo", "disabled": False, "info": ""},
        {"id": "demo-in", "type": "http in", "z": "demo-tab", "url": "/hello", "method": "get",
         "upload": False, "swaggerDoc": "", "x": 120, "y": 80, "wires": [["demo-fn"]]},
        {"id": "demo-fn", "type": "function", "z": "demo-tab", "func": func, "outputs": 1, "timeout": 0,
         "noerr": 0, "initialize": "", "finalize": "", "libs": [], "x": 300, "y": 80, "wires": [["demo-out"]]},
        {"id": "demo-out", "type": "http response", "z": "demo-tab", "statusCode": "", "headers": {},
         "x": 480, "y": 80, "wires": []},
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.harness")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the local stack until Ctrl-C")
    up.add_argument("--workers", type=int, default=3)
    up.add_argument("--port", type=int, default=None, help="router port (default: a free one)")
    up.add_argument("--http-node-root", default="/red-nodes")
    up.add_argument("--demo", action="store_true", help="deploy a GET <root>/hello flow once up")
    up.add_argument("--keep", action="store_true", help="keep logs and data dir after stopping")
    args = p.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack = LocalStack(workers=args.workers, http_node_root=args.http_node_root, router_port=args.port,
                       keep_dir=args.keep)
    print(f"starting MongoDB, 1 editor, {args.workers} workers and the router ...", flush=True)
    try:
        stack.start()
        if args.demo:
            rev = stack.deploy(demo_flow(args.http_node_root))
            print(f"deployed demo flow as revision {rev}: curl {stack.router.api_url}/hello", flush=True)
        print(stack.describe(), flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping ...", flush=True)
        stack.close()
        if args.keep:
            print(f"kept {stack.base_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
