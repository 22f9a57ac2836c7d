"""Site configuration: the validated contents of ``config/cameras.yaml``."""

from monitor.config.loader import ConfigError, config_hash, load_config, parse_config
from monitor.config.models import (
    Camera,
    Config,
    PrivacySettings,
    RecordingSettings,
    Schedule,
    Site,
    Storage,
    Window,
    Zone,
)

__all__ = [
    "Camera",
    "Config",
    "ConfigError",
    "PrivacySettings",
    "RecordingSettings",
    "Schedule",
    "Site",
    "Storage",
    "Window",
    "Zone",
    "config_hash",
    "load_config",
    "parse_config",
]
