"""`make up`'s preparation of a stack (scripts/pulumi-stack.sh, which runs python -m stack_secrets) against
a stand-in Pulumi CLI: what ends up in the stack config, and that a second run changes nothing."""

import json
import os
import subprocess
import sys

import pytest

from stack_config import parse
from stack_secrets import KEPT, PulumiCli, ensure, rotate

from .fake_pulumi_cli import FakePulumi
from .mock_program import ROOT

SCRIPT = ROOT / "scripts" / "pulumi-stack.sh"
FAKE_BIN = ROOT / "tests" / "pulumi" / "fake_pulumi_bin.py"


def prepare(tmp_path, data: dict, **env) -> tuple[subprocess.CompletedProcess, dict]:
    state = tmp_path / "fake-pulumi.json"
    state.write_text(json.dumps(data))
    # The stand-in runs under this interpreter, without site (it needs only the stdlib and the project):
    # `python3` on PATH may be a version manager's shim that takes a tenth of a second per call, and the
    # script calls the CLI a dozen times.
    cli = tmp_path / "pulumi"
    cli.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{FAKE_BIN}" "$@"\n')
    cli.chmod(0o755)
    environment = {
        "PATH": os.environ["PATH"],
        "PULUMI": str(cli),
        "PYTHONPATH": str(ROOT),  # the stand-in imports tests.pulumi.fake_pulumi_cli
        "PYTHON": sys.executable,
        "FAKE_PULUMI_FILE": str(state),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        **env,
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), "dev"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    return done, json.loads(state.read_text())


def test_make_up_keeps_generated_secrets_in_the_stack_config_and_generates_them_once(tmp_path):
    """Guards: a docker stack whose secrets lived only in the Pulumi state lost them on `make down`."""
    done, data = prepare(tmp_path, {}, PULUMI_CONFIG_PASSPHRASE="pass", EDITOR_PASSWORD="correct-horse-battery")
    assert done.returncode == 0, done.stderr
    config = data["config"]
    assert set(config) == {"editorPassword", *(k.key for k in KEPT)}
    # Values the program accepts, every one different.
    parse({**config})
    assert len({config[k.key] for k in KEPT}) == len(KEPT)
    for kept in KEPT:
        assert f"nodered-scale:{kept.key}: generated" in done.stdout
    sets = [c for c in data["calls"] if c[:2] == ["config", "set"]]

    again, data2 = prepare(tmp_path, data, PULUMI_CONFIG_PASSPHRASE="pass")
    assert again.returncode == 0, again.stderr
    assert data2["config"] == config
    assert [c for c in data2["calls"] if c[:2] == ["config", "set"]] == sets, "nothing set the second time"


def test_every_stack_generates_secrets_of_its_own(tmp_path):
    """Guards: every stack sharing one encryption key and one set of MongoDB passwords (a literal where a
    generated value belongs): two stacks prepared from nothing share no value."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    configs = []
    for name in ("one", "two"):
        done, data = prepare(
            tmp_path / name, {}, PULUMI_CONFIG_PASSPHRASE="pass", EDITOR_PASSWORD="correct-horse-battery"
        )
        assert done.returncode == 0, done.stderr
        configs.append({data["config"][k.key] for k in KEPT})
    assert not configs[0] & configs[1]


def test_without_a_passphrase_nothing_is_generated(tmp_path):
    done, data = prepare(tmp_path, {}, EDITOR_PASSWORD="correct-horse-battery")
    assert done.returncode == 1 and "PULUMI_CONFIG_PASSPHRASE" in done.stderr
    assert not data.get("calls")


def test_keys_already_set_are_left_alone():
    cli = FakePulumi("dev", {"credentialSecret": "my-own-credential-secret-1234"})
    origins = ensure(PulumiCli("pulumi", "dev", run=cli))
    assert set(origins) == {"mongoRootPassword", "mongoAppPassword", "mongoKeyFile"}
    assert cli.config["credentialSecret"] == "my-own-credential-secret-1234"


def test_a_rotation_keeps_the_key_before_beside_a_new_one_and_never_starts_twice():
    """`python -m stack_secrets --rotate-credential-secret` (docs/operations.md, "Rotate the credential key"): the
    current key becomes previousCredentialSecret, a new one credentialSecret, both secret; a second rotation before
    the first is finished would lose the key the database may still be on, so it is refused."""
    cli = FakePulumi("prod", {"target": "aws", "credentialSecret": "the-first-key-0123456789"})
    rotate(PulumiCli("pulumi", "prod", run=cli))
    assert cli.config["previousCredentialSecret"] == "the-first-key-0123456789"
    assert cli.config["credentialSecret"] != "the-first-key-0123456789"
    assert cli.secret_keys == {"previousCredentialSecret", "credentialSecret"}
    parse({**cli.config, "editorPassword": "correct-horse-battery", "aws": {"allowPlainHttp": True}})  # accepted
    with pytest.raises(RuntimeError, match="a rotation is under way"):
        rotate(PulumiCli("pulumi", "prod", run=cli))
    with pytest.raises(RuntimeError, match="no key to rotate"):
        rotate(PulumiCli("pulumi", "prod", run=FakePulumi("prod", {"target": "aws"})))


def test_a_stack_with_a_flows_source_gets_its_deploy_token_once_on_either_target():
    """Guards: `make up` of a stack with flows.source stopping at a missing flowsDeployToken, or a new token
    (and a restarted editor) on every `make up`."""
    for target in ("docker", "aws"):
        cli = FakePulumi("prod", {"target": target, "flows": json.dumps({"source": "flows/prod"})})
        origins = ensure(PulumiCli("pulumi", "prod", run=cli))
        assert origins["flowsDeployToken"] == "generated"
        token = cli.config["flowsDeployToken"]
        assert len(token) == 48 and "flowsDeployToken" in cli.secret_keys
        assert "flowsDeployToken" not in ensure(PulumiCli("pulumi", "prod", run=cli))
        assert cli.config["flowsDeployToken"] == token
    for flows in (None, json.dumps({"editor": "all"})):
        cli = FakePulumi("prod", {"target": "aws", **({"flows": flows} if flows else {})})
        assert "flowsDeployToken" not in ensure(PulumiCli("pulumi", "prod", run=cli))
