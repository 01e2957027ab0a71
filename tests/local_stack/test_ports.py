"""Ports the local stack picks for its servers (local_stack/ports.py)."""

from __future__ import annotations

from local_stack.ports import free_port


def test_ports_picked_by_one_process_are_distinct_before_anything_binds_them():
    """A fresh clone's CI run failed at a stack's start with "status_port must differ from listen_port
    (59031)": the kernel had given the router's listen port and its status port, picked one after the
    other, the same free port (it picks at random; nothing was bound yet). 1,000 picks: on the old
    free_port() dozens of repeats."""
    ports = [free_port() for _ in range(1000)]
    assert len(set(ports)) == len(ports)


def test_test_processes_pick_from_slices_of_their_own_below_the_kernels_own_range(monkeypatch):
    """Two pytest-xdist workers each picking a port for a server that binds it a second later could be
    given the same port; and the kernel hands ports of its ephemeral range to outgoing connections."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    picked = {}
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
        picked[worker] = {free_port() for _ in range(200)}
    assert not picked["gw0"] & picked["gw1"]
    assert max(picked["gw0"]) < min(picked["gw1"]) and max(picked["gw1"]) < low


def test_a_small_slice_never_runs_out(monkeypatch):
    """With many workers a slice holds fewer ports than the picks a process remembers: picking must go on."""
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "16")
    assert len({free_port() for _ in range(3000)}) > 300
