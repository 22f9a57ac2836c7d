"""Where everything lives under the storage folder. One place, so nothing guesses."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, get_args

PreviewKind = Literal["live", "editor"]
PREVIEW_KINDS: tuple[PreviewKind, ...] = get_args(PreviewKind)


@dataclass(frozen=True)
class StoragePaths:
    root: Path

    @property
    def clips(self) -> Path:
        return self.root / "clips"

    @property
    def originals(self) -> Path:
        """Each clip's native original (the camera's packets), age-encrypted for masked cameras."""
        return self.root / "originals"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def live(self) -> Path:
        """Latest masked frame per camera, for the live view and the zone editor."""
        return self.root / "live"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def notify(self) -> Path:
        """Alert messages waiting for their receiver (``queue/``) or given up on (``failed/``)."""
        return self.root / "notify"

    def clip_file(self, camera_id: str, start: datetime, clip_id: str) -> Path:
        return self.clips / camera_id / start.strftime("%Y-%m-%d") / f"{clip_id}.mp4"

    def original_file(self, camera_id: str, start: datetime, clip_id: str, *, encrypted: bool) -> Path:
        name = f"{clip_id}.mp4.age" if encrypted else f"{clip_id}.mp4"
        return self.originals / camera_id / start.strftime("%Y-%m-%d") / name

    def preview_file(self, camera_id: str, kind: PreviewKind) -> Path:
        """The camera's latest preview: the masked live tile, or the zone editor's frame (in
        the camera's own folder, which only its worker writes)."""
        return self.live / camera_id / f"{kind}.jpg"

    def preview_request_file(self, camera_id: str, kind: PreviewKind) -> Path:
        """Its modification time is when someone last asked for that preview."""
        return self.live / camera_id / f"{kind}.watch"

    def request_preview(self, camera_id: str, kind: PreviewKind) -> None:
        """Tell the camera's worker, in another process, that someone is watching: it makes
        previews only while they are asked for."""
        path = self.preview_request_file(camera_id, kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def absolute(self, relative: str) -> Path:
        """Resolve a stored relative path, refusing anything that escapes the storage folder."""
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise ValueError(f"path {relative!r} escapes the storage folder")
        return candidate

    def ensure(self) -> None:
        for folder in (self.clips, self.originals, self.snapshots, self.live, self.keys, self.quarantine):
            folder.mkdir(parents=True, exist_ok=True)
        if self.keys.stat().st_uid == os.geteuid():  # a camera worker may run as another user
            self.keys.chmod(0o700)
