"""The secrets a stack keeps in its stack config, so they outlive `pulumi destroy`.

`make down` (`pulumi destroy`) keeps the MongoDB data volumes of the docker target, and the aws target's
final DocumentDB snapshot, but everything in the Pulumi state goes, random values included. The MongoDB
root and app passwords and the members' key file are stored in those volumes' data (the users) or must
match it, and Node-RED's credential secret encrypts the stored flow credentials: generated anew, MongoDB
locks Node-RED out of its own data and stored credentials no longer decrypt. So they live in the stack
config (encrypted with the stack's passphrase), which `pulumi destroy` leaves alone: all four on the
docker target, the credential secret on the aws target (its database passwords are reset by the program).

ensure(cli) -> dict[key, origin]
    Sets every missing key the stack's target keeps (KEPT; the aws target: credentialSecret only) with
    `pulumi config set --secret`: the value the stack's state already holds (stacks deployed before these
    keys existed: the generated RandomPassword of the same role, which is then unprotected so the next `up`
    may drop it from the state), else a fresh random one. Keys already set are left alone. A stack of
    either target whose flows come from files (flows.source) also gets the token `pulumi up` deploys them
    with (DEPLOY_TOKEN), when it has none: the editor knows its hash only, so it lives in the stack config
    too. origin per key set: "state" or "generated".

rotate(cli) -> None
    Starts a rotation of the credential key: previousCredentialSecret gets the current credentialSecret,
    credentialSecret a new random one (docs/operations.md, "Rotate the credential key").
"""

from __future__ import annotations

import json
import secrets
import string
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

NAMESPACE = "nodered-scale"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
_ALPHABET = string.ascii_letters + string.digits  # URL-safe, and the base64 alphabet a key file needs


@dataclass(frozen=True)
class Kept:
    key: str  # stack config key, without namespace
    length: int  # generated length
    state_name: str  # name of the RandomPassword that held it before (migration)


KEPT = (
    Kept("credentialSecret", 48, "nodered-secrets-credential-secret"),
    Kept("mongoRootPassword", 32, "nodered-mongo-root-password"),
    Kept("mongoAppPassword", 32, "nodered-mongo-app-password"),
    Kept("mongoKeyFile", 512, "nodered-mongo-keyfile"),
)
# What each target keeps in its stack config.
KEPT_BY_TARGET = {"docker": KEPT, "aws": KEPT[:1]}
PREVIOUS_KEY = "previousCredentialSecret"

# With flows.source, either target: the token `pulumi up` deploys the flows with (docs/flows-as-code.md).
DEPLOY_TOKEN = Kept("flowsDeployToken", 48, "")

Runner = Callable[..., subprocess.CompletedProcess]


def generate(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


class PulumiCli:
    """The few Pulumi CLI calls this needs, for one stack."""

    def __init__(self, pulumi: str, stack: str, run: Runner = subprocess.run):
        self.pulumi, self.stack, self.run = pulumi, stack, run

    def _call(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return self.run(
            [self.pulumi, *args, "--stack", self.stack], input=stdin, capture_output=True, text=True, check=False
        )

    def get(self, key: str) -> str | None:
        done = self._call("config", "get", f"{NAMESPACE}:{key}")
        return done.stdout.rstrip("\n") if done.returncode == 0 else None

    def set_secret(self, key: str, value: str) -> None:
        # The value goes through stdin: never on a command line other processes can read.
        done = self._call("config", "set", "--secret", f"{NAMESPACE}:{key}", stdin=value)
        if done.returncode != 0:
            raise RuntimeError(f"pulumi config set --secret {NAMESPACE}:{key} failed: {done.stderr.strip()}")

    def unprotect(self, urn: str) -> None:
        done = self._call("state", "unprotect", urn, "--yes")
        if done.returncode != 0:
            raise RuntimeError(f"pulumi state unprotect {urn} failed: {done.stderr.strip()}")

    def state_randoms(self) -> dict[str, tuple[str, str]]:
        """name -> (urn, result) of every RandomPassword in the stack's state ({} when it has none)."""
        done = self._call("stack", "export", "--show-secrets")
        if done.returncode != 0 or not done.stdout.strip():
            return {}
        resources = json.loads(done.stdout).get("deployment", {}).get("resources") or []
        found = {}
        for resource in resources:
            if resource.get("type") != RANDOM_PASSWORD:
                continue
            result = (resource.get("outputs") or {}).get("result")
            # A secret output, shown: {"<signature>": "<secret sig>", "plaintext": "<JSON of the value>"}.
            if isinstance(result, dict) and "plaintext" in result:
                result = json.loads(result["plaintext"])
            if isinstance(result, str):
                found[resource["urn"].rsplit("::", 1)[-1]] = (resource["urn"], result)
        return found


def _flows_source(cli: PulumiCli) -> bool:
    """Whether the stack's flows come from files (flows.source set)."""
    try:
        flows = json.loads(cli.get("flows") or "{}")
    except ValueError:
        return False  # the program refuses the key, naming it
    return isinstance(flows, dict) and bool(flows.get("source"))


def ensure(cli: PulumiCli) -> dict[str, str]:
    kept_here = KEPT_BY_TARGET.get(cli.get("target") or "docker", ())
    missing = [k for k in kept_here if cli.get(k.key) is None]
    origins = {}
    if missing:
        from_state = cli.state_randoms()
        for kept in missing:
            urn, value = from_state.get(kept.state_name, (None, None))
            origins[kept.key] = "state" if value else "generated"
            cli.set_secret(kept.key, value or generate(kept.length))
            if urn:
                # The program no longer declares it (its value is in the config now); a protected resource
                # would stop the next `up` from dropping it. It is only a value in the state: nothing real
                # is deleted.
                cli.unprotect(urn)
    if _flows_source(cli) and cli.get(DEPLOY_TOKEN.key) is None:
        cli.set_secret(DEPLOY_TOKEN.key, generate(DEPLOY_TOKEN.length))
        origins[DEPLOY_TOKEN.key] = "generated"
    return origins


def rotate(cli: PulumiCli) -> None:
    """Starts a rotation of the credential key (see the module docstring)."""
    current = cli.get(KEPT[0].key)
    if current is None:
        raise RuntimeError(f"{NAMESPACE}:{KEPT[0].key} is not set: there is no key to rotate (make up sets one)")
    if cli.get(PREVIOUS_KEY) is not None:
        raise RuntimeError(
            f"{NAMESPACE}:{PREVIOUS_KEY} is set: a rotation is under way. Finish it first "
            f"(once every instance runs the new key: pulumi config rm {PREVIOUS_KEY}, then pulumi up)"
        )
    cli.set_secret(PREVIOUS_KEY, current)
    cli.set_secret(KEPT[0].key, generate(KEPT[0].length))
