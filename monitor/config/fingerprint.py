"""The hash of the configuration a clip was recorded under, computed where the clip is made."""

from __future__ import annotations

from evidence.canonical import canonical_json
from evidence.hashing import sha256_bytes
from monitor.config.models import Camera, Config, as_data


def config_hash(config: Config, camera: Camera) -> str:
    """SHA-256 over what decides what a camera records: its zones, schedules, privacy and site clock."""
    used = {z.schedule for z in camera.zones if z.schedule}
    camera_data = as_data(camera)
    # How much is decoded is not what is recorded (the gate keeps events and clips as they
    # were, tested); hashes sealed before the setting existed stay the same.
    camera_data["detection"].pop("idle_gate", None)
    camera_data.pop("tamper", None)  # tamper checks raise alerts; they record nothing
    camera_data.pop("node", None)  # which recorder node records it changes nothing recorded
    # A detect substream stays in: what detection reads decides which events (so which clips)
    # there are, as the main source does. Left out when absent, so earlier hashes stay the same.
    if camera_data.get("detect") is None:
        camera_data.pop("detect", None)
    material = {
        "camera": camera_data,
        "schedules": {name: as_data(s) for name, s in config.schedules.items() if name in used},
        "site": {"timezone": config.site.timezone, "holidays": as_data(config.site.holidays)},
    }
    return sha256_bytes(canonical_json(material))
