"""Records kept on disk until the database has them: outage queues and worker journals.

One fsynced JSON line per record: ``pending/<camera>.<id>.jsonl`` for the writes a process
queued while the database was down (``pending/`` is the service's alone), and
``journals/<camera>/<camera>.journal-<worker>-<n>.jsonl`` for the records a camera worker
handed to the supervisor, in the camera's own folder, which only its worker may write. Whatever a dead
process leaves there is redone; every record is idempotent.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SPOOL = "pending"  # folder under the storage root
JOURNALS = "journals"  # folder under the storage root, a folder per camera in it
JOURNAL = "journal-"


def is_journal(path: Path) -> bool:
    return path.name.split(".", 2)[1].startswith(JOURNAL)


def journal_folder(root: Path, camera_id: str) -> Path:
    """Where the camera's worker keeps its journals: its own folder, under ``journals/``."""
    return root / JOURNALS / camera_id


class Spool:
    """The queued writes of one outage, on disk; removed once they are all written."""

    def __init__(self, folder: Path, camera_id: str, name: str | None = None) -> None:
        self.path = folder / f"{camera_id}.{name or uuid.uuid4().hex}.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        """Durable before capture moves on; a failing disk only costs the on-disk copy."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, sort_keys=True) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except (OSError, TypeError, ValueError) as exc:  # a full disk, or a value JSON cannot hold
            log.error("queued write kept in memory only: %s: %s", self.path, exc)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


MAX_FILE_BYTES = 64 * 1024 * 1024
"""A journal holds at most ``JOURNAL_RECORDS`` records of a few kB: anything far larger is not one."""


@dataclass(frozen=True)
class SpoolFile:
    path: Path
    records: list[dict[str, Any]]
    private: bool
    """A regular file of this process's user that nobody else may write, as opened (not as
    named: a worker may swap a name for a link or its own file), in ``pending/``."""


def spooled(folder: Path, camera_id: str, *, prefix: str = "") -> Iterator[SpoolFile]:
    """Spool files of ``camera_id`` (whose names go on with ``prefix``) in ``folder``
    (``pending/``: queues, and journals an older version kept there) and in the camera's
    journal folder, oldest first, with their records; a torn last line (the
    process died while writing it) is skipped. Links, folders, devices and oversized files are
    set aside in ``quarantine/``, never read."""
    dated = []
    pattern = f"{camera_id}.{prefix}*.jsonl"
    for path in (*folder.glob(pattern), *journal_folder(folder.parent, camera_id).glob(pattern)):
        try:
            dated.append((path.lstat().st_mtime, path))
        except FileNotFoundError:
            continue
    for _, path in sorted(dated):
        text, private = _read(path, folder.parent / "quarantine")
        private = private and path.parent == folder
        if text is None:
            continue
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            record = _record(line)
            if record is None:
                log.error("%s line %d: not a JSON record, skipped", path, number)
            else:
                records.append(record)
        yield SpoolFile(path, records, private)


def _read(path: Path, quarantine: Path) -> tuple[str | None, bool]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:  # a link (ELOOP), or gone
        if path.is_symlink():
            _set_aside(path, quarantine, f"a link, not a file: {exc}")
        return None, False
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
            handle.close()
            _set_aside(path, quarantine, f"not a regular file of at most {MAX_FILE_BYTES} bytes")
            return None, False
        private = info.st_uid == os.geteuid() and not info.st_mode & 0o022
        return handle.read(MAX_FILE_BYTES + 1).decode("utf-8", errors="replace"), private


def _set_aside(path: Path, quarantine: Path, why: str) -> None:
    target = quarantine / f"{path.name}.{uuid.uuid4().hex[:8]}"
    log.error("%s: %s; moved to %s", path, why, target)
    quarantine.mkdir(exist_ok=True)
    os.rename(path, target)


def _record(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
