"""Files that must not be sealed go to ``quarantine/``, each with a custody entry.

A file is sealed only when the supervisor saw its clip opened and hashed it itself. Anything
else found under ``clips/`` (a file no row names, a record naming a clip nobody opened, a file
that no longer hashes to what its camera reported) is moved aside: kept, never deleted, never
sealed, and the move is logged in the custody log with the file's hash and the reason.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from evidence.actions import Action
from evidence.hashing import sha256_file
from evidence.original import progress_path
from evidence.store import CLIP_ID
from monitor.seal.clip_sealer import original_beside, sidecar_path
from monitor.site.runtime import Runtime
from monitor.store.models import Clip

log = logging.getLogger(__name__)


def quarantine_file(runtime: Runtime, clip_id: str, path: Path, why: str) -> None:
    """Move ``path`` (and its sidecar) to quarantine and log it; the clip row, if any, says so."""
    target = _free_name(runtime.paths.quarantine, path.name)
    digest = sha256_file(path)
    source = runtime.paths.relative(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), target)
    target.with_suffix(".reason.txt").write_text(why + "\n", encoding="utf-8")
    details = {"from": source, "to": runtime.paths.relative(target), "reason": why,
               **_take_original(runtime, path)}
    named = clip_id if CLIP_ID.match(clip_id) else None
    if named is None:
        details["claimed_clip_id"] = clip_id[:200]
    runtime.evidence.append(Action.QUARANTINED, actor="system", clip_id=named, object_sha256=digest,
                            details=details)
    with runtime.sessions.begin() as session:  # else the next start finds it "recording" again
        row = session.get(Clip, clip_id)
        if row is not None and row.status == "recording":
            row.status, row.incomplete_reason = "quarantined", why
            row.path = runtime.paths.relative(target)
    sidecar_path(path).unlink(missing_ok=True)
    log.warning("quarantined %s as %s: %s", source, details["to"], why)


def _take_original(runtime: Runtime, clip_path: Path) -> dict[str, str]:
    """A clip and its original are one piece of evidence: the original (ciphertext for a masked
    camera) goes to quarantine with it, named in the same entry."""
    found = original_beside(runtime.paths, clip_path)
    if found is None or not found[1].is_file():
        return {}
    relative, original, _ = found
    moved = _free_name(runtime.paths.quarantine, original.name)
    shutil.move(str(original), moved)
    progress_path(original).unlink(missing_ok=True)
    return {"original_from": relative, "original_to": runtime.paths.relative(moved),
            "original_ciphertext_sha256": sha256_file(moved)}


def _free_name(folder: Path, name: str) -> Path:
    """Two quarantined files may share a name; neither overwrites the other."""
    target, n = folder / name, 1
    while target.exists() or target.with_suffix(".reason.txt").exists():
        target, n = folder / f"{Path(name).stem}.{n}{Path(name).suffix}", n + 1
    return target
