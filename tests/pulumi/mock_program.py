"""Run the whole Pulumi program under mocks for one stack config and record what it asked for.

Each registered resource comes back as a `Resource`: its inputs (what the provider would be asked
for) and the options the engine acts on, taken from the RegisterResource request itself: protect,
retainOnDelete, ignoreChanges, deleteBeforeReplace, the parent, dependencies and property
dependencies. `engine_urn` is the URN the Pulumi engine gives the resource (the whole chain of parent
types); the mock monitor's own `urn` names only the direct parent's type.
"""

import asyncio
import copy
import hashlib
import json
import runpy
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import empty_pb2
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_in_stack

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "nodered-scale"
_SECRET = rpc._special_secret_sig
_SIG = rpc._special_sig_key

# Canned answers for provider functions (invokes), keyed by token; a test module may add its own.
CALLS: dict[str, Callable[[dict], dict]] = {}
# What the latest run_program registered, (type, name) -> inputs: also there when the program raised.
last_registered: dict[tuple[str, str], dict] = {}
# Outputs a provider would compute, by resource type (added to the state, not to the recorded inputs).
COMPUTED: dict[str, Callable[[str, dict], dict]] = {
    "docker:index/remoteImage:RemoteImage": lambda name, inputs: {
        "repoDigest": f"{inputs.get('name')}@sha256:{'1' * 64}",
        "imageId": f"sha256:{'1' * 64}",
    },
    "docker:index/image:Image": lambda name, inputs: {
        "repoDigest": built_image_digest(inputs),
        "imageName": inputs.get("imageName"),
    },
}


def built_image_digest(inputs: dict, build: str = "") -> str:
    """The repoDigest the provider reports for a built image: repository@sha256:... once pushed, the local image's
    id (sha256:...) otherwise. A new digest for other inputs, and for another `build` of the same inputs (the
    provider rebuilds when the files of the context change; a test names the build)."""
    digest = hashlib.sha256(json.dumps([inputs, build], sort_keys=True).encode()).hexdigest()
    if inputs.get("skipPush"):
        return f"sha256:{digest}"
    return f"{str(inputs.get('imageName')).rsplit(':', 1)[0]}@sha256:{digest}"


# The SDK walks the whole Python stack on every registration to tell the engine the source line that made
# the resource (for its messages); no test reads it, and it is a fifth of a mock run's time.
runtime_resource._get_stack_trace = source_pb2.StackTrace

RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
# A new value per test session: no test can expect a literal the program could hard-code.
_SESSION_SALT = secrets.token_hex(8)


def generated_password(stack: str, name: str, inputs: dict) -> dict:
    """The `result` random.RandomPassword creates once and the stack's state then keeps: the same on every
    run of one stack, different for every other stack or resource."""
    digest = hashlib.sha256(f"{_SESSION_SALT}\0{stack}\0{name}".encode()).hexdigest()
    return {"result": (digest * 4)[: int(inputs.get("length", 16))]}


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SIG) == _SECRET


def plain(value: Any) -> Any:
    """The value with every secret wrapper removed."""
    if is_secret(value):
        return plain(value["value"])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass
class Resource:
    type: str
    name: str
    urn: str  # as the mock monitor makes it: the direct parent's type only
    raw_inputs: dict  # secrets still wrapped: lets a test tell what is marked secret
    state: dict = field(default_factory=dict)  # inputs plus what the provider computes (plain)
    # What the engine would record and act on, from the RegisterResource request.
    engine_urn: str = ""  # urn:pulumi:<stack>::<project>::<parent types$...$type>::<name>
    parent: str = ""  # the parent's (mock) urn
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    dependencies: list[str] = field(default_factory=list)  # (mock) urns of depends_on and input dependencies
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)  # input name -> urns it depends on
    aliases: list[dict] = field(default_factory=list)  # alias specs: {name, type, parentUrn, noParent} as given

    @property
    def inputs(self) -> dict:
        return plain(self.raw_inputs)

    def parent_types(self) -> list[str]:
        """Types of the chain of parents, outermost first (the root stack included)."""
        qualified = self.engine_urn.split("::")[2]
        return ["pulumi:pulumi:Stack", *qualified.split("$")[:-1]]


def _fresh_random(type_: str) -> dict:
    """What the random provider creates: a new value every time."""
    if type_ == "random:index/randomId:RandomId":
        return {"hex": secrets.token_hex(4), "b64Url": secrets.token_urlsafe(4)}
    return {"result": secrets.token_urlsafe(24)}


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, stack: str, state: dict[tuple[str, str], dict] | None) -> None:
        self.stack = stack
        self.inputs: dict[tuple[str, str], dict] = {}
        self.states: dict[tuple[str, str], dict] = {}  # plain, for Resource.state
        self.state_in = state  # None: no lifecycle model (a stack's generated values stay the same)
        self.state_out: dict[tuple[str, str], dict] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        key = (args.typ, args.name)
        self.inputs[key] = args.inputs
        state = dict(args.inputs)
        computed = COMPUTED.get(args.typ)
        if computed:
            state.update(computed(args.name, plain(args.inputs)))
        if args.typ == RANDOM_PASSWORD:
            state.update(generated_password(self.stack, args.name, plain(args.inputs)))
        if args.typ.startswith("aws:"):
            state.setdefault("arn", f"arn:aws:mock:us-east-1:123456789012:{args.name}")
        if self.state_in is not None:
            if key in self.state_in:
                state = copy.deepcopy(self.state_in[key])
            elif args.typ.startswith("random:"):
                state.update(_fresh_random(args.typ))
        self.state_out[key] = copy.deepcopy(state)
        self.states[key] = plain(state)
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        handler = CALLS.get(args.token)
        return handler(args.args) if handler else {}


@dataclass
class Program:
    resources: list[Resource]
    outputs: dict[str, Any]  # stack exports, secrets wrapped
    # (type, name) -> the outputs each resource got: the state a next lifecycle run starts from.
    state: dict[tuple[str, str], dict] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def output(self, name: str) -> Any:
        return plain(self.outputs[name])

    def by_urn(self, urn: str) -> Resource:
        """The resource a (mock) urn in `parent`, `dependencies` or `property_dependencies` names."""
        [found] = [r for r in self.resources if r.urn == urn]
        return found

    def waits_for(self, resource: Resource, other: Resource) -> bool:
        """Whether the engine creates `resource` only after `other`, following every edge it orders by,
        transitively: dependencies, property dependencies (an input made from another resource's output,
        e.g. a task definition naming a secret's version), and the parent when it is a component (a child
        registers after its parent, which registers after its own dependencies)."""
        by_urn = {r.urn: r for r in self.resources}
        seen, todo = set(), [resource]
        while todo:
            current = todo.pop()
            edges = set(current.dependencies) | {u for urns in current.property_dependencies.values() for u in urns}
            parent = by_urn.get(current.parent)
            if parent is not None and parent.type.startswith("nodered-scale:"):
                edges.add(parent.urn)
            for urn in edges - seen:
                if urn == other.urn:
                    return True
                seen.add(urn)
                if urn in by_urn:  # not the root stack
                    todo.append(by_urn[urn])
        return False


def run_program(
    config: dict[str, Any], stack: str = "test", state: dict[tuple[str, str], dict] | None = None
) -> Program:
    """Run __main__.py with `config` (keys without namespace; objects as dicts) and return what it registered.
    `state`: run as the engine would with that state (see the module docstring); None: no lifecycle model.

    Raises whatever the program raises (e.g. pulumi.RunError for bad config)."""
    global last_registered
    mocks = _Mocks(stack, state)
    last_registered = mocks.inputs
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    # set_mocks keeps the pending-outputs set of the previous run; a run that raised midway left tasks of
    # its (now closed) loop there, which this run would wait on ("Event loop is closed").
    pulumi.runtime.settings.SETTINGS.outputs = set()
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    )
    monitor = pulumi.runtime.settings.SETTINGS.monitor
    # set_mocks makes a root stack of its own; run_in_stack below makes the one the program runs in.
    pulumi.runtime.settings.ROOT.set(None)
    stack_outputs: dict[str, Any] = {}

    def _record_outputs(request):
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            stack_outputs.update(rpc.deserialize_properties(request.outputs))
        return empty_pb2.Empty()

    monitor.RegisterResourceOutputs = _record_outputs
    # mock urn -> the request's options, and the engine's qualified type ("" for the root stack).
    options: dict[str, dict[str, Any]] = {}
    qualified: dict[str, str] = {}
    register = monitor.RegisterResource

    def _record_options(request):
        urn = monitor.make_urn(request.parent, request.type, request.name)
        # The engine drops the root stack from a type chain and keeps every other parent's.
        parent_type = qualified.get(request.parent, "")
        qualified[urn] = (
            "" if request.type == "pulumi:pulumi:Stack" else "$".join(filter(None, [parent_type, request.type]))
        )
        options[urn] = {
            "engine_urn": f"urn:pulumi:{stack}::{PROJECT}::{qualified[urn] or request.type}::{request.name}",
            "parent": request.parent,
            "protect": request.protect,
            "retain_on_delete": request.retainOnDelete,
            "ignore_changes": list(request.ignoreChanges),
            "delete_before_replace": request.deleteBeforeReplace,
            "dependencies": list(request.dependencies),
            "property_dependencies": {k: list(v.urns) for k, v in request.propertyDependencies.items()},
            "aliases": [
                {"name": a.spec.name, "type": a.spec.type, "parentUrn": a.spec.parentUrn, "noParent": a.spec.noParent}
                if a.HasField("spec")
                else {"urn": a.urn}
                for a in request.aliases
            ],
        }
        return register(request)

    monitor.RegisterResource = _record_options

    def _run():
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    raised = False

    def _after_a_raise_quietly(loop, context):
        # A run that raised leaves thousands of pending tasks and failed futures behind; asyncio logs each
        # one when it is collected, seconds of traceback formatting for an error the caller already has.
        if not raised:
            loop.default_exception_handler(context)

    loop.set_exception_handler(_after_a_raise_quietly)
    try:
        loop.run_until_complete(run_in_stack(_run))
    except BaseException:
        raised = True
        raise
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    resources = []
    for reg in monitor.resources.values():
        type_, name = reg.urn.split("::")[2].split("$")[-1], reg.urn.split("::")[3]
        resources.append(
            Resource(
                type=type_,
                name=name,
                urn=reg.urn,
                raw_inputs=mocks.inputs.get((type_, name), {}),
                state=mocks.states.get((type_, name), {}),
                **options[reg.urn],
            )
        )
    return Program(resources=resources, outputs=stack_outputs, state=mocks.state_out)


_programs: dict[str, Program] = {}


def cached_program(config: dict[str, Any], stack: str = "test") -> Program:
    """run_program for tests that only read what the program registered: one run per (config, stack) per
    test session, each caller gets its own deep copy. Tests about the run itself (two runs compared for
    determinism, files changed between runs, last_registered after a failure) call run_program.

    A run that raises is not kept: it raises again, and sets last_registered, on every call."""
    key = json.dumps([config, stack], sort_keys=True)
    if key not in _programs:
        _programs[key] = run_program(config, stack)
    return copy.deepcopy(_programs[key])
