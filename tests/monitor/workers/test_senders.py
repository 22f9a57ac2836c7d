"""The supervisor knows which camera's worker sent a message by its token, not by its content."""

from __future__ import annotations

from pathlib import Path

from monitor.config import load_config
from monitor.workers.messages import JournalDone, StatusMessage, WriteRequest
from monitor.workers.supervisor import Supervisor
from tests.conftest import base_config, write_config


def supervisor(tmp_path: Path) -> Supervisor:
    cameras = [{"id": cam, "source": "/dev/null", "zones": [{"id": "door", "polygon": [[0, 0], [1, 0], [1, 1]]}]}
               for cam in ("hall", "gate")]
    sup = Supervisor(load_config(write_config(tmp_path, base_config(tmp_path / "data", cameras=cameras))))
    sup._senders = {"hall-token": "hall", "gate-token": "gate"}  # as _spawn leaves them
    return sup


def test_a_message_in_another_cameras_name_is_dropped(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    record = {"op": "alert", "fields": {"camera_id": "gate"}}
    assert sup._sender(("hall-token", WriteRequest("gate", record))) is None
    assert sup._sender(("hall-token", StatusMessage("gate", "offline"))) is None
    assert sup._sender(("gate-token", WriteRequest("gate", record))) == ("gate", WriteRequest("gate", record))


def test_a_message_without_a_known_token_is_dropped(tmp_path: Path) -> None:
    sup = supervisor(tmp_path)
    assert sup._sender(("guessed", JournalDone("hall", "hall.journal-x-000001.jsonl"))) is None
    assert sup._sender(JournalDone("hall", "hall.journal-x-000001.jsonl")) is None, "a bare message"
