"""What every container of the docker target shares: its log driver, and how it is stopped.

Each container sets both stop_timeout (`docker stop`, a restart) and destroy_grace_seconds (Pulumi's own
replace and destroy: without it the provider stops the container with timeout 0, a SIGKILL) to its
STOP_SECONDS."""

# Named explicitly: max-size/max-file are json-file options, and a daemon whose default driver is another
# (journald on Fedora/RHEL's moby-engine) refuses every container that passes them without one.
LOG_DRIVER = "json-file"
LOG_OPTS = {"max-size": "10m", "max-file": "3"}
