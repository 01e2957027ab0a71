#!/bin/bash
# Member start: members of an authenticated replica set prove themselves to each other with a shared key
# file, which mongod only accepts when no one else can read it. The key comes from the environment
# (a Pulumi secret), is written with owner-only rights, and the image's own entrypoint does the rest
# (creates the root user and runs /docker-entrypoint-initdb.d on a fresh data volume).
set -euo pipefail
keyfile=/etc/mongo-keyfile
printf '%s' "${MONGO_KEYFILE_CONTENT:?MONGO_KEYFILE_CONTENT is required}" > "$keyfile"
chmod 400 "$keyfile"
chown mongodb:mongodb "$keyfile"
exec docker-entrypoint.sh mongod --replSet "${MONGO_REPLICA_SET:?}" --bind_ip_all --keyFile "$keyfile"
