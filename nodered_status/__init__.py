"""Status of a nodered-scale deployment, read through its editor's cluster API or from its MongoDB.

`python -m nodered_status [--url https://editor... | --mongo-url URL]` lists every instance and says
whether all workers run the newest flow revision (exit 0) or not (exit 1); `history`, `diff A B` and
`rollback REV` are its subcommands, and `export`, `diff --dir` and `deploy` take the flows to and from a
directory made for review (flowfiles.py, the layout; docs/flows-as-code.md). cli.py dispatches;
connection.py picks the one source a command talks to the deployment through (http_source.py: the
editor's API; source.py: MongoDB, the collections of nodered_image/database.json); report.py, listing.py,
history.py, diff.py, rollback.py, export.py and deploy.py hold what each command does with it,
revisions.py the rules on revision documents, exits.py the exit codes.
"""
