"""Typed stack config for nodered-scale."""

from .load import NAMESPACE, load_config, parse
from .model import StackConfig

__all__ = ["NAMESPACE", "StackConfig", "load_config", "parse"]
