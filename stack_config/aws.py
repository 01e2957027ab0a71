"""aws target config (the `nodered-scale:aws` object)."""
from typing import Optional

from .base import ConfigModel


class AwsConfig(ConfigModel):
    region: Optional[str] = None
