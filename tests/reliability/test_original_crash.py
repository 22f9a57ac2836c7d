"""A power cut while a camera records: the encrypted original decrypts to what was synced.

``hotspot run`` records real footage with an unmask key configured and is killed with all its
workers; the next start seals the clip with the original cut back to its last recorded whole
chunk, and Debian's ``age`` with the rebuilt identity opens exactly the sealed plaintext.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest

from evidence.actions import Action
from evidence.custodians import rebuild_identity, split_new_key
from evidence.hashing import sha256_file
from evidence.original import progress_path
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.config import load_config
from monitor.record.original import OriginalWriter
from monitor.seal.crash_recovery import recover_at_start
from monitor.site.runtime import Runtime
from monitor.store.db import make_engine
from monitor.store.models import Clip
from tests.conftest import base_config, write_config
from tests.reliability.conftest import wait_for

pytestmark = pytest.mark.slow
HOTSPOT = str(Path(sys.executable).with_name("hotspot"))
CAMERA_FILE = "intel-sample-videos/car-detection.mp4"


def synced_progress(root: Path) -> Path | None:
    """A progress file whose last line records at least one readable chunk."""
    for path in (root / "originals").rglob("*.progress") if (root / "originals").is_dir() else []:
        lines = [json.loads(line) for line in path.read_bytes().split(b"\n")[:-1] if line]
        if lines and lines[-1].get("size", 0) > 0:
            return path
    return None


def clip_fragments(root: Path) -> int:
    clips = list((root / "clips").rglob("*.mp4")) if (root / "clips").is_dir() else []
    return max((c.read_bytes().count(b"moof") for c in clips), default=0)


def test_power_cut_leaves_an_original_that_decrypts_to_its_last_synced_part(tmp_path: Path,
                                                                             footage: Path) -> None:
    key = split_new_key(["principal", "counsel", "director"], threshold=2, site="Test School")
    root = tmp_path / "data"
    everywhere = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    camera = {"id": "road", "source": str(footage / CAMERA_FILE), "loop": True,
              "zones": [{"id": "road", "polygon": everywhere, "min_area": 0.001}],
              "privacy": {"mask": "outside-zones", "zones": [{"polygon": [[0, 0], [0.3, 0], [0.3, 0.3]]}]},
              "recording": {"pre_roll": 1.0, "post_roll": 30.0, "max_clip": 120}}
    config = write_config(tmp_path, base_config(root, cameras=[camera], originals={
        "recipient": key.recipient, "threshold": 2, "custodians": ["principal", "counsel", "director"]}))
    log = tmp_path / "run.log"
    with log.open("a") as sink:
        run = subprocess.Popen([HOTSPOT, "run", "--config", str(config)], stdout=sink, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for(lambda: synced_progress(root) and clip_fragments(root) >= 2, 60,
                 f"a clip and an original with synced parts (see {log})")
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the service and its worker at once: a power cut
        run.wait(timeout=10)

    runtime = Runtime.open(load_config(config))
    actions = recover_at_start(runtime)
    assert actions and actions[0].outcome == "recovered", actions
    store = EvidenceStore.open(root, make_engine(load_config(config).storage.database))
    seal = store.sealed(actions[0].clip_id)
    assert seal.action == Action.RECOVERED  # sealed as found after the crash
    original = seal.details["original"]
    assert original["complete"] is False and original["size"] > 0 and seal.details["incomplete"]
    stored = root / original["path"]
    assert sha256_file(stored) == original["ciphertext_sha256"]
    assert not list(root.rglob("*.progress"))

    identity = rebuild_identity(key.shares[:2], recipient=key.recipient)
    (tmp_path / "identity.txt").write_text(identity + "\n")
    opened = subprocess.run(["age", "-d", "-i", str(tmp_path / "identity.txt"), str(stored)],
                            check=False, capture_output=True, timeout=30)
    assert opened.returncode != 0  # no end-of-stream chunk: age says so after writing what it proved
    assert len(opened.stdout) == original["size"]
    assert hashlib.sha256(opened.stdout).hexdigest() == original["sha256"]
    source = av.open(str(footage / CAMERA_FILE))
    whole = [bytes(p) for p in source.demux(source.streams.video[0]) if p.size]
    kept: list[bytes] = []
    try:
        container = av.open(io.BytesIO(opened.stdout))
        kept = [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]
    except av.error.FFmpegError:
        pass
    assert len(kept) > 5
    start = whole.index(kept[0])
    assert kept[:-1] == whole[start:start + len(kept) - 1]
    verify = subprocess.run([HOTSPOT, "verify", "--config", str(config)], check=False, capture_output=True,
                            text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_quarantined_clip_takes_its_original_along(tmp_path: Path, footage: Path) -> None:
    key = split_new_key(["principal", "counsel"], threshold=2, site="Test School")
    config = load_config(write_config(tmp_path, base_config(tmp_path / "data", originals={
        "recipient": key.recipient, "custodians": ["principal", "counsel"]})))
    runtime = Runtime.open(config)
    start = datetime(2026, 11, 23, 22, 5, tzinfo=UTC)
    clip = runtime.paths.clip_file("hall", start, "torn")
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"\0\0\0\x18ftypiso5" + b"\0" * 100)  # not one playable frame
    original = runtime.paths.original_file("hall", start, "torn", encrypted=True)
    with av.open(str(footage / CAMERA_FILE)) as source:
        writer = OriginalWriter(original, source.streams.video[0], recipient=key.recipient)
        for packet in source.demux(source.streams.video[0]):
            writer.write(packet)
        writer.abandon()
    clip.with_suffix(".json").write_text(json.dumps({"clip_id": "torn", "metadata": {"camera": "hall"}, "original": {
        "path": runtime.paths.relative(original), "recipient": key.recipient}}))
    with runtime.sessions.begin() as session:
        session.add(Clip(id="torn", event_id="e", camera_id="hall", start=start, width=768, height=432, fps=12.5,
                         config_hash="0" * 64, path=runtime.paths.relative(clip), zones=[], status="recording"))
    actions = recover_at_start(runtime)
    assert [(a.clip_id, a.outcome) for a in actions or []] == [("torn", "quarantined")]
    assert not original.exists() and not progress_path(original).exists()
    moved = runtime.paths.quarantine / original.name
    entry = runtime.evidence.entries("torn")[-1].details
    assert entry["original_to"] == runtime.paths.relative(moved)
    assert entry["original_ciphertext_sha256"] == sha256_file(moved)
    report = verify_store(runtime.paths.root, runtime.engine)
    assert report.ok, [f.message for f in report.failures]
    runtime.close()
