"""Whether this run is CI, where a missing tool must fail a test rather than skip it."""

import os


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def missing_tool(message: str):
    """A test's tool is not installed: fail under CI (nothing may be skipped there), skip elsewhere."""
    import pytest

    if under_ci():
        pytest.fail(f"{message}; CI runs every test")
    pytest.skip(message)
