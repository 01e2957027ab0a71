import os
import shutil
from pathlib import Path

import pytest

from tests.ci import missing_tool


def chromium_path() -> str | None:
    """The system's Chromium (Debian's package; $CHROMIUM overrides): Playwright drives it, no download."""
    for c in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    return None


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        missing_tool("chromium is not installed (apt-get install -y chromium)")
    return path


@pytest.fixture
def playwright():
    try:
        from playwright import sync_api
    except ImportError:  # requirements-dev.txt installs it
        missing_tool("playwright is not installed (pip install -r requirements-dev.txt)")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture
def browser(playwright, chromium):
    """Headless Chromium driven by Playwright."""
    b = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    try:
        yield b
    finally:
        b.close()
