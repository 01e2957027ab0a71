"""Status of a nodered-scale deployment, read from its MongoDB.

`python -m nodered_status --mongo-url URL [--db nodered]` lists every instance and says whether all
workers run the newest flow revision (exit 0) or not (exit 1); `history` and `rollback REV` are its
subcommands. cli.py dispatches; source.py is the one place the deployment is read and written (the
collections of nodered_image/database.json); report.py, history.py and rollback.py hold what each
command does with it, revisions.py the rules on revision documents, exits.py the exit codes.
"""
