"""Node-RED runs on the Node.js line the image ships: the tests and the local stack use Node.js from the venv
(local_stack/node_lines.py), never the machine's own."""

import re
import subprocess

from local_stack.node_lines import IMAGE_DIR, LINES, line
from local_stack.nodered import start_command
from stack_config.model import BASE_IMAGE_NODE_LINES, release_line


def node_version(path) -> str:
    return subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def test_each_line_runs_the_node_js_of_its_base_image():
    """Guards: the tests ran Node-RED on the machine's Node.js 20 (past its end of life) while the image
    shipped Node.js 22; Node-RED 5 needs 22.9 or newer."""
    dockerfile = (IMAGE_DIR / "Dockerfile").read_text()
    assert re.search(rf"^ARG NODE_VERSION={LINES['5'].node_major}$", dockerfile, re.M)
    for name, ln in LINES.items():
        assert node_version(ln.node).startswith(f"v{ln.node_major}."), name
        version = ln.node_red_version()
        assert release_line(version) == name
        assert ln.node_major in BASE_IMAGE_NODE_LINES[name]
    assert start_command(line())[0] == str(LINES["5"].node)


def test_a_line_other_than_the_images_swaps_its_node_red_in():
    env = LINES["4.1"].env({"PATH": "/usr/bin"})
    assert env["PATH"].split(":")[0] == str(LINES["4.1"].bin_dir)
    probe = "process.stdout.write(require('node-red/package.json').version)"
    got = subprocess.run([str(LINES["4.1"].node), "-e", probe], env=env, capture_output=True, text=True, cwd=IMAGE_DIR)
    assert got.stdout == LINES["4.1"].node_red_version(), got.stderr
    own = LINES["5"].env({"PATH": "/usr/bin", **env})
    assert "NODE_OPTIONS" not in own
    got = subprocess.run([str(LINES["5"].node), "-e", probe], env=own, capture_output=True, text=True, cwd=IMAGE_DIR)
    assert got.stdout == LINES["5"].node_red_version(), got.stderr
