"""Running the image's Node scripts (settings.js, healthcheck.js) from a test."""

import json
import subprocess
from pathlib import Path

from local_stack.node_lines import line
from tests.ci import missing_tool

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "nodered_image"
RECORDER = Path(__file__).with_name("record_env_reads.js")


def node() -> str:
    """The Node.js of the image's line (local_stack/node_lines.py), as the image runs them."""
    found = line().node
    if not found.exists():
        missing_tool(f"{found} is not installed (make python-deps)")
    return str(found)


def load_settings(*envs: dict[str, str]) -> list[dict]:
    """settings.js loaded once per environment (in one node process): what it read, threw and set."""
    if not (IMAGE / "node_modules" / "node-red").exists():
        missing_tool(f"{IMAGE}/node_modules is not installed (cd nodered_image && npm ci)")
    done = subprocess.run(
        [node(), str(RECORDER), str(IMAGE / "settings.js")],
        input=json.dumps([{"env": env} for env in envs]),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=IMAGE,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
