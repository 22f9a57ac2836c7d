"""One custody log and one site key for the whole site: two recorder nodes (two processes, as two machines would
be) sealing at the same moment on one PostgreSQL database keep one chain, in strict order, with
checkpoints from both that verify against it. Appends are serialised by the log's own row lock
(``custody_append_lock``), which PostgreSQL holds across processes and machines. Both nodes
sign with the site key, so a bundle of either node's clip verifies against the site's anchor."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.checkpoints import read_checkpoints
from evidence.errors import KeyringError
from evidence.export import Disclosure, export_bundle
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.store.db import make_engine
from tests.fixtures.postgres_server import PostgresServer, postgres_server, postgres_url

pytestmark = pytest.mark.slow
__all__ = ["postgres_server", "postgres_url"]  # fixtures: imported so pytest finds them

SEALS = 40  # per node
NODE = """
import hashlib, sys, time
from pathlib import Path
from evidence.store import EvidenceStore
from monitor.store.db import make_engine

root, url, node, go, count = Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4]), int(sys.argv[5])
store = EvidenceStore.open(root, make_engine(url), checkpoint_every=3)
while not go.exists():
    time.sleep(0.01)
for n in range(count):
    clip_id = f"{node}{n:04d}" + "0" * 24
    relative = f"clips/{node}/2026-12-02/{clip_id}.mp4"
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    data = f"{node} clip {n}".encode() * 100
    path.write_bytes(data)
    store.seal_clip(clip_id=clip_id, path=relative, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                    metadata={"camera": node}, actor=f"node-{node}")
store.flush_checkpoint()
"""


def test_two_nodes_sealing_at_once_keep_one_ordered_log_and_their_bundles_verify_against_the_site_key(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str,
) -> None:
    root = tmp_path / "data"
    engine = make_engine(postgres_url)
    EvidenceStore.open(root, engine)  # the site key, made once (every node then shares it)
    go = tmp_path / "go"
    nodes = [subprocess.Popen([sys.executable, "-c", NODE, str(root), postgres_url, name, str(go), str(SEALS)],
                              stderr=subprocess.PIPE, text=True) for name in ("aa", "bb")]
    time.sleep(2.0)  # both opened and waiting
    go.touch()
    for process in nodes:
        _out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err

    entries = EvidenceStore.open(root, engine).entries()
    assert [e.seq for e in entries] == list(range(1, 2 * SEALS + 1)), "no gap, no duplicate sequence number"
    sealers = [e.actor for e in entries if e.action == Action.SEALED]
    assert Counter(sealers) == Counter({"node-aa": SEALS, "node-bb": SEALS})
    switches = sum(1 for a, b in itertools.pairwise(sealers) if a != b)
    assert switches >= 2, "the nodes' seals interleave: they really sealed at the same time"
    lines = [p for p in read_checkpoints(root / "checkpoints.log") if not isinstance(p, Exception)]
    assert {p.checkpoint.size for p in lines} >= {2 * SEALS}, "the whole log is checkpointed"
    assert len(lines) >= 2 * SEALS // 3, "both nodes checkpointed as they went"
    report = verify_store(root, engine)
    assert report.ok, [f.message for f in report.failures]

    # every node signs with the site key: a bundle of either node's clip verifies pinned to the
    # site's one trust anchor (the fingerprint on its printed key card)
    site = EvidenceStore.open(root, engine)
    anchor = site.keys.key_id
    for node_name in ("aa", "bb"):
        clip_id = f"{node_name}0007" + "0" * 24
        bundle = export_bundle(site, clip_id, tmp_path / f"{node_name}.zip", disclosure=Disclosure(
            case="2026-031", reason="incident review", by="investigator", recipient="district counsel",
            interest="legal counsel of the district"))
        verified = verify_bundle(bundle, trusted_keys=[anchor])
        assert (verified.clip_id, verified.pinned, verified.anchor) == (clip_id, True, anchor)
    # a node started with a key of its own (not the site's) refuses to sign anything
    with pytest.raises(KeyringError, match="never introduced by a key rotation"):
        EvidenceStore.open(tmp_path / "stray-node", engine)
    engine.dispose()
