#!/usr/bin/env python3
"""An executable stand-in for the Pulumi CLI (none here), for scripts/pulumi-stack.sh: the stack's config
and state live in the JSON file $FAKE_PULUMI_FILE; every call is appended to its "calls". The test that runs
it puts the project root on PYTHONPATH."""

import json
import os
import sys
from pathlib import Path

from tests.pulumi.fake_pulumi_cli import FakePulumi


def main(argv: list[str]) -> int:
    path = Path(os.environ["FAKE_PULUMI_FILE"])
    data = json.loads(path.read_text())
    data.setdefault("calls", []).append(argv)
    try:
        if argv[:2] == ["stack", "select"]:
            return 0 if argv[2] in data.get("stacks", []) else 255
        if argv[:2] == ["stack", "init"]:
            data.setdefault("stacks", []).append(argv[2])
            return 0
        fake = FakePulumi(argv[argv.index("--stack") + 1], data.get("config"))
        fake.randoms = data.get("randoms", {})
        stdin = None if sys.stdin.isatty() else sys.stdin.read()
        done = fake(["pulumi", *argv], input=stdin)
        data["config"] = fake.config
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        return done.returncode
    finally:
        path.write_text(json.dumps(data))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
