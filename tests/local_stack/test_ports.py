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
