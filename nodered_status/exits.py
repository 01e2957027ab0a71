"""The status command's exit codes, every subcommand's (documented in --help and the README)."""

OK = 0  # the report: in sync; history: listed; rollback: saved (with --wait: and served)
NOT_IN_SYNC = 1  # the report: a worker behind, not running, stale, or none; rollback --wait: not served everywhere
USAGE = 2  # bad arguments (argparse exits with 2 too)
UNREACHABLE = 3  # the deployment (its database, or its editor) cannot be read or written
NO_SUCH_REVISION = 4  # rollback, diff: a revision is not kept, or cannot be loaded
DENIED = 5  # --url: the editor refused the login, or the login lacks the permission (or the flows are locked)
REFUSED = 6  # deploy, diff --dir: the flows were refused (files that do not read back, unknown node types, ...)


class CommandError(Exception):
    """A command's failure: the dispatcher prints `error: <message>` on stderr and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class NoSuchRevision(CommandError):
    """A revision a command names is not kept, or cannot be loaded."""

    def __init__(self, message: str):
        super().__init__(message, NO_SUCH_REVISION)


class FlowsRefused(CommandError):
    """Flows from files refused, nothing saved: why, and the ids of the nodes it is about (their files
    are named by the command, which read them)."""

    def __init__(self, message: str, nodes: list[str] | None = None):
        super().__init__(message, REFUSED)
        self.nodes = nodes or []
