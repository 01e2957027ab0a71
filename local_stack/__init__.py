"""The whole system as local processes, for people, tests and benchmarks: SecantusDB (or MONGO_TEST_URL),
Node-RED instances started as nodered_image/'s start script on the venv's Node.js (node_lines.py: Node-RED
5 on Node.js 24, or 4.1 on 22), and nginx running the router config the
program renders. `python -m local_stack up` runs it by hand (docs/docker.md: "Run the whole stack locally without Docker").

Every server binds 127.0.0.1; a port another process holds fails loudly (PortInUse), never passes
for ready because that process answers.
"""

from .admin import AdminClient
from .load import Load, Outcome
from .mongo import MongoServer
from .nginx_process import NginxProcess, find_nginx
from .nodered import NodeRedInstance
from .ports import PortInUse, free_port
from .router import LocalRouter
from .stack import LocalStack
from .stubs import StubUpstream

__all__ = [
    "AdminClient",
    "Load",
    "LocalRouter",
    "LocalStack",
    "MongoServer",
    "NginxProcess",
    "NodeRedInstance",
    "Outcome",
    "PortInUse",
    "StubUpstream",
    "find_nginx",
    "free_port",
]
