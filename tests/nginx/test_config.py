"""Real nginx (`nginx -t`) accepts what render() produces."""

import re
import shutil

import pytest

from local_stack.nginx_process import check_config, make_runtime_dir
from nginx.render import render


@pytest.fixture
def runtime_dir():
    path = make_runtime_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("count", [1, 10])
def test_nginx_accepts_config_for_workers(nginx_bin, runtime_dir, count):
    workers = [f"10.0.0.{10 + i}:1880" for i in range(count)]
    conf = render(workers, "10.0.0.2:1880", runtime_dir=runtime_dir)
    result = check_config(conf, runtime_dir, nginx_bin)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.mark.parametrize("root", ["/api", "/api/v1.2", "/red-nodes"])
def test_nginx_accepts_other_http_node_roots(nginx_bin, runtime_dir, root):
    conf = render(["127.0.0.1:1881"], "127.0.0.1:1880", http_node_root=root, runtime_dir=runtime_dir)
    result = check_config(conf, runtime_dir, nginx_bin)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("rate_limit", [(20, 40), (1, 0), (100000, 100000)])
def test_nginx_accepts_the_flows_rate_limit(nginx_bin, runtime_dir, rate_limit):
    """Stack config http.rateLimit, burst 0 included (nginx refuses `burst=0`)."""
    conf = render(["127.0.0.1:1881"], "127.0.0.1:1880", runtime_dir=runtime_dir, rate_limit=rate_limit)
    result = check_config(conf, runtime_dir, nginx_bin)
    assert result.returncode == 0, result.stderr


def test_nginx_accepts_the_docker_config(nginx_bin, runtime_dir):
    """The config the container gets, checked here without its image: the
    image's `nginx` user and default temp paths do not exist on this machine,
    so only those are pointed at the runtime dir."""
    conf = render([f"172.20.0.{10 + i}:1880" for i in range(3)], "172.20.0.2:1880")
    assert conf.count("user nginx;\n") == 1
    temp_paths = "".join(
        f'    {name}_temp_path "{runtime_dir}/{name}";\n'
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    local = re.sub(r"^http \{\n", "http {\n" + temp_paths, conf.replace("user nginx;\n", ""), count=1, flags=re.M)
    assert local != conf
    local = f'pid "{runtime_dir}/nginx.pid";\n' + local
    result = check_config(local, runtime_dir, nginx_bin)
    assert result.returncode == 0, result.stderr
