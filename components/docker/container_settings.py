"""What every container of the docker target shares: its log driver, how it is stopped, how durations are written.

Each container sets both stop_timeout (`docker stop`, a restart) and destroy_grace_seconds (Pulumi's own
replace and destroy: without it the provider stops the container with timeout 0, a SIGKILL) to its
STOP_SECONDS."""

# Named explicitly: max-size/max-file are json-file options, and a daemon whose default driver is another
# (journald on Fedora/RHEL's moby-engine) refuses every container that passes them without one.
LOG_DRIVER = "json-file"
LOG_OPTS = {"max-size": "10m", "max-file": "3"}


def duration(seconds: float) -> str:
    """A health check duration as the Docker provider reads it back from the engine: Go's time.Duration
    String() form (60 -> "1m0s", 10 -> "10s", 0.5 -> "500ms"). Written any other way ("60s"), every later
    `pulumi up` and `--refresh` would show the container as changed."""
    if seconds < 0:
        raise ValueError(f"a duration is not negative, got {seconds}")
    total_ms = round(seconds * 1000)
    if total_ms == 0:
        return "0s"
    if total_ms < 1000:
        return f"{total_ms}ms"
    hours, rest_ms = divmod(total_ms, 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    whole, ms = divmod(rest_ms, 1000)
    secs = f"{whole}.{ms:03d}".rstrip("0").rstrip(".") + "s" if ms else f"{whole}s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    if minutes:
        return f"{minutes}m{secs}"
    return secs
