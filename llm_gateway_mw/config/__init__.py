"""Config schema, loader and validation."""

from __future__ import annotations

from .loader import ConfigWarning, load_config, load_file
from .schema import GatewayConfig, ModelConfig, ProviderConfig

__all__ = ["ConfigWarning", "GatewayConfig", "ModelConfig", "ProviderConfig", "load_config", "load_file"]
