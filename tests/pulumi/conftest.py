import pytest

# The secrets every valid stack needs; tests add what they vary.
BASE = {"editorPassword": "correct-horse-battery"}


@pytest.fixture
def base_config() -> dict:
    return dict(BASE)
