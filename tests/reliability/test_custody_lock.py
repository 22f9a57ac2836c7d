"""The custody log meets another process's SQLite write lock: one busy timeout, then a clear error.

A seal that fails here is queued by the camera's outage queue, so the append must give up after
the driver's own wait instead of retrying the lock many times over; once the lock is gone the
same entry is appended as the next link of an intact chain.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from evidence.actions import Action
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.store.db import make_engine
from tests.reliability.test_database import hold_write_lock

BUSY_TIMEOUT = 0.3  # seconds SQLite waits for the lock


def test_a_locked_append_fails_after_one_busy_timeout_and_lands_once_released(tmp_path: Path) -> None:
    database = tmp_path / "hotspot.db"
    engine = make_engine(f"sqlite:///{database}", busy_timeout=BUSY_TIMEOUT)
    store = EvidenceStore.open(tmp_path, engine)
    store.append(Action.VERIFIED, actor="auditor", details={"before": True})
    taken = threading.Event()
    holder = hold_write_lock(database, 1.5, taken)
    assert taken.wait(10)

    began = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked") as caught:
        store.append(Action.VIEWED, actor="teacher", clip_id="clip-7")
    waited = time.monotonic() - began
    assert BUSY_TIMEOUT - 0.05 <= waited < BUSY_TIMEOUT + 1.0, f"append held the caller {waited:.2f} s"
    assert caught.value.__notes__ == [
        "custody log: viewed entry for clip clip-7 not written: the database is locked or unreachable"
    ]
    assert holder.is_alive(), "the lock was still held when the append gave up"

    holder.join()
    record = store.append(Action.VIEWED, actor="teacher", clip_id="clip-7")
    assert [e.seq for e in store.entries()] == [1, 2] and record.seq == 2
    report = verify_store(tmp_path, engine)
    assert report.ok, [f.message for f in report.failures]
    engine.dispose()
