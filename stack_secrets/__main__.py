"""`python -m stack_secrets --stack dev`: set the kept secrets the stack config lacks, and the flows deploy
token of a stack with flows.source (see stack_secrets/__init__.py). Run by `make up` / `make preview`
(scripts/pulumi-stack.sh); needs the Pulumi CLI and the stack's passphrase (PULUMI_CONFIG_PASSPHRASE or
PULUMI_CONFIG_PASSPHRASE_FILE). `--rotate-credential-secret` starts a rotation of the credential key
(docs/operations.md)."""

from __future__ import annotations

import argparse
import os
import sys

from . import NAMESPACE, PREVIOUS_KEY, PulumiCli, ensure, rotate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack_secrets", description=__doc__)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--pulumi", default=os.environ.get("PULUMI", "pulumi"), help="the Pulumi CLI to run")
    parser.add_argument(
        "--rotate-credential-secret",
        action="store_true",
        help=f"move credentialSecret to {PREVIOUS_KEY} and generate a new credentialSecret",
    )
    args = parser.parse_args(argv)
    try:
        if args.rotate_credential_secret:
            rotate(PulumiCli(args.pulumi, args.stack))
            print(
                f"{NAMESPACE}:credentialSecret: a new key; the key before is {NAMESPACE}:{PREVIOUS_KEY} until the "
                'rotation is finished (docs/operations.md, "Rotate the credential key")'
            )
            return 0
        origins = ensure(PulumiCli(args.pulumi, args.stack))
    except (OSError, RuntimeError) as exc:
        print(f"stack_secrets: {exc}", file=sys.stderr)
        return 1
    for key, origin in origins.items():
        how = "taken from the stack's state" if origin == "state" else "generated"
        print(f"{NAMESPACE}:{key}: {how}, kept (encrypted) in the stack config of {args.stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
