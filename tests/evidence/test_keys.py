"""The site key: created once with 0600, fingerprinted as openssl does, rotated, never defaulted."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from evidence.actions import Action
from evidence.errors import KeyringError
from evidence.keys import PUBLIC_DIR, SIGNING_FILE, PublicKeyring, SigningKeyring
from evidence.verify import verify_store
from tests.evidence.conftest import Site, open_site


def test_key_is_created_private_and_reloaded_unchanged(tmp_path: Path) -> None:
    first = SigningKeyring.open(tmp_path / "keys")
    signing = tmp_path / "keys" / SIGNING_FILE
    assert stat.S_IMODE(signing.stat().st_mode) == 0o600
    assert SigningKeyring.open(tmp_path / "keys").key_id == first.key_id


def test_key_id_is_the_fingerprint_openssl_computes(tmp_path: Path) -> None:
    keys = SigningKeyring.open(tmp_path / "keys")
    pem = tmp_path / "keys" / PUBLIC_DIR / f"{keys.key_id}.pem"
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pem), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    digest = subprocess.run(["sha256sum"], input=der, capture_output=True, check=True).stdout.split()[0]
    assert digest.decode() == keys.key_id


def test_two_sites_never_share_a_key(tmp_path: Path) -> None:
    assert SigningKeyring.open(tmp_path / "a").key_id != SigningKeyring.open(tmp_path / "b").key_id


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: p.chmod(0o644), "too open"),
    (lambda p: p.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n"), "not a valid"),
    (lambda p: p.unlink(), "restore the signing key"),
    (lambda p: (p.unlink(), p.mkdir(), p.chmod(0o700)), "unreadable"),
])
def test_a_damaged_or_missing_key_fails_closed(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "keys"
    original = SigningKeyring.open(folder).key_id
    damage(folder / SIGNING_FILE)
    with pytest.raises(KeyringError, match=message):
        SigningKeyring.open(folder)
    assert PublicKeyring.load(folder).key_ids == [original]


def test_a_public_key_file_under_the_wrong_name_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keys = SigningKeyring.open(folder)
    (folder / PUBLIC_DIR / f"{keys.key_id}.pem").rename(folder / PUBLIC_DIR / f"{'0' * 64}.pem")
    with pytest.raises(KeyringError, match="does not match"):
        PublicKeyring.load(folder)


def test_rotation_is_signed_by_the_old_key_and_old_entries_still_verify(site: Site) -> None:
    rotation = next(e for e in site.ev.entries() if e.action == Action.KEY_ROTATED)
    old, new = rotation.details["old_key_id"], rotation.details["new_key_id"]
    assert rotation.key_id == old and site.ev.keys.key_id == new
    assert site.ev.keys.key_ids == sorted([old, new])
    later = [e for e in site.ev.entries() if e.seq > rotation.seq]
    assert later and all(e.key_id == new for e in later)
    assert verify_store(site.root, site.engine).ok


def test_another_process_picks_up_a_rotation_before_signing(site: Site) -> None:
    other = open_site(site.root)
    record = site.ev.rotate_key(actor="admin")
    entry = other.ev.append(Action.VIEWED, actor="camera-2", clip_id="clip2")
    assert entry.key_id == record.details["new_key_id"]
    other.engine.dispose()
