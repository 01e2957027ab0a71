"""Whether this run is CI, where a missing tool must fail a test rather than skip it."""
import os


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")
