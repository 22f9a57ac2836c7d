"""Steps 4-5 of store verification: re-hash every sealed clip, find files nobody sealed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from evidence.actions import SEAL_ACTIONS, Action
from evidence.hashing import sha256_file
from evidence.report import Failure, ProgressSink

CLIPS_DIR = "clips"
ORIGINALS_DIR = "originals"
ORIGINAL = "#original"  # key of a clip's original among the sealed files
HASH_THREADS = 2
ObjectReader = Callable[[str, str], Iterable[bytes]]
"""Streams one version (key, version id) of an object from the site's object store; raises
OSError when it cannot. Given to verification by the caller, so ``evidence`` needs no S3 client."""
GONE = {Action.DELETED_BY_RETENTION.value: "deleted by retention", Action.QUARANTINED.value: "quarantined"}


@dataclass
class SealedClip:
    clip_id: str
    seq: int
    path: str
    sha256: str | None
    size: int | None
    recovered: bool = False  # sealed by the recovery pass after a crash, not closed by its camera
    gone: str | None = None  # why the file is legitimately absent
    stored: tuple[str, str, int] | None = None  # (object key, version id, entry seq) in the object store
    problems: list[Failure] = field(default_factory=list)


def sealed_clips(rows: Sequence[Mapping[str, Any]]) -> dict[str, SealedClip]:
    """What the log says should be on disk: each clip's seal, and whether it was since removed."""
    clips: dict[str, SealedClip] = {}
    for row in rows:
        clip_id = row["clip_id"]
        if clip_id is None:
            continue
        if row["action"] in SEAL_ACTIONS and clip_id not in clips:
            details = _details(row["details"])
            clips[clip_id] = SealedClip(clip_id, row["seq"], str(details.get("path", "")),
                                        row["object_sha256"], _int(details.get("size")),
                                        recovered=row["action"] == Action.RECOVERED.value)
            original = details.get("original")
            if isinstance(original, dict):  # sealed with the clip: checked by its ciphertext, no key needed
                clips[clip_id + ORIGINAL] = SealedClip(
                    clip_id, row["seq"], str(original.get("path", "")), _text(original.get("ciphertext_sha256")),
                    _int(original.get("ciphertext_size")))
        elif row["action"] == Action.STORED.value and clip_id in clips:
            details = _details(row["details"])
            key, version = details.get("key"), details.get("version_id")
            if isinstance(key, str) and isinstance(version, str):
                clips[clip_id].stored = (key, version, row["seq"])
            kept = details.get("original")
            if clip_id + ORIGINAL in clips and isinstance(kept, dict) and isinstance(kept.get("key"), str) \
                    and isinstance(kept.get("version_id"), str):
                clips[clip_id + ORIGINAL].stored = (kept["key"], kept["version_id"], row["seq"])
        elif row["action"] in GONE and clip_id in clips:
            for key in (clip_id, clip_id + ORIGINAL):
                if key in clips:
                    clips[key].gone = f"{GONE[row['action']]} (entry #{row['seq']})"
    return clips


def check_clips(root: Path, clips: Mapping[str, SealedClip], progress: ProgressSink, *,
                reader: ObjectReader | None = None) -> tuple[list[Failure], int]:
    """Step 4: every sealed clip still on disk hashes to its seal. Files are hashed in parallel
    (hashlib releases the GIL), which is what keeps up with ``sha256sum`` on many clips.

    A clip whose local copy went after a confirmed upload (a ``stored`` entry) is hashed as
    ``reader`` streams it from the object store; without a reader it is only listed."""
    present: list[tuple[SealedClip, Path]] = []
    failures: list[Failure] = []
    remote: list[SealedClip] = []
    for clip in clips.values():
        path = _resolve(root, clip.path)
        if path is None:
            failures.append(Failure("modified", f"clip {clip.clip_id}: sealed path {clip.path!r} escapes "
                                                "the storage folder", clip.clip_id, clip.seq))
        elif clip.gone is None and not path.is_file() and clip.stored is not None:
            remote.append(clip)
        elif clip.gone is None and not path.is_file():
            failures.append(Failure("missing", f"clip {clip.clip_id}: {clip.path} is missing and no entry "
                                                "records its deletion", clip.clip_id, clip.seq))
        elif clip.gone is None:
            present.append((clip, path))
    progress.stage("hashing clips", sum(path.stat().st_size for _, path in present))
    by_hash = {c.sha256: c.clip_id for c in clips.values() if c.sha256}
    with ThreadPoolExecutor(HASH_THREADS) as pool:
        digests = pool.map(lambda item: sha256_file(item[1], on_chunk=progress.advance), present)
        for (clip, path), digest in zip(present, digests, strict=True):
            failures.extend(_compare(clip, path, digest, by_hash))
    hashed = sum(path.stat().st_size for _, path in present)
    for clip in remote:
        found, size = _check_stored(clip, reader, by_hash)
        failures.extend(found)
        hashed += size
    return failures, hashed


def _check_stored(clip: SealedClip, reader: ObjectReader | None,
                  by_hash: Mapping[str, str]) -> tuple[list[Failure], int]:
    """Hash the store's copy of a clip as it streams; the store's own checksum is not trusted."""
    assert clip.stored is not None
    key, version, seq = clip.stored
    if reader is None:
        return [Failure("missing", f"clip {clip.clip_id}: {clip.path} is only in the object store "
                                   f"({key}, version {version}, entry #{seq}); verify with the store's "
                                   "credentials (storage.objects) to check it", clip.clip_id, clip.seq)], 0
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in reader(key, version):
            digest.update(chunk)
            size += len(chunk)
    except OSError as exc:
        return [Failure("missing", f"clip {clip.clip_id}: local copy gone and the object store's copy "
                                   f"{key} (version {version}, entry #{seq}) cannot be read: {exc}",
                        clip.clip_id, clip.seq)], size
    found = digest.hexdigest()
    if found == clip.sha256 and size == clip.size:
        return [], size
    other = by_hash.get(found)
    how = f"; it holds the bytes of clip {other}" if other and other != clip.clip_id else ""
    return [Failure("modified", f"clip {clip.clip_id}: the object store's copy {key} (version {version}) "
                                f"hashes to {found} ({size} bytes), sealed as {clip.sha256} "
                                f"({clip.size} bytes){how}", clip.clip_id, clip.seq)], size


def _compare(clip: SealedClip, path: Path, digest: str, by_hash: Mapping[str, str]) -> list[Failure]:
    if digest == clip.sha256 and path.stat().st_size == clip.size:
        return []
    other = by_hash.get(digest)
    how = f"; it now holds the bytes of clip {other}" if other and other != clip.clip_id else ""
    return [Failure("modified", f"clip {clip.clip_id}: {clip.path} hashes to {digest}, sealed as "
                                f"{clip.sha256} ({clip.size} bytes){how}", clip.clip_id, clip.seq)]


def find_unsealed(root: Path, clips: Mapping[str, SealedClip]) -> tuple[list[Failure], list[str]]:
    """Step 5: files under clips/ and originals/ with no seal. One with a sidecar (an original:
    its clip's, or its progress file) is still being written or awaits recovery: a warning."""
    sealed = {clip.path for clip in clips.values()}
    failures: list[Failure] = []
    warnings: list[str] = []
    files = [p for name in (CLIPS_DIR, ORIGINALS_DIR) if (root / name).is_dir() for p in (root / name).rglob("*")]
    for path in sorted(p for p in files if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if relative in sealed or _is_sidecar(path) or path.suffix == ".progress":
            continue
        if path.with_suffix(".json").is_file() or _original_in_progress(root, path):
            warnings.append(f"{relative}: not sealed yet (recording, or awaiting recovery)")
        else:
            failures.append(Failure("unsealed", f"{relative}: file has no seal in the custody log",
                                    clip_id=path.name.split(".")[0]))
    return failures, warnings


def _original_in_progress(root: Path, path: Path) -> bool:
    if path.with_name(path.name + ".progress").is_file():
        return True
    try:
        folder = path.parent.relative_to(root / ORIGINALS_DIR)
    except ValueError:
        return False
    return (root / CLIPS_DIR / folder / f"{path.name.split('.')[0]}.json").is_file()


def _is_sidecar(path: Path) -> bool:
    return path.suffix == ".json" and any(p.is_file() for p in path.parent.glob(f"{path.stem}.*")
                                          if p.suffix != ".json")


def _resolve(root: Path, relative: str) -> Path | None:
    pure = PurePosixPath(relative)
    if not relative or pure.is_absolute() or ".." in pure.parts:
        return None
    path = (root / pure).resolve()
    return path if path.is_relative_to(root.resolve()) else None


def _details(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
