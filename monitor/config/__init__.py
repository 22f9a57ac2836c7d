"""Site configuration: the validated contents of ``config/cameras.yaml``.

The models and ``config_hash`` load without pydantic or the YAML parser; the loader's names are
imported on first use, so a camera worker, which only holds a config, never loads them.
"""

from typing import TYPE_CHECKING, Any

from monitor.config.fingerprint import config_hash
from monitor.config.models import (
    Camera,
    Config,
    PrivacySettings,
    RecordingSettings,
    Schedule,
    Server,
    Site,
    Storage,
    Window,
    Zone,
    as_data,
)

if TYPE_CHECKING:
    from monitor.config.loader import ConfigError, load_config, parse_camera, parse_config

_LOADER = ("ConfigError", "load_config", "parse_camera", "parse_config")


def __getattr__(name: str) -> Any:
    if name in _LOADER:
        from monitor.config import loader  # see the module docstring

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Camera",
    "Config",
    "ConfigError",
    "PrivacySettings",
    "RecordingSettings",
    "Schedule",
    "Server",
    "Site",
    "Storage",
    "Window",
    "Zone",
    "as_data",
    "config_hash",
    "load_config",
    "parse_camera",
    "parse_config",
]
