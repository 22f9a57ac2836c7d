"""What a record may do, given who handed it over.

Camera workers parse untrusted stream data, so a record from one is a claim, not a fact: it
may only concern its own camera, name a file in that camera's folder, and finish a clip the
supervisor saw it open. Records read back from files a worker can write (its journals, or a
queue file this service did not write) may not even open a clip: they can only finish one the
supervisor saw opened live. The supervisor's own records and an in-process pipeline's are
trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from evidence.store import CLIP_ID


class RecordRefused(ValueError):
    """A record its sender may not write; it is dropped and logged, never retried."""


@dataclass(frozen=True)
class Origin:
    """Who handed a record over.

    ``camera_id`` None: this process (the supervisor, or ``hotspot analyze``'s own pipeline).
    Otherwise the camera whose worker sent it, as the supervisor knows it (never as the record
    says). ``replayed``: read back from a file a worker can write."""

    camera_id: str | None = None
    replayed: bool = False

    @property
    def trusted(self) -> bool:
        return self.camera_id is None


SERVICE = Origin()


def worker_origin(camera_id: str) -> Origin:
    return Origin(camera_id)


def replayed_origin(camera_id: str) -> Origin:
    return Origin(camera_id, replayed=True)


def record_camera(record: dict[str, Any]) -> str:
    if record.get("op") == "alert":
        return str(record["fields"]["camera_id"])
    return str(record["camera_id"])


def admit(record: dict[str, Any], origin: Origin) -> None:
    """Raise ``RecordRefused`` unless ``origin`` may write ``record``."""
    if origin.trusted:
        return
    camera = record_camera(record)
    if camera != origin.camera_id:
        raise RecordRefused(f"a record from camera {origin.camera_id}'s worker names camera {camera!r}")
    op = record.get("op")
    if op in ("clip", "seal", "empty"):
        clip_id = str(record["id"] if op == "clip" else record["clip_id"])
        check_clip_path(str(record["path"]), camera, clip_id)


def check_clip_path(relative: str, camera_id: str, clip_id: str) -> None:
    """A worker's clip lives at ``clips/<its camera>/<day>/<clip id>.mp4`` and nowhere else."""
    if not CLIP_ID.match(clip_id):
        raise RecordRefused(f"clip id {clip_id!r} is not a clip id")
    parts = PurePosixPath(relative).parts
    if len(parts) != 4 or parts[:2] != ("clips", camera_id) or parts[3] != f"{clip_id}.mp4" \
            or parts[2] in ("", ".", "..") or "\\" in relative:
        raise RecordRefused(f"clip {clip_id}: path {relative!r} is not in camera {camera_id}'s folder")
