"""`python -m local_stack up` as a user runs it, for the tests of the tool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_up(*args: str, stderr=subprocess.STDOUT, sigint_ignored: bool = False) -> subprocess.Popen:
    """sigint_ignored: started as a script's background job is (SIGINT ignored from the start)."""

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    return subprocess.Popen(
        [sys.executable, "-m", "local_stack", "up", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
        preexec_fn=ignore_sigint if sigint_ignored else None,
    )


def stop(proc: subprocess.Popen) -> None:
    """What a test started is stopped even when the test failed: SIGTERM lets `up` stop its stack (its
    processes run in sessions of their own, out of reach of a kill of its process group)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
