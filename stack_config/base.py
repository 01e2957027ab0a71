"""Base for every config model: camelCase keys as in Pulumi.<stack>.yaml, unknown keys rejected."""

import ipaddress

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    # Stack config is written by hand: a typo ("replica") must be an error, not a silent default.
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=True,
    )


def ipv4_network(value: str) -> ipaddress.IPv4Network:
    """Parse a CIDR for a validator: a ValueError whose message reads well after the key's name."""
    try:
        return ipaddress.IPv4Network(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network ({exc})") from None
