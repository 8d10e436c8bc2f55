"""Configuration: the frozen `LockgateSettings` and `load_settings`."""

from adapters.config.settings import (
    CONFIG_ENV,
    DEV_API_SECRET_KEY,
    ConfigFileMissing,
    Environment,
    LockgateSettings,
    insecure_settings,
    load_settings,
)

__all__ = [
    "CONFIG_ENV",
    "DEV_API_SECRET_KEY",
    "ConfigFileMissing",
    "Environment",
    "LockgateSettings",
    "insecure_settings",
    "load_settings",
]
