"""Command line: `python -m nodered_status [--mongo-url URL] [--db NAME] [--json | --watch]` (the status report),
`python -m nodered_status history ...`, `python -m nodered_status rollback REV ...` (cli.py dispatches)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
