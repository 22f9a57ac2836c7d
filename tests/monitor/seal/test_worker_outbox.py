"""A camera worker's records reach the database through the supervisor's record applier.

Real SQLite file, real journal files; the pipe between the processes is a plain queue here,
so a test can lose a message on purpose and check that the journal makes up for it.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from evidence.hashing import sha256_file
from monitor.config import load_config
from monitor.seal import worker_outbox
from monitor.seal.clip_sealer import ClipSealer, alert_record
from monitor.seal.record_applier import RecordApplier
from monitor.seal.spool import SPOOL, journal_folder
from monitor.seal.worker_outbox import WorkerOutbox
from monitor.site.folders import Site
from monitor.site.runtime import Runtime
from monitor.store.models import Alert, Clip
from monitor.workers.camera_worker import WorkerArgs
from monitor.workers.messages import AlertMessage, JournalDone, SpaceWanted, WriteRequest
from tests.conftest import base_config, write_config
from tests.reliability.stores import noise_clip

T0 = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


def alert(n: int) -> dict[str, Any]:
    return alert_record({"kind": "motion", "camera_id": "hall", "time": T0 + timedelta(seconds=n),
                         "message": f"Motion {n}"})


def hand_over(messages: queue.Queue[Any], applier: RecordApplier, *, lose: set[int] = frozenset()) -> int:
    """What the supervisor does with a worker's messages; drops the ``lose``-th ones."""
    seen = 0
    while True:
        try:
            message = messages.get_nowait()
        except queue.Empty:
            return seen
        seen += 1
        if seen in lose:
            continue
        if isinstance(message, WriteRequest):
            applier.submit_from_worker(message.camera_id, message.record)
        elif isinstance(message, JournalDone):
            applier.journal_done(message.camera_id, message.name)


def messages_in_db(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return [a.message for a in session.scalars(select(Alert).order_by(Alert.time))]


def settle(applier: RecordApplier, runtime: Runtime, expected: int) -> list[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = messages_in_db(runtime)
        if len(found) >= expected and not left_on_disk(runtime):
            return found
        time.sleep(0.05)
    return messages_in_db(runtime)


def left_on_disk(runtime: Runtime) -> list[Path]:
    """Queues and journals not yet written and removed."""
    return [*(runtime.paths.root / SPOOL).glob("*.jsonl"), *journal_folder(runtime.paths.root, "hall").glob("*.jsonl")]


@pytest.fixture
def site(tmp_path: Path) -> Runtime:
    runtime = Runtime.open(load_config(write_config(tmp_path, base_config(tmp_path / "data"))))
    yield runtime
    runtime.close()


def test_records_land_in_order_and_finished_journals_are_deleted(
    site: Runtime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_outbox, "JOURNAL_RECORDS", 3)
    heard: list[AlertMessage] = []
    applier = RecordApplier(site, on_alert=heard.append)
    applier.start()
    messages: queue.Queue[Any] = queue.Queue()
    outbox = WorkerOutbox(Site(site.config, site.paths), "hall", messages, worker="w1")
    for n in range(7):
        outbox.submit(alert(n))
    journals = sorted(p.name for p in journal_folder(site.paths.root, "hall").glob("*.jsonl"))
    assert journals == [f"hall.journal-w1-{i:06d}.jsonl" for i in (1, 2, 3)], "fsynced before sending"
    assert hand_over(messages, applier) == 7 + 2, "seven records and two finished journals"
    time.sleep(0.5)
    assert messages_in_db(site) == [f"Motion {n}" for n in range(7)]
    assert [m.message for m in heard] == [f"Motion {n}" for n in range(7)], "each alert announced once"
    left = sorted(p.name for p in left_on_disk(site))
    assert left == ["hall.journal-w1-000003.jsonl"], "the live journal stays until its worker is gone"
    applier.worker_gone("hall", "w1", recover=False)
    assert settle(applier, site, 7) == [f"Motion {n}" for n in range(7)], "redoing wrote nothing twice"
    applier.stop([])


def test_a_record_lost_on_the_way_is_written_from_the_journal(site: Runtime) -> None:
    """A worker killed with a message still in its pipe: the supervisor redoes its journal."""
    applier = RecordApplier(site, on_alert=lambda _m: None)
    applier.start()
    messages: queue.Queue[Any] = queue.Queue()
    outbox = WorkerOutbox(Site(site.config, site.paths), "hall", messages, worker="w2")
    for n in range(4):
        outbox.submit(alert(n))
    hand_over(messages, applier, lose={2, 4})
    time.sleep(0.5)
    assert messages_in_db(site) == ["Motion 0", "Motion 2"]
    applier.worker_gone("hall", "w2", recover=True)
    assert settle(applier, site, 4) == [f"Motion {n}" for n in range(4)]
    applier.stop([])


def test_workers_ask_for_space_instead_of_deleting(site: Runtime) -> None:
    """A worker holds no database, so it cannot pick clips to delete: below the floor it says
    so, once per shortage, and recording waits."""
    config = replace(site.config, storage=replace(site.config.storage, min_free_mb=10**9))
    messages: queue.Queue[Any] = queue.Queue()
    outbox = WorkerOutbox(Site(config, site.paths), "hall", messages, worker="w3")
    assert not outbox.make_space() and not outbox.make_space()
    assert [type(m) for m in list(messages.queue)] == [SpaceWanted]
    roomy = WorkerOutbox(Site(site.config, site.paths), "hall", messages, worker="w4")
    assert roomy.make_space()


def test_the_worker_process_loads_neither_the_database_nor_the_signing_code(site: Runtime) -> None:
    """The process that parses untrusted streams never opens the database or loads a key; it
    gets its config already validated, so it loads no validator or YAML parser either (pydantic
    alone is about 11 MB a worker), nor age unless its camera keeps an encrypted original."""
    code = ("import pickle, sys, monitor.workers.camera_worker; args = pickle.loads(sys.stdin.buffer.read()); "
            "print(type(args.config).__name__, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'sqlalchemy', 'cryptography', 'alembic', 'pydantic', 'pydantic_core', 'ruamel', 'pyrage'}))")
    args = pickle.dumps(WorkerArgs(site.config, "hall", "w0"))
    result = subprocess.run([sys.executable, "-c", code], input=args, capture_output=True, check=True)
    assert result.stdout.decode().strip() == "Config []", result.stdout + result.stderr



MAIN_SCRIPT = """
import multiprocessing
import sqlalchemy  # a main script as heavy as the command line's
from monitor.workers.spawning import start_without_main
from tests.fixtures.child_modules import loaded_modules

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    for start in (start_without_main, context.Process.start):
        process = context.Process(target=loaded_modules, args=(answer,))
        start(process)
        print(answer.get(timeout=60))
        process.join(10)
"""


def test_workers_start_without_re_running_the_parents_main_script(tmp_path: Path) -> None:
    """A spawned process re-runs its parent's main script; a worker started the way the
    supervisor starts them does not, so it never carries the command line's imports."""
    script = tmp_path / "heavy_main.py"
    script.write_text(MAIN_SCRIPT, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).parents[3], env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])})
    assert result.stdout.split("\n")[:2] == ["[]", "['sqlalchemy']"], result.stdout + result.stderr


def test_redoing_a_journal_never_brings_a_deleted_clip_back(site: Runtime, tmp_path: Path) -> None:
    """A journal lives as long as its worker, maybe weeks: redone at the end, its seal record
    must not turn a clip that retention deleted meanwhile back into a sealed one."""
    applier = RecordApplier(site, on_alert=lambda _m: None)
    applier.start()
    messages: queue.Queue[Any] = queue.Queue()
    worker_site = Site(site.config, site.paths)
    outbox = WorkerOutbox(worker_site, "hall", messages, worker="w5")
    sealer = ClipSealer(worker_site, outbox)
    path = site.paths.clip_file("hall", T0, "clip-1")
    outbox.submit({"op": "clip", "id": "clip-1", "event_id": "event-1", "part": 0, "camera_id": "hall",
                   "start": T0.isoformat(), "width": 320, "height": 240, "fps": 10.0, "config_hash": "0" * 64,
                   "path": site.paths.relative(path)})
    path.parent.mkdir(parents=True)
    noise_clip(path, seed=1, frames=5)
    meta = {"width": 320, "height": 240, "fps": 10.0, "config_hash": "0" * 64, "zones": ["door"]}
    sealer.seal("clip-1", "event-1", "hall", path, written_meta=meta, sha256=sha256_file(path),
                size=path.stat().st_size, start=T0, end=T0 + timedelta(seconds=1), frame_count=5,
                incomplete=None)
    hand_over(messages, applier)
    deadline = time.monotonic() + 10
    while clip_status(site, "clip-1") != "sealed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert clip_status(site, "clip-1") == "sealed"
    with site.sessions.begin() as session:
        session.get(Clip, "clip-1").status = "deleted"  # as retention leaves it
    applier.worker_gone("hall", "w5", recover=False)
    applier.stop([])
    assert not left_on_disk(site), "the journal was redone"
    assert clip_status(site, "clip-1") == "deleted"


def clip_status(runtime: Runtime, clip_id: str) -> str | None:
    with runtime.sessions() as session:
        row = session.get(Clip, clip_id)
        return None if row is None else row.status


def test_a_lost_record_waits_no_longer_than_its_journal_lives(
    site: Runtime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A quiet camera may send nothing for days: its journal is closed after JOURNAL_SECONDS
    anyway (checked between packets), and closing it writes what the pipe lost."""
    monkeypatch.setattr(worker_outbox, "JOURNAL_SECONDS", 0.2)
    applier = RecordApplier(site, on_alert=lambda _m: None)
    applier.start()
    messages: queue.Queue[Any] = queue.Queue()
    outbox = WorkerOutbox(Site(site.config, site.paths), "hall", messages, worker="w6")
    outbox.submit(alert(0))
    outbox.retry()
    assert not any(isinstance(m, JournalDone) for m in list(messages.queue)), "too young to close"
    time.sleep(0.3)
    outbox.retry()
    hand_over(messages, applier, lose={1})
    assert settle(applier, site, 1) == ["Motion 0"]
    applier.stop([])
