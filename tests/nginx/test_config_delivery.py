"""How a new worker set reaches a running router (nginx/install-config.sh, nginx/reload-on-change.sh): the
scripts the docker target's router and config writer run, here beside a real nginx and stub workers."""

import hashlib
import os
import subprocess
import time
from collections import Counter

import requests

from local_stack import LocalRouter
from nginx.delivery import INSTALLER


def answered_by(router, n=12) -> Counter:
    """Which stub answered n requests, each on a new connection."""
    return Counter(requests.get(f"{router.url}/red-nodes/x", timeout=5).json()["id"] for _ in range(n))


def install(router, staged, directory=None, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(INSTALLER), str(staged), str(directory or router.runtime_dir), *router._nginx_command()],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **env},
    )


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_update_reloads_the_same_nginx_and_returns_once_it_serves_the_new_workers(nginx_bin, make_stubs):
    """Guards: a new worker set that needs a new router (every client connection cut), or an update that
    returns before nginx serves it (a worker stopped next would still get requests)."""
    workers = make_stubs(3)
    editor = make_stubs(1, "editor")[0]
    with LocalRouter([w.address for w in workers[:2]], editor.address, nginx_bin=nginx_bin) as router:
        master = router.proc.pid
        router.update([w.address for w in workers])
        assert answered_by(router) == {"worker1": 4, "worker2": 4, "worker3": 4}
        router.update([workers[2].address])
        assert answered_by(router, 4) == {"worker3": 4}
        assert router.proc.pid == master
        assert router.applied_path.read_text().split()[0] == md5(router.conf_path.read_text())


def test_a_config_nginx_rejects_is_never_installed(nginx_bin, make_stubs, tmp_path):
    """Guards: a broken config reaching the router's config file, where a restarted router would fail to
    start with it."""
    workers = make_stubs(2)
    editor = make_stubs(1, "editor")[0]
    with LocalRouter([workers[0].address], editor.address, nginx_bin=nginx_bin) as router:
        before = router.conf_path.read_text()
        staged = tmp_path / "broken.conf"
        staged.write_text(before.replace("events {", "events {{"))
        p = install(router, staged)
        assert p.returncode == 1 and "nginx -t rejected the new router config" in p.stderr
        assert router.conf_path.read_text() == before
        assert answered_by(router, 3) == {"worker1": 3}


def test_a_config_file_the_running_nginx_refuses_leaves_it_on_the_previous_one(nginx_bin, make_stubs):
    """A file edited in place (not through the installer) that nginx -t rejects: the router keeps serving,
    says so in its log and in `refused`; the next good config is taken up as usual."""
    workers = make_stubs(2)
    editor = make_stubs(1, "editor")[0]
    with LocalRouter([workers[0].address], editor.address, nginx_bin=nginx_bin) as router:
        good = router.conf_path.read_text()
        bad = good.replace("events {", "events {{")
        router.conf_path.write_text(bad)
        deadline = time.monotonic() + 10
        while not router.runtime_dir.joinpath("refused").exists():
            assert time.monotonic() < deadline, router.watcher_log()
            time.sleep(0.05)
        assert router.runtime_dir.joinpath("refused").read_text().split()[0] == md5(bad)
        assert router.applied_path.read_text().split()[0] == md5(good)
        assert "refused config" in router.watcher_log()
        assert answered_by(router, 3) == {"worker1": 3}
        router.update([workers[1].address])
        assert answered_by(router, 3) == {"worker2": 3}


def test_with_no_router_watching_the_installer_installs_and_returns(nginx_bin, make_stubs, tmp_path):
    """The first deploy (the router container does not exist yet) or a stopped router: nothing reports the
    config applied, and none needs to: a router reads the file when it starts."""
    workers = make_stubs(1)
    editor = make_stubs(1, "editor")[0]
    target = tmp_path / "volume"  # no router watches it
    target.mkdir()
    with LocalRouter([workers[0].address], editor.address, nginx_bin=nginx_bin) as router:
        staged = tmp_path / "staged.conf"
        staged.write_text(router.conf_path.read_text())
        started = time.monotonic()
        p = install(router, staged, target)
        assert p.returncode == 0 and "no running router watches" in p.stdout, p.stdout + p.stderr
        assert (target / "nginx.conf").read_text() == staged.read_text()
        # A heartbeat older than ROUTER_CONFIG_STALE_SECONDS is a router that stopped.
        (target / "applied").write_text(f"0123 {int(time.time()) - 60}\n")
        p = install(router, staged, target)
        assert p.returncode == 0 and "no running router watches" in p.stdout
        assert time.monotonic() - started < 10
