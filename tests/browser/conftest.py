import pytest

from tests.browser.cdp import chromium_path
from tests.ci import under_ci
from tests.e2e.fixtures import shared_stack  # noqa: F401


@pytest.fixture(scope="session")
def chromium():
    path = chromium_path()
    if path is None:
        if under_ci():
            pytest.fail("chromium is not installed (apt-get install -y chromium); CI runs every test")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return path
