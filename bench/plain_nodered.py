"""One plain Node-RED as it comes (file storage, no admin login, no sync), the same version as the image's:
the floor the benchmarks measure in the same run as the stack."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import requests

from local_stack.node_lines import line
from local_stack.ports import free_port

IMAGE_DIR = Path(__file__).resolve().parents[1] / "nodered_image"
ROOT = "/red-nodes"


class PlainNodeRed:
    """Node-RED as it comes (file storage, no admin login), the same version as the image's."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.dir = tmp / "plain"
        self.dir.mkdir(parents=True)
        self.settings = self.dir / "settings.js"
        self.settings.write_text(
            "module.exports = "
            + json.dumps(
                {
                    "uiHost": "127.0.0.1",
                    "uiPort": self.port,
                    "httpNodeRoot": ROOT,
                    "flowFile": "flows.json",
                    "credentialSecret": "bench-secret",
                    "logging": {"console": {"level": "warn"}},
                }
            )
            + ";\n"
        )
        self.proc: subprocess.Popen | None = None
        self.session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def node_url(self) -> str:
        return self.url + ROOT

    def start(self) -> PlainNodeRed:
        red = IMAGE_DIR / "node_modules" / "node-red" / "red.js"
        self.proc = subprocess.Popen(
            [str(line().node), str(red), "--settings", str(self.settings), "--userDir", str(self.dir)],
            stdout=open(self.dir / "log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.session.get(self.url + "/flows", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("plain Node-RED did not start: " + (self.dir / "log").read_text()[-2000:])

    def deploy(self, flows: list, deployment_type: str = "full") -> None:
        r = self.session.post(
            self.url + "/flows", json=flows, timeout=60, headers={"Node-RED-Deployment-Type": deployment_type}
        )
        r.raise_for_status()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
