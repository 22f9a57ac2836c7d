"""A seal record names a clip's original; the supervisor takes only the clip's own, under the
site's key, re-hashing its ciphertext itself. The attacker is a compromised camera worker."""

from __future__ import annotations

from pathlib import Path

import pyrage
import pytest

from evidence.hashing import sha256_file
from evidence.original import EncryptedOriginal, progress_path
from monitor.config import load_config
from monitor.seal.clip_sealer import original_record
from monitor.seal.database_outbox import DatabaseOutbox
from monitor.site.runtime import Runtime
from tests.conftest import base_config, write_config
from tests.monitor.seal.test_only_seen_clips_sealed import T0, clip_file, clip_open, clip_seal
from tests.reliability.stores import noise_clip

SITE_KEY = str(pyrage.x25519.Identity.generate().to_public())


@pytest.fixture
def site(tmp_path: Path) -> Runtime:
    data = base_config(tmp_path / "data", cameras=[
        {"id": "hall", "source": "/dev/null", "zones": [{"id": "door", "polygon": [[0, 0], [1, 0], [1, 1]]}]}],
        originals={"recipient": SITE_KEY, "custodians": ["a", "b"]})
    runtime = Runtime.open(load_config(write_config(tmp_path, data)))
    yield runtime
    runtime.close()


def write_original(runtime: Runtime, clip_id: str, source: Path, recipient: str = SITE_KEY) -> dict[str, object]:
    path = runtime.paths.original_file("hall", T0, clip_id, encrypted=True)
    writer = EncryptedOriginal(path, recipient)
    writer.write(source.read_bytes())
    digest = writer.close()
    progress_path(path).unlink()
    return original_record(runtime.paths.relative(path), recipient, digest)


def sealed_original(runtime: Runtime, clip_id: str) -> object:
    return runtime.evidence.sealed(clip_id).details.get("original")


def test_the_seal_takes_the_clips_own_original_rehashed(site: Runtime) -> None:
    outbox = DatabaseOutbox(site)
    outbox.submit(clip_open("own"))
    path = noise_clip(clip_file(site, "own"), seed=3, frames=5)
    original = write_original(site, "own", path)
    outbox.submit({**clip_seal("own", path), "original": {**original, "ciphertext_sha256": "ab" * 32}})
    sealed = sealed_original(site, "own")
    assert isinstance(sealed, dict) and sealed["recipient"] == SITE_KEY
    stored = site.paths.root / str(original["path"])
    assert sealed["ciphertext_sha256"] == sha256_file(stored) != "ab" * 32  # the file's hash, not the claim
    assert sealed["reported_ciphertext_sha256"] == "ab" * 32


@pytest.mark.parametrize("forgery", ["another clip's original", "a key of the worker's choosing"])
def test_a_worker_cannot_attach_a_foreign_original_or_key(site: Runtime, forgery: str) -> None:
    outbox = DatabaseOutbox(site)
    outbox.submit(clip_open("victim"))
    outbox.submit(clip_open("mine"))
    victim_clip = noise_clip(clip_file(site, "victim"), seed=4, frames=5)
    victim = write_original(site, "victim", victim_clip)
    path = noise_clip(clip_file(site, "mine"), seed=5, frames=5)
    if forgery == "another clip's original":
        claimed = victim
    else:
        claimed = write_original(site, "mine", path, str(pyrage.x25519.Identity.generate().to_public()))
    outbox.submit({**clip_seal("mine", path), "original": claimed})
    assert site.evidence.sealed("mine").object_sha256 == sha256_file(path)
    assert sealed_original(site, "mine") is None
