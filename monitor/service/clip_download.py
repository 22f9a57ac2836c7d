"""A clip's file for a download: the local copy, or, once only the object store holds it, the
stored version the custody log names, streamed into a temporary file under the storage folder and
hashed on the way. Nothing is served unless those bytes are the sealed ones; the temporary file
then answers HTTP range requests like the local copy, from the very bytes that were checked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import HTTPException
from starlette.background import BackgroundTask

from evidence.clip_source import FileMissing, clip_source, copy_verified
from evidence.errors import EvidenceError, IntegrityError
from monitor.objects.bucket import version_reader
from monitor.seal.spool import SPOOL
from monitor.site.runtime import Runtime
from monitor.store.models import Clip

DOWNLOADS = "downloads"  # folder under pending/ for checked copies of stored clips


def download_file(runtime: Runtime, clip: Clip) -> tuple[Path, BackgroundTask | None]:
    """The file to send and what removes it afterwards (None for the local copy)."""
    try:
        path = runtime.paths.absolute(clip.path)
    except ValueError:
        raise HTTPException(409, f"clip {clip.id}: its path is outside the storage folder") from None
    if path.is_file():
        return path, None
    try:
        seal = runtime.evidence.sealed(clip.id)
        source = clip_source(runtime.evidence, seal, version_reader(runtime.config.storage.objects))
    except FileMissing:
        raise HTTPException(410, f"clip {clip.id}: the file is missing from storage") from None
    except EvidenceError as exc:
        raise HTTPException(503, str(exc)) from None
    folder = runtime.paths.root / SPOOL / DOWNLOADS
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f"{clip.id}-", suffix=".mp4", dir=folder)
    copy = Path(name)
    try:
        with os.fdopen(handle, "wb") as target:
            copy_verified(source, seal, target.write)
    except IntegrityError as exc:
        copy.unlink(missing_ok=True)
        raise HTTPException(409, f"clip {clip.id} cannot be downloaded: {exc}") from None
    except EvidenceError as exc:
        copy.unlink(missing_ok=True)
        raise HTTPException(503, f"clip {clip.id} is in the object store, which cannot be read: {exc}") from None
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    return copy, BackgroundTask(copy.unlink, missing_ok=True)
