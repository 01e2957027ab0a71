#!/usr/bin/env bash
# Ready a stack for `pulumi up` on the local file backend: check the CLI and passphrase, create the state
# folder and the stack when missing, make sure the required editor password is set, and generate the secrets
# kept in the stack config across `pulumi destroy` that are missing (python -m stack_secrets: the docker target's
# four, the aws target's credential key, and the flows deploy token of a stack with flows.source).
set -euo pipefail
stack="${1:-dev}"
command -v "${PULUMI:-pulumi}" >/dev/null || { echo "the Pulumi CLI is not installed: https://www.pulumi.com/docs/install/" >&2; exit 1; }
if [ -z "${PULUMI_CONFIG_PASSPHRASE+x}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets" >&2
  exit 1
fi
case "${PULUMI_BACKEND_URL:-}" in
  file://*) mkdir -p "${PULUMI_BACKEND_URL#file://}" ;;
esac
pulumi="${PULUMI:-pulumi}"
"$pulumi" stack select "$stack" 2>/dev/null || "$pulumi" stack init "$stack" --secrets-provider passphrase
if ! "$pulumi" config get editorPassword --stack "$stack" >/dev/null 2>&1; then
  if [ -n "${EDITOR_PASSWORD:-}" ]; then
    printf '%s' "$EDITOR_PASSWORD" | "$pulumi" config set --secret editorPassword --stack "$stack"
  else
    echo "stack $stack has no editor password: run again with EDITOR_PASSWORD=... (8+ characters)," >&2
    echo "or: pulumi config set --secret editorPassword --stack $stack" >&2
    exit 1
  fi
fi
"${PYTHON:-venv/bin/python}" -m stack_secrets --stack "$stack" --pulumi "$pulumi"
