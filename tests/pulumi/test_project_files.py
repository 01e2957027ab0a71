"""Pulumi.yaml and Pulumi.dev.yaml agree with the typed model and give the stack the README promises."""

from pathlib import Path

import yaml

from stack_config import NAMESPACE, parse
from stack_config.model import StackConfig

from .docker_helpers import DOCKER_KEPT_SECRETS, by_role
from .mock_program import cached_program

ROOT = Path(__file__).resolve().parents[2]


def stack_file_config(name: str) -> dict:
    raw = yaml.safe_load((ROOT / name).read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in raw.items() if key.startswith(f"{NAMESPACE}:")}


def test_project_declarations_match_model_defaults():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == NAMESPACE
    assert project["runtime"]["options"]["virtualenv"] == "venv"
    fields = {f.alias: f for f in StackConfig.model_fields.values()}
    for key, declaration in project["config"].items():
        assert key in fields, f"Pulumi.yaml declares {key}, which the model does not know"
        if "default" in declaration:
            assert declaration["default"] == fields[key].default, key
    assert project["config"]["editorPassword"]["secret"] is True


def test_dev_stack_is_docker_with_three_workers():
    # As after `make up`: the editor password given, the kept secrets generated.
    config = {**stack_file_config("Pulumi.dev.yaml"), "editorPassword": "correct-horse-battery", **DOCKER_KEPT_SECRETS}
    program = cached_program(config)
    assert parse(config).target == "docker"
    assert len(by_role(program, "worker")) == 3
    assert program.output("editorUrl") == "http://localhost:8080/"


def test_the_project_says_its_license_everywhere_and_ships_its_text():
    """The package.json files said Apache-2.0 while the repository had no LICENSE and pyproject.toml said nothing."""
    import json
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    for package in ("nodered_image", "nodered_image/storage", "nodered_image/context"):
        assert json.loads((ROOT / package / "package.json").read_text())["license"] == "Apache-2.0", package
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
