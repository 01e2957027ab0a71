"""How a new router config reaches a running nginx without restarting it (a scale-up or scale-down).

Two scripts, run as they are by the docker target's containers and by the local stack's LocalRouter:
- WATCHER (reload-on-change.sh) runs beside nginx: it polls <dir>/nginx.conf, checks a changed file
  with `nginx -t`, reloads nginx gracefully and records the config nginx serves in <dir>/applied.
- INSTALLER (install-config.sh) delivers a config: `nginx -t` on it, one rename into <dir>, then waits
  until a watching router reports it applied (or refused).
Each script's header says the details.
"""

from pathlib import Path

HERE = Path(__file__).parent
WATCHER = HERE / "reload-on-change.sh"
INSTALLER = HERE / "install-config.sh"
CONFIG_NAME = "nginx.conf"  # the file in the watched dir
