"""Site configurations for the benchmark: real ``cameras.yaml`` files in a scratch folder.

Two detection set-ups on the same footage:

- ``idle``: a hotspot over the whole frame whose ``min_area`` is 1.0, so detection measures
  every analysed frame exactly as usual but no event ever opens (a quiet camera);
- ``event``: the same hotspot at ``min_area`` 0.001 with a long post-roll, so an event opens
  within the first analysed frames and the rest of the file is recorded (a camera that records);
- ``busy``: ``min_area`` 0.02, so events open when people walk through, as configured on site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from monitor.config import Config, load_config

FULL_FRAME = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
MODES = {
    "idle": {"min_area": 1.0, "post_roll": 10.0},
    "event": {"min_area": 0.001, "post_roll": 600.0},
    "busy": {"min_area": 0.02, "post_roll": 10.0},
}


def camera_entry(
    camera_id: str,
    source: Path,
    *,
    mode: str,
    loop: bool = False,
    zone: list[list[float]] | None = None,
    min_area: float | None = None,
    post_roll: float | None = None,
    encoder_preset: str | None = None,
    max_clip: float = 3600.0,
) -> dict[str, Any]:
    """One camera; ``mode`` picks defaults from ``MODES``, explicit keywords override them."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    defaults = MODES[mode]
    recording: dict[str, Any] = {"pre_roll": 5.0, "max_clip": max_clip,
                                 "post_roll": defaults["post_roll"] if post_roll is None else post_roll}
    if encoder_preset is not None:
        recording["encoder_preset"] = encoder_preset
    return {
        "id": camera_id,
        "source": str(source),
        "loop": loop,
        "zones": [{"id": "hotspot", "polygon": zone or FULL_FRAME,
                   "min_area": defaults["min_area"] if min_area is None else min_area}],
        "recording": recording,
    }


def write_site(folder: Path, cameras: list[dict[str, Any]], *, originals: dict[str, Any] | None = None) -> Path:
    """A ``cameras.yaml`` whose storage (SQLite, clips, keys) lives in ``folder``; ``originals``
    is its section of that name (the unmask recipient), none by default."""
    folder.mkdir(parents=True, exist_ok=True)
    storage = folder / "data"
    data = {
        "site": {"name": "Benchmark", "timezone": "UTC", "holidays": []},
        # Workers keep the benchmark's user: its scratch folders are private to it, and dropping
        # to another user changes nothing that is measured here.
        "storage": {"path": str(storage), "database": f"sqlite:///{storage}/hotspot.db", "worker_user": None},
        "schedules": {},
        "cameras": cameras,
    }
    if originals is not None:
        data["originals"] = originals
    path = folder / "cameras.yaml"
    with path.open("w", encoding="utf-8") as handle:
        YAML().dump(data, handle)
    return path


def site_config(folder: Path, cameras: list[dict[str, Any]]) -> Config:
    return load_config(write_site(folder, cameras))
