import pytest

from .docker_helpers import DOCKER_KEPT_SECRETS

# The secrets every valid docker stack needs; tests add what they vary.
BASE = {"editorPassword": "correct-horse-battery", **DOCKER_KEPT_SECRETS}


@pytest.fixture
def base_config() -> dict:
    return dict(BASE)
