"""`pulumi up` deploys the stack's flows from files (stack config flows.source, docs/flows-as-code.md).

The program reads the source directory (the layout `python -m nodered_status export` writes,
nodered_status/flowfiles.py) and registers one FlowsDeployment: a dynamic resource whose provider talks
to the stack's editor through its cluster API, as the status command does, logged in with the stack's
deploy token (flowsDeployToken, which the editor admits past the lock as `pulumi:<stack>`):

- diff (preview and up): POST /cluster/diff, the editor's checks of a deploy included. The same flows as
  the newest revision: no change. Other flows: an update, with what would change printed (tabs and nodes
  added, changed, removed; credentials the stack lacks), also when the source did not change but the
  stack runs something else (a rollback: drift that this `up` undoes). Flows the editor refuses stop
  preview and up with the reasons, naming files and nodes. An editor that cannot be reached falls back to
  comparing the source with the one deployed last.
- create, update: POST /cluster/deploy, a new revision saved by pulumi:<stack> (nothing when the newest
  revision holds these flows), then wait until every live worker serves it. Output flowsRevision.
- delete: nothing; the flows stay in the database, the editor unlocked by the next `up`.

No container or task depends on the flows: a change of them is a deploy, never a rollout.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult
from pulumi.output import Unknown
from pulumi.runtime import rpc

from nodered_status import exits, flowfiles
from nodered_status.http_source import HttpSource
from nodered_status.rollback import wait_served

# Where flows.source is resolved: the project's directory (this file's parent's parent).
PROJECT_DIR = Path(__file__).resolve().parent.parent
REQUEST_TIMEOUT_SECONDS = 60.0
SERVED_WITHIN_SECONDS = 180.0  # as long as `up` waits for a container to be healthy
STALE_AFTER_SECONDS = 30.0


def read_source(source: str) -> tuple[flowfiles.FlowFiles, str]:
    """The flows of flows.source and their digest; pulumi.RunError naming the key, the file and the node."""
    directory = PROJECT_DIR / source
    try:
        return flowfiles.read(directory), flowfiles.digest(directory)
    except flowfiles.FilesRefused as exc:
        raise pulumi.RunError(f"nodered-scale:flows.source: {source}: {exc}") from None


def flows_input(files: flowfiles.FlowFiles) -> str:
    """The flows and the index's credentials as the resource's `flows` input: the body of the deploy."""
    return json.dumps(files.body(), separators=(",", ":"), ensure_ascii=False)


def _unknown(value: Any) -> bool:
    """A value a preview does not know yet (the editor's URL while the editor itself is being replaced)."""
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def _say(text: str) -> None:
    # A dynamic provider has no engine connection to log through: its stderr is shown by `pulumi up`.
    print(f"flows: {text}", file=sys.stderr, flush=True)


def _editor(props: dict[str, Any]) -> HttpSource:
    return HttpSource(
        str(props["editor_url"]), REQUEST_TIMEOUT_SECONDS, user=None, token=str(props["token"]), password_variable=""
    )


def _described(answer: dict, files: flowfiles.FlowFiles) -> str:
    """One paragraph: what deploying the files changes, and the credentials the stack lacks."""
    text = answer["summary"]
    for n in answer.get("credentialsMissing") or []:
        text += f"; credentials this stack lacks: {files.where(n['id'])} ({', '.join(n['properties'])})"
    return text


def _files(props: dict[str, Any]) -> flowfiles.FlowFiles:
    body = json.loads(props["flows"])
    return flowfiles.FlowFiles(body["flows"], body["credentials"], flowfiles.placement(body["flows"]))


def _refused(exc: exits.CommandError, files: flowfiles.FlowFiles, source: str) -> Exception:
    where = "".join(f"\n  {files.where(n)}" for n in getattr(exc, "nodes", []))
    return Exception(f"{source}: {exc}{where}")


class FlowsProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if any(_unknown(news.get(k)) for k in ("editor_url", "token", "flows")):
            return DiffResult(changes=True)  # the editor changes in this update: deploy once it is there
        files = _files(news)
        try:
            with _editor(news) as editor:
                answer = editor.files_diff(files.body())
        except exits.FlowsRefused as exc:
            raise _refused(exc, files, news["source"]) from None
        except exits.CommandError as exc:
            if exc.exit_code != exits.UNREACHABLE:
                raise Exception(f"{news['source']}: {exc}") from None
            changed = olds.get("digest") != news["digest"]
            _say(f"{exc}; comparing {news['source']} with the flows deployed last: {'changed' if changed else 'same'}")
            return DiffResult(changes=changed)
        running = answer["from"]["rev"] if answer.get("from") else None
        if answer["same"]:
            _say(f"revision {running} runs the flows of {news['source']}")
            return DiffResult(changes=False)
        _say(f"revision {running} differs from {news['source']}: deploying it changes {_described(answer, files)}")
        return DiffResult(changes=True)

    def _deploy(self, props: dict[str, Any]) -> dict[str, Any]:
        files = _files(props)
        body = {**files.body(), "message": f"{props['source']} ({props['digest'][:12]}) by pulumi up"}
        try:
            with _editor(props) as editor:
                answer = editor.files_deploy(body)
                rev = int(answer["rev"])
                if answer["saved"]:
                    _say(f"saved as revision {rev} by {answer.get('savedBy')}: {_described(answer, files)}")
                    ok, problems = wait_served(editor, rev, SERVED_WITHIN_SECONDS, STALE_AFTER_SECONDS)
                    if not ok:
                        raise Exception(
                            f"revision {rev} (the flows of {props['source']}) is saved, but not every live worker "
                            f"serves it after {SERVED_WITHIN_SECONDS:g} s:\n  " + "\n  ".join(problems)
                        )
                else:
                    _say(f"revision {rev} holds the flows of {props['source']} already: nothing saved")
        except exits.CommandError as exc:
            raise _refused(exc, files, props["source"]) from None
        return {
            "source": props["source"],
            "digest": props["digest"],
            "editor_url": props["editor_url"],
            "deployer": props["deployer"],
            "flows_revision": rev,
            "summary": answer["summary"],
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=str(props["source"]), outs=self._deploy(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=self._deploy(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """The flows stay in the database: nothing to delete."""


@dataclass
class FlowsDeploymentArgs:
    source: str  # flows.source: the directory, relative to the project
    editor_url: pulumi.Input[str]  # the stack's editorUrl, reachable from where `pulumi up` runs
    token: str  # flowsDeployToken
    deployer: str  # the user the token logs in as (pulumi:<stack>)


class FlowsDeployment(Resource):
    flows_revision: pulumi.Output[int]
    digest: pulumi.Output[str]

    def __init__(self, name: str, args: FlowsDeploymentArgs, opts: pulumi.ResourceOptions | None = None):
        files, digest = read_source(args.source)
        super().__init__(
            FlowsProvider(),
            name,
            {
                "source": args.source,
                "digest": digest,
                "flows": flows_input(files),
                "editor_url": args.editor_url,
                "token": pulumi.Output.secret(args.token),
                "deployer": args.deployer,
                "flows_revision": None,
                "summary": None,
            },
            opts,
        )
