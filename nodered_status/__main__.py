"""Command line: `python -m nodered_status [--url URL | --mongo-url URL] [--json | --watch]` (the status report),
`python -m nodered_status history ...`, `... diff A B`, `... rollback REV ...` (cli.py dispatches)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
