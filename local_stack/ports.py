"""Loopback ports for the processes the local stack starts, and who really listens on them.

A server whose port is taken must fail loudly, never pass for ready because another process answers
there (another stack's router or worker, an old run left over). The runners therefore check the
listening socket on their port belongs to their own process tree before they report ready; the
kernel's socket table (/proc/net/tcp*) says which socket listens, /proc/<pid>/fd whose it is.
"""

from __future__ import annotations

import collections
import os
import random
import socket
import struct
import time
from collections.abc import Iterable

LISTEN = "0A"  # TCP state in /proc/net/tcp
# Addresses whose listener gets a connection to 127.0.0.1.
_REACHES_LOOPBACK = {"127.0.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1"}


class PortInUse(RuntimeError):
    """The port a server of the local stack wants is held by another process."""

    def __init__(self, port: int, what: str):
        super().__init__(port, what)
        self.port = port
        self.what = what
        self.holder = holder_of(port)

    def __str__(self) -> str:
        holder = f" ({self.holder})" if self.holder else ""
        return (
            f"port {self.port} on 127.0.0.1 is already in use by another process{holder}: {self.what} "
            "cannot listen there. Stop that process or choose another port."
        )


# Ports are picked below the kernel's ephemeral range (32768 and up here), where it takes local ports for
# outgoing connections and answers bind(port 0), and each pytest-xdist worker picks in its own slice: a
# port picked for a server stays unbound until that server starts (a second or two for Node-RED), and
# another process must not be given it meanwhile. Within a process, the last 2,048 picks are skipped.
PICK_RANGE = (20000, 32768)
_given: collections.deque[int] = collections.deque(maxlen=2048)


def _slice() -> range:
    lo, hi = PICK_RANGE
    try:
        index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
        count = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        index, count = 0, 1
    width = (hi - lo) // count
    start = lo + (index % count) * width
    return range(start, start + width)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, not one of the last 2,048 this process
    was given (those may be about to be bound), and not one another test process picks from."""
    ports = _slice()
    while len(_given) >= len(ports) // 2:  # many workers, small slices: remember fewer
        _given.popleft()
    while True:
        port = random.choice(ports)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.append(port)
        return port


def _address(hex_addr: str) -> str:
    # /proc/net/tcp prints addresses as 32-bit words in host byte order.
    words = [struct.pack("=I", int(hex_addr[i : i + 8], 16)) for i in range(0, len(hex_addr), 8)]
    family = socket.AF_INET if len(words) == 1 else socket.AF_INET6
    return socket.inet_ntop(family, b"".join(words))


def listeners(port: int) -> set[int]:
    """Socket inodes listening on `port` at an address that takes connections to 127.0.0.1."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            addr, _, hex_port = fields[1].partition(":")
            if fields[3] == LISTEN and int(hex_port, 16) == port and _address(addr) in _REACHES_LOOPBACK:
                found.add(int(fields[9]))
    return found


def sockets_of(pids: Iterable[int]) -> set[int]:
    """Socket inodes open in the given processes."""
    found = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                found.add(int(target[8:-1]))
    return found


def owned_listeners(port: int, pids: Iterable[int]) -> set[int] | None:
    """The listening sockets on `port` when all of them belong to `pids`; None when another process
    listens there too; an empty set when nothing listens yet."""
    listening = listeners(port)
    if not listening:
        return set()
    ours = listening & sockets_of(pids)
    return ours if ours == listening else None


def holder_of(port: int) -> str:
    """ "pid N (command)" of a process listening on the port, as far as /proc lets us see; else ""."""
    wanted = listeners(port)
    if not wanted:
        return ""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and sockets_of([int(entry)]) & wanted:
            try:
                with open(f"/proc/{entry}/comm") as f:
                    return f"pid {entry}, {f.read().strip()}"
            except OSError:
                return f"pid {entry}"
    return ""


def check_free(port: int, what: str) -> None:
    """Raise PortInUse when something already listens on the port."""
    if listeners(port):
        raise PortInUse(port, what)


def wait_released(sockets: set[int], timeout: float = 10.0) -> bool:
    """True once none of these listening sockets is left (a stopped server really let go of its port)."""
    deadline = time.monotonic() + timeout
    while True:
        left = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    left |= {int(line.split()[9]) for line in f.readlines()[1:]} & sockets
            except FileNotFoundError:
                continue
        if not left:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
