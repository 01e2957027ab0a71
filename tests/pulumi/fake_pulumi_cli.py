"""A stand-in for the few Pulumi CLI calls stack_secrets makes (there is no Pulumi CLI here): one stack's
config (what Pulumi.<stack>.yaml holds) and state (what `pulumi stack export --show-secrets` prints), with
the CLI's exit codes and its reading of a `config set` value from stdin."""

import json
import subprocess

from stack_secrets import NAMESPACE, RANDOM_PASSWORD

SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}


class FakePulumi:
    def __init__(self, stack: str = "dev", config: dict[str, str] | None = None):
        self.stack = stack
        self.config: dict[str, str] = dict(config or {})  # keys without namespace
        self.secret_keys: set[str] = set()
        self.randoms: dict[str, str] = {}  # RandomPassword name -> result in the state
        self.protected: set[str] = set()  # their names that are protected in the state
        self.calls: list[list[str]] = []

    def __call__(self, argv, input=None, **_):
        self.calls.append(list(argv))
        args = list(argv[1:])
        assert args[-2:] == ["--stack", self.stack], args
        args = args[:-2]
        if args[:2] == ["config", "set"] and args[2] != "--secret":
            raise AssertionError(f"a secret set without --secret: {argv}")
        if args[:2] == ["config", "get"]:
            key = args[2].removeprefix(f"{NAMESPACE}:")  # the CLI takes keys with or without it
            if key in self.config:
                return subprocess.CompletedProcess(argv, 0, self.config[key] + "\n", "")
            return subprocess.CompletedProcess(argv, 255, "", f"error: configuration key '{args[2]}' not found")
        if args[:3] == ["config", "set", "--secret"]:
            key = args[3].removeprefix(f"{NAMESPACE}:")
            assert len(args) == 4 and input, "the value comes through stdin, never on the command line"
            self.config[key] = input
            self.secret_keys.add(key)
            return subprocess.CompletedProcess(argv, 0, "", "")
        if args[:2] == ["state", "unprotect"]:
            assert args[3:] == ["--yes"], args
            name = args[2].rsplit("::", 1)[-1]
            if name not in self.randoms:
                return subprocess.CompletedProcess(argv, 255, "", f"error: No such resource {args[2]!r} exists")
            self.protected.discard(name)
            return subprocess.CompletedProcess(argv, 0, "", "")
        if args == ["stack", "export", "--show-secrets"]:
            resources = [
                {
                    "urn": f"urn:pulumi:{self.stack}::nodered-scale::parent$random:index/randomPassword:RandomPassword::{name}",
                    "type": RANDOM_PASSWORD,
                    "outputs": {"result": {**SECRET_SIG, "plaintext": json.dumps(value)}, "length": 32},
                    **({"protect": True} if name in self.protected else {}),
                }
                for name, value in self.randoms.items()
            ]
            return subprocess.CompletedProcess(
                argv, 0, json.dumps({"version": 3, "deployment": {"resources": resources}}), ""
            )
        raise AssertionError(f"unexpected pulumi call {argv}")

    def destroy(self) -> None:
        """`pulumi destroy`: the state is emptied, the stack config stays."""
        self.randoms = {}
        self.protected = set()
