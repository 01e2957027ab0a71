"""Status of a nodered-scale deployment, read from its MongoDB.

`python -m nodered_status --mongo-url URL [--db nodered]` lists every instance and says
whether all workers run the newest flow revision (exit 0) or not (exit 1).
"""
