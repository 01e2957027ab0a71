"""docker target: the private network and its fixed address plan.

Fixed addresses let the router list every worker by IP: nginx resolves names once at start, so a
restarted container with a new address would otherwise be lost to it until nginx restarts."""

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from stack_config.model import MAX_WORKERS

ROUTER_HOST = 2
EDITOR_HOST = 3
MONGO_FIRST_HOST = 5  # members 0..2
WORKER_FIRST_HOST = 16  # worker i gets the 16+i-th address
# Addresses Docker hands out itself (a container attached by hand, `docker run --network ...`): the last /27 of
# the subnet, above every fixed address, so such a container never takes one a replaced container needs.
DYNAMIC_PREFIX = 27


@dataclass
class PrivateNetworkArgs:
    subnet: str
    docker_name: str  # the network's name in Docker (prefixed with project and stack)


class PrivateNetwork(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(self, name: str, args: PrivateNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:docker:PrivateNetwork", name, None, opts)
        self._subnet = ipaddress.IPv4Network(args.subnet)
        if ipaddress.IPv4Address(self.worker_ip(MAX_WORKERS - 1)) >= self.dynamic_range.network_address:
            raise ValueError(f"subnet {args.subnet}: too small for the fixed addresses and a dynamic range above them")
        network = docker.Network(
            f"{name}-network",
            name=args.docker_name,
            driver="bridge",
            ipam_configs=[
                docker.NetworkIpamConfigArgs(
                    subnet=args.subnet, gateway=self._address(1), ip_range=str(self.dynamic_range)
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = network.name
        self.register_outputs({"name": self.name})

    def _address(self, host: int) -> str:
        return str(self._subnet.network_address + host)

    @property
    def dynamic_range(self) -> ipaddress.IPv4Network:
        """Where Docker picks addresses for containers that ask for none (none of the stack's do)."""
        size = 2 ** (32 - DYNAMIC_PREFIX)
        return ipaddress.IPv4Network((int(self._subnet.broadcast_address) - size + 1, DYNAMIC_PREFIX))

    @property
    def router_ip(self) -> str:
        return self._address(ROUTER_HOST)

    @property
    def editor_ip(self) -> str:
        return self._address(EDITOR_HOST)

    def mongo_ip(self, index: int) -> str:
        return self._address(MONGO_FIRST_HOST + index)

    def worker_ip(self, index: int) -> str:
        return self._address(WORKER_FIRST_HOST + index)
