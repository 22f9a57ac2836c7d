"""A signing key swapped while the service runs: nothing is signed, the writes wait (on disk too),
and they go through once the right key is back."""

from __future__ import annotations

import shutil
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.actions import Action
from evidence.keys import PUBLIC_DIR, SIGNING_FILE, key_id, public_pem
from evidence.verify import verify_store
from monitor.config import load_config
from monitor.seal.outage_queue import OutageQueue, Write
from monitor.site.runtime import Runtime
from tests.conftest import base_config, write_config


def test_writes_wait_while_the_key_is_refused_and_go_through_once_it_is_restored(tmp_path: Path) -> None:
    runtime = Runtime.open(load_config(write_config(tmp_path, base_config(tmp_path / "data"))))
    keys = tmp_path / "data" / "keys"
    runtime.evidence.append(Action.CONFIG_CHANGED, actor="admin", details={"config_hash": "ab" * 32})
    shutil.copy2(keys / SIGNING_FILE, tmp_path / "backup.pem")
    swapped = Ed25519PrivateKey.generate()
    (keys / SIGNING_FILE).write_bytes(swapped.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (keys / PUBLIC_DIR / f"{key_id(swapped.public_key())}.pem").write_bytes(public_pem(swapped.public_key()))
    drained = []
    queue = OutageQueue(runtime, on_drained=drained.append)

    def work() -> None:
        runtime.evidence.append(Action.VIEWED, actor="ms.garcia", clip_id="clip0")

    queue.run(Write(work=work, what="view of clip0", camera_id="cam1", record={"kind": "test"}))
    assert queue.pending == 1 and len(runtime.evidence.entries()) == 1
    assert runtime.database_error is not None and "signing key refused" in runtime.database_error
    assert list((tmp_path / "data" / "pending").glob("cam1.*.jsonl"))  # kept on disk meanwhile

    shutil.copy2(tmp_path / "backup.pem", keys / SIGNING_FILE)  # the admin restores the backup
    queue.retry(block=True)
    assert queue.pending == 0 and len(drained) == 1
    entries = runtime.evidence.entries()
    assert [e.action for e in entries] == [Action.CONFIG_CHANGED, Action.VIEWED]
    assert entries[0].key_id == entries[1].key_id != key_id(swapped.public_key())
    assert verify_store(tmp_path / "data", runtime.engine).ok
    runtime.close()
