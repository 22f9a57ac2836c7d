"""Keys change only by rotation. The attacker has the storage folder and the database: they swap
``signing.pem``, restore a retired key, or sign entries with either straight into the database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.canonical import canonical_json
from evidence.entry import encode_signature
from evidence.errors import KeyringError, SignatureError
from evidence.export import export_bundle
from evidence.hashing import sha256_bytes
from evidence.keys import NEXT_FILE, PASSPHRASE_ENV, PUBLIC_DIR, SIGNING_FILE, key_id, public_pem
from evidence.store import EvidenceStore
from evidence.verify import verify_store
from monitor.cli import evidence_cmds
from monitor.config import load_config
from monitor.site.runtime import Runtime
from tests.conftest import base_config, write_config
from tests.evidence import tampering
from tests.evidence.conftest import Site, disclose, open_site, seal_real_clip


def write_key(path: Path, key: Ed25519PrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def swap_in(site: Site, key: Ed25519PrivateKey, *, publish: bool) -> None:
    """Replace signing.pem, and optionally drop the new public key into the keyring too."""
    write_key(site.root / "keys" / SIGNING_FILE, key)
    if publish:
        (site.root / "keys" / PUBLIC_DIR / f"{key_id(key.public_key())}.pem").write_bytes(public_pem(key.public_key()))


@pytest.fixture
def rotated(tmp_path: Path, mp4_library: list[Path]) -> tuple[Site, bytes]:
    """A site that sealed a clip, then rotated its key; with the retired key's file as an insider kept it."""
    site = open_site(tmp_path / "data")
    seal_real_clip(site, "clip0", 0, source=mp4_library[0])
    retired = (site.root / "keys" / SIGNING_FILE).read_bytes()
    site.ev.rotate_key(actor="admin")
    seal_real_clip(site, "clip1", 1, source=mp4_library[1])
    return site, retired


@pytest.mark.parametrize("publish", [False, True])
def test_a_swapped_key_is_refused_at_start_with_instructions(site: Site, publish: bool) -> None:
    before = sorted((site.root / "keys" / PUBLIC_DIR).iterdir())
    swap_in(site, Ed25519PrivateKey.generate(), publish=publish)
    with pytest.raises(KeyringError) as refused:
        EvidenceStore.open(site.root, site.engine)
    message = str(refused.value)
    assert "hotspot keys rotate" in message and "restore signing.pem" in message
    assert publish or sorted((site.root / "keys" / PUBLIC_DIR).iterdir()) == before  # nothing adopted


def test_a_key_swapped_while_running_signs_nothing(site: Site) -> None:
    count = len(site.ev.entries())
    swap_in(site, Ed25519PrivateKey.generate(), publish=True)
    with pytest.raises(KeyringError, match="never introduced by a key rotation"):
        site.ev.append(Action.VIEWED, actor="someone", clip_id="clip0")
    with pytest.raises(KeyringError):
        site.ev.write_checkpoint()
    assert len(site.ev.entries()) == count


def test_a_retired_key_restored_is_refused(rotated: tuple[Site, bytes]) -> None:
    site, retired = rotated
    signing = site.root / "keys" / SIGNING_FILE
    signing.write_bytes(retired)
    with pytest.raises(KeyringError, match="was retired by a key rotation"):
        EvidenceStore.open(site.root, site.engine)


def test_verify_names_entries_signed_by_an_unlinked_or_retired_key(rotated: tuple[Site, bytes]) -> None:
    site, retired = rotated
    assert verify_store(site.root, site.engine).ok
    old = serialization.load_pem_private_key(retired, password=None)
    assert isinstance(old, Ed25519PrivateKey)
    last = tampering.rows(site.root)[-1]
    tampering.insert(site.root, tampering.forged_row(last, seq=last["seq"] + 1, own_key=True, key=old),
                     at=last["seq"] + 1)
    report = verify_store(site.root, site.engine)
    assert [(f.kind, f.seq) for f in report.failures] == [("retired_key", last["seq"] + 1)]

    tampering.delete(site.root, last["seq"] + 1)
    swapped = Ed25519PrivateKey.generate()
    (site.root / "keys" / PUBLIC_DIR / f"{key_id(swapped.public_key())}.pem").write_bytes(
        public_pem(swapped.public_key()))
    tampering.insert(site.root, tampering.forged_row(last, seq=last["seq"] + 1, own_key=True, key=swapped),
                     at=last["seq"] + 1)
    report = verify_store(site.root, site.engine)
    assert [(f.kind, f.seq) for f in report.failures] == [("unlinked_key", last["seq"] + 1)]
    assert "no key_rotated entry introduced" in report.failures[0].message


def test_a_rotation_interrupted_after_its_entry_is_finished_at_the_next_start(site: Site) -> None:
    old = site.ev.keys.key_id
    new = site.ev.keys.prepare_rotation()
    site.ev.append(Action.KEY_ROTATED, actor="admin", details={
        "old_key_id": old, "new_key_id": key_id(new.public_key()),
        "new_public_key": public_pem(new.public_key()).decode()})
    # crash here: signing.pem still holds the old key
    reopened = EvidenceStore.open(site.root, site.engine)
    assert reopened.keys.key_id == key_id(new.public_key()) and not (site.root / "keys" / NEXT_FILE).exists()
    reopened.append(Action.VIEWED, actor="someone", clip_id="clip0")
    assert verify_store(site.root, site.engine).ok


def test_a_rotation_interrupted_before_its_entry_keeps_the_old_key(site: Site) -> None:
    old = site.ev.keys.key_id
    site.ev.keys.prepare_rotation()
    reopened = EvidenceStore.open(site.root, site.engine)
    assert reopened.keys.key_id == old and not (site.root / "keys" / NEXT_FILE).exists()


def test_a_passphrase_encrypted_key(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()
    evidence_cmds.register(app)
    config = write_config(tmp_path, base_config(site.root))
    secret = tmp_path / "passphrase"
    secret.write_text("correct horse battery staple\n")
    (tmp_path / "short").write_text("short\n")
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "protect", "--passphrase-file", str(tmp_path / "short"),
                               "--config", str(config)]).exit_code == 2
    result = runner.invoke(app, ["keys", "protect", "--passphrase-file", str(secret), "--config", str(config)])
    assert result.exit_code == 0, result.output
    signing = site.root / "keys" / SIGNING_FILE
    assert signing.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)
    with pytest.raises(KeyringError, match=PASSPHRASE_ENV):
        EvidenceStore.open(site.root, site.engine)
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    monkeypatch.setenv(PASSPHRASE_ENV, str(wrong))
    with pytest.raises(KeyringError, match="wrong passphrase"):
        EvidenceStore.open(site.root, site.engine)
    monkeypatch.setenv(PASSPHRASE_ENV, str(secret))
    ev = EvidenceStore.open(site.root, site.engine)
    record = ev.rotate_key(actor="admin")  # the new key is stored encrypted with the same passphrase
    assert signing.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    ev.append(Action.VIEWED, actor="someone", clip_id="clip0")
    assert verify_store(site.root, site.engine).ok
    if shutil.which("openssl"):  # the backup can be checked with openssl and the passphrase alone
        der = subprocess.run(["openssl", "pkey", "-in", str(signing), "-passin", f"file:{secret}", "-pubout",
                              "-outform", "DER"], capture_output=True, check=True).stdout
        digest = subprocess.run(["sha256sum"], input=der, capture_output=True, check=True).stdout.split()[0]
        assert digest.decode() == record.details["new_key_id"]


@pytest.mark.slow
def test_the_service_fails_closed_on_a_swapped_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, base_config(tmp_path / "data"))
    runtime = Runtime.open(load_config(config))  # the schema as the service makes it
    runtime.evidence.append(Action.CONFIG_CHANGED, actor="admin", details={"config_hash": "ab" * 32})
    runtime.close()
    swapped = Ed25519PrivateKey.generate()
    write_key(tmp_path / "data" / "keys" / SIGNING_FILE, swapped)
    (tmp_path / "data" / "keys" / PUBLIC_DIR / f"{key_id(swapped.public_key())}.pem").write_bytes(
        public_pem(swapped.public_key()))
    result = subprocess.run([sys.executable, "-m", "monitor.cli", "serve", "--config", str(config), "--port", "0"],
                            capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr
    assert "never introduced by a key rotation" in result.stderr and "hotspot keys rotate" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bundle_with_an_entry_signed_by_a_retired_key_fails(rotated: tuple[Site, bytes], tmp_path: Path) -> None:
    site, retired = rotated
    old = serialization.load_pem_private_key(retired, password=None)
    assert isinstance(old, Ed25519PrivateKey)
    last, clip_last = tampering.rows(site.root)[-1], site.ev.entries("clip0")[-1]
    body = {"type": "hotspot-custody-entry", "v": 1, "seq": last["seq"] + 1, "time": last["time"],
            "actor": "insider", "action": "viewed", "clip_id": "clip0", "object_sha256": None, "details": {},
            "prev_hash": last["entry_hash"], "prev_clip_hash": clip_last.entry_hash,
            "key_id": key_id(old.public_key())}
    data = canonical_json(body)
    row = {**{k: v for k, v in body.items() if k in tampering.COLUMNS}, "details": "{}",
           "entry_hash": sha256_bytes(data), "signature": encode_signature(old.sign(data))}
    tampering.insert(site.root, row, at=last["seq"] + 1)
    bundle = export_bundle(site.ev, "clip0", tmp_path / "b.zip", disclosure=disclose())
    with pytest.raises(SignatureError, match="retired key"):
        verify_bundle(bundle)
