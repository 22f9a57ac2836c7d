"""The custody log as written: linked, signed, validated, anchored, and one chain under concurrency."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete

from evidence.actions import Action
from evidence.canonical import canonical_json
from evidence.checkpoints import FILE_NAME, Published, read_checkpoints
from evidence.custody import TreeNode
from evidence.errors import ClipNotFound, EvidenceError
from evidence.hashing import sha256_bytes
from evidence.merkle import MemoryTree
from evidence.verify import verify_store
from tests.conftest import REPO
from tests.evidence.conftest import Site, open_site, seal_real_clip


def test_entries_link_to_the_log_and_to_their_clip(site: Site) -> None:
    entries = site.ev.entries()
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash is None
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    clip0 = site.ev.entries("clip0")
    assert [e.action for e in clip0] == [Action.SEALED, Action.VIEWED, Action.DOWNLOADED]
    assert clip0[0].prev_clip_hash is None
    assert [e.prev_clip_hash for e in clip0[1:]] == [e.entry_hash for e in clip0[:-1]]


def test_entry_hash_is_sha256_of_the_canonical_body_and_signature_verifies(site: Site) -> None:
    for entry in site.ev.entries():
        data = canonical_json(entry.body())
        assert entry.entry_hash == sha256_bytes(data)
        site.ev.keys.verify(entry.key_id, data, entry.signature_bytes(), what=f"#{entry.seq}")


def test_seal_stores_what_it_is_given(site: Site) -> None:
    seal = site.ev.sealed("clip1")
    assert seal.action == Action.SEALED and seal.actor == "system"
    assert set(seal.details) == {"path", "size", "metadata", "incomplete"}
    assert seal.details["metadata"]["privacy"] == {"masks": [], "fill": "black"}
    assert seal.details["size"] == (site.root / seal.details["path"]).stat().st_size
    with pytest.raises(ClipNotFound):
        site.ev.sealed("nope")
    with pytest.raises(EvidenceError, match="already sealed"):
        site.ev.seal_clip(clip_id="clip1", path="clips/x.mp4", sha256="0" * 64, size=1, metadata={})


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"actor": ""}, "actor"),
    ({"actor": "x", "clip_id": "../etc"}, "clip id"),
    ({"actor": "x", "object_sha256": "ABC"}, "object_sha256"),
    ({"actor": "x", "details": {"fps": float("nan")}}, "canonical JSON"),
    ({"actor": "x", "details": {"n": 2**60}}, "canonical JSON"),
])
def test_malformed_entries_are_refused_before_they_become_permanent(site: Site, kwargs: dict, message: str) -> None:
    before = len(site.ev.entries())
    with pytest.raises(EvidenceError, match=message):
        site.ev.append(Action.VIEWED, **kwargs)
    assert len(site.ev.entries()) == before


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.mp4", "clips\\a.mp4", ""])
def test_seal_refuses_paths_outside_the_storage_folder(site: Site, path: str) -> None:
    with pytest.raises(EvidenceError, match="relative"):
        site.ev.seal_clip(clip_id="evil", path=path, sha256="0" * 64, size=1, metadata={})


def test_a_checkpoint_follows_every_seal_every_n_entries_and_the_deadline(
        tmp_path: Path, mp4_library: list[Path]) -> None:
    witness = tmp_path / "witness"
    site = open_site(tmp_path / "data", checkpoint_every=3, witness=witness, checkpoint_interval=1.5)
    for index in range(2):
        seal_real_clip(site, f"c{index}", index, source=mp4_library[index])
    for _ in range(3):
        site.ev.append(Action.VIEWED, actor="a", clip_id="c0")
    assert sizes(site.root) == [1, 2, 5]  # each seal at once, then after checkpoint_every entries
    site.ev.append(Action.VIEWED, actor="a", clip_id="c1")
    assert sizes(site.root) == [1, 2, 5]
    deadline = time.monotonic() + 5
    while sizes(witness) == [1, 2, 5] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sizes(site.root) == sizes(witness) == [1, 2, 5, 6]  # the lone entry is anchored by the deadline
    assert (witness / FILE_NAME).read_bytes() == (site.root / FILE_NAME).read_bytes()
    published = [p for p in read_checkpoints(site.root / FILE_NAME) if isinstance(p, Published)]
    heads = {e.seq: e.entry_hash for e in site.ev.entries()}
    tree = MemoryTree.of(e.signed_bytes() for e in site.ev.entries())
    for item in published:
        assert heads[item.checkpoint.size] == item.checkpoint.head
        assert tree.root(item.checkpoint.size).hex() == item.checkpoint.root
    assert [p.linked_to for p in published] == [None, 1, 2, 5]
    assert verify_store(site.root, site.engine, witness=witness).ok


def test_a_crash_before_the_checkpoint_is_anchored_at_the_next_start(tmp_path: Path) -> None:
    site = open_site(tmp_path / "data")
    site.ev.append(Action.VIEWED, actor="a", clip_id="c0")  # the first entry is anchored at once
    site.ev.append(Action.VIEWED, actor="a", clip_id="c0")
    assert sizes(site.root) == [1]  # the process dies before the second one's deadline
    assert sizes(open_site(tmp_path / "data").root) == [1, 2]


def test_the_tree_is_rebuilt_for_a_store_written_before_it_existed(site: Site) -> None:
    with site.engine.begin() as conn:
        conn.execute(delete(TreeNode))
    record = site.ev.append(Action.VIEWED, actor="a", clip_id="clip0")
    checkpoint = site.ev.checkpoint_at(record)
    assert checkpoint.root == MemoryTree.of(e.signed_bytes() for e in site.ev.entries()).root().hex()
    assert verify_store(site.root, site.engine).ok


def sizes(root: Path) -> list[int]:
    return [p.checkpoint.size for p in read_checkpoints(root / FILE_NAME) if isinstance(p, Published)]


APPENDER = """
import sys
from pathlib import Path
from evidence.actions import Action
from evidence.errors import EvidenceError
from evidence.store import EvidenceStore
from monitor.store.db import make_engine
root, worker, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
ev = EvidenceStore.open(root, make_engine(f"sqlite:///{root}/hotspot.db"), checkpoint_every=7)
try:  # every worker races to seal the same clip: exactly one may win
    ev.seal_clip(clip_id="raced", path="clips/raced.mp4", sha256=EMPTY_SHA256, size=0, metadata={"by": worker})
except EvidenceError:
    pass
for i in range(count):
    ev.append(Action.VIEWED, actor=worker, clip_id=f"clip-{worker}" if i % 2 else "shared", details={"i": i})
"""


@pytest.mark.slow
def test_concurrent_processes_append_one_linear_chain(tmp_path: Path) -> None:
    root = tmp_path / "data"
    open_site(root).engine.dispose()  # key and tables exist before the race, as under the supervisor
    (root / "clips").mkdir()
    (root / "clips" / "raced.mp4").write_bytes(b"")
    workers, count = 4, 30
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(root), f"w{n}", str(count)], env=env,
                              stderr=subprocess.PIPE) for n in range(workers)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    site = open_site(root)
    entries = site.ev.entries()
    assert [e.seq for e in entries] == list(range(1, workers * count + 2))
    assert [e.action for e in site.ev.entries("raced")] == [Action.SEALED]
    assert {e.actor for e in entries} == {f"w{n}" for n in range(workers)} | {"system"}
    shared = site.ev.entries("shared")
    assert len(shared) == workers * count // 2
    assert [e.prev_clip_hash for e in shared[1:]] == [e.entry_hash for e in shared[:-1]]
    report = verify_store(root, site.engine)
    assert report.ok, report.failures
    assert report.entries == workers * count + 1


def test_numbers_survive_the_round_trip_through_the_database(site: Site) -> None:
    """JCS writes 1e16 as integer digits; reading it back must give the same signed bytes."""
    details = {"big": 1e16, "tiny": 5e-324, "whole": 30.0, "max": 2**53 - 1, "text": "é\u2028"}
    record = site.ev.append(Action.VERIFIED, actor="auditor", details=details)
    [stored] = [e for e in site.ev.entries() if e.seq == record.seq]
    assert canonical_json(stored.details) == canonical_json(details)
    assert verify_store(site.root, site.engine).ok
