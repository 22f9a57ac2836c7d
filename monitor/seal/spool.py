"""Records kept on disk until the database has them: outage queues and worker journals.

Both live in ``pending/`` under the storage folder, one fsynced JSON line per record:
``<camera>.<id>.jsonl`` for the writes a process queued while the database was down, and
``<camera>.journal-<worker>-<n>.jsonl`` for the records a camera worker handed to the
supervisor. Whatever a dead process leaves there is redone; every record is idempotent.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SPOOL = "pending"  # folder under the storage root
JOURNAL = "journal-"


def is_journal(path: Path) -> bool:
    return path.name.split(".", 2)[1].startswith(JOURNAL)


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


def spooled(folder: Path, camera_id: str, *, prefix: str = "") -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """Spool files of ``camera_id`` (whose names go on with ``prefix``), oldest first, with
    their records; a torn last line (the process died while writing it) is skipped."""
    files = sorted(folder.glob(f"{camera_id}.{prefix}*.jsonl"), key=lambda p: p.stat().st_mtime)
    for path in files:
        records = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            record = _record(line)
            if record is None:
                log.error("%s line %d: not a JSON record, skipped", path, number)
            else:
                records.append(record)
        yield path, records


def _record(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
