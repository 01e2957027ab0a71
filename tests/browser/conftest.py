import pytest

from tests.browser.cdp import chromium_path
from tests.ci import missing_tool


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        missing_tool("chromium is not installed (apt-get install -y chromium)")
    return path
