"""Custodians, shares and ``hotspot unmask`` on a real store, real footage and Debian's ``age``.

The original is the real camera file's packets remuxed and age-encrypted by the recording
code; the shares come from ``hotspot custodians init``; refusals are tried as an insider would.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import av
import pytest
import typer
from typer.testing import CliRunner

from evidence import bech32
from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.custodians import read_share, rebuild_identity
from evidence.errors import IntegrityError
from evidence.hashing import sha256_file
from evidence.original import progress_path, recover_encrypted
from evidence.verify import verify_store
from monitor.cli import evidence_cmds, unmask_cmds
from monitor.config import load_config
from monitor.record.original import OriginalWriter
from tests.conftest import base_config, write_config
from tests.evidence import bundles
from tests.evidence.conftest import Site, clip_metadata, open_site, seal_real_clip

CAMERA_FILE = "intel-sample-videos/car-detection.mp4"
FIRST_PACKET, LAST_PACKET = 40, 200
NAMES = ("principal", "counsel", "director")


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    evidence_cmds.register(app)
    unmask_cmds.register(app)
    return app


def run(cli: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


@dataclass
class Sealed:
    site: Site
    config: Path
    shares: Path
    clip_id: str
    source_packets: list[bytes]


def source_span(camera_file: Path) -> list[av.Packet]:
    """The camera's packets from the keyframe at or after FIRST_PACKET to LAST_PACKET, demuxed."""
    container = av.open(str(camera_file))
    packets: list[av.Packet] = []
    for index, packet in enumerate(container.demux(container.streams.video[0])):
        if packet.size and index >= FIRST_PACKET and (packets or packet.is_keyframe):
            packets.append(packet)
        if index >= LAST_PACKET:
            break
    return packets


def record_original(site: Site, camera_file: Path, clip_id: str, recipient: str | None) -> dict[str, object]:
    """What the recording path does: remux the span into an (encrypted) original."""
    suffix = ".mp4.age" if recipient else ".mp4"
    path = site.root / "originals" / "cam1" / "2026-03-02" / f"{clip_id}{suffix}"
    container = av.open(str(camera_file))
    writer = OriginalWriter(path, container.streams.video[0], recipient=recipient)
    for packet in source_span(camera_file):
        writer.write(packet)
    digest = writer.close()
    progress_path(path).unlink(missing_ok=True)
    return {"path": path.relative_to(site.root).as_posix(), "recipient": recipient, **digest.to_json()}


@pytest.fixture
def sealed(tmp_path: Path, footage: Path, cli: typer.Typer) -> Sealed:
    root = tmp_path / "data"
    root.mkdir()
    config = write_config(tmp_path, base_config(root))
    shares = tmp_path / "envelopes"
    code, _, err = run(cli, "custodians", "init", "--threshold", "2", "--names", ",".join(NAMES),
                       "--out", shares, "--config", config)
    assert code == 0, err
    site = open_site(root)
    recipient = load_config(config).originals.recipient
    original = record_original(site, footage / CAMERA_FILE, "clip1", recipient)
    clip = seal_real_clip(site, "clip0", 0)  # an ordinary clip before it
    assert clip.details.get("original") is None
    path = site.clip_path("clip1")
    shutil.copyfile(site.clip_path("clip0"), path)
    site.ev.seal_clip(clip_id="clip1", path=path.relative_to(root).as_posix(), sha256=sha256_file(path),
                      size=path.stat().st_size, metadata=clip_metadata(1, 8), original=original)
    packets = [bytes(p) for p in source_span(footage / CAMERA_FILE)]
    return Sealed(site, config, shares, "clip1", packets)


def share(sealed: Sealed, name: str) -> Path:
    return sealed.shares / f"{name}.share.txt"


def unmask(cli: typer.Typer, sealed: Sealed, out: Path, *shares: Path) -> tuple[int, str, str]:
    args = ["unmask", sealed.clip_id, "--case", "2026-031", "--reason", "assault in the hallway",
            "--recipient", "Det. Ruiz, county police", "--interest", "criminal investigation",
            "--by", "security-director", "--out", out, "--config", sealed.config]
    for path in shares:
        args += ["--share", path]
    return run(cli, *args)


def demuxed(data: bytes) -> list[bytes]:
    container = av.open(io.BytesIO(data))
    return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


def test_init_keeps_only_the_public_key(sealed: Sealed, cli: typer.Typer, tmp_path: Path) -> None:
    shares = sorted(sealed.shares.iterdir())
    assert [p.name for p in shares] == sorted(f"{n}.share.txt" for n in NAMES)
    assert all(p.stat().st_mode & 0o077 == 0 for p in shares)
    config = load_config(sealed.config).originals
    assert config.threshold == 2 and config.custodians == list(NAMES)
    identity = rebuild_identity([read_share(shares[0]), read_share(shares[2])], recipient=str(config.recipient),
                                custodians=NAMES)
    secrets = [identity.encode(), bech32.decode(identity, "age-secret-key-"), b"AGE-SECRET-KEY",
               *(" ".join(read_share(p).words.split()[3:9]).encode() for p in shares)]
    for path in [sealed.config, *sealed.site.root.rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret in data for secret in secrets), path
    code, out, _ = run(cli, "custodians", "show", "--config", sealed.config)
    assert code == 0 and config.recipient in out and "2 of 3" in out and "share 2: counsel" in out
    entry = [e for e in sealed.site.ev.entries() if e.action == Action.CUSTODIANS_SET][-1]
    assert entry.details == {"recipient": config.recipient, "threshold": 2, "custodians": list(NAMES)}
    code, _, err = run(cli, "custodians", "init", "--threshold", "2", "--names", "a,b",
                       "--out", tmp_path / "again", "--config", sealed.config)
    assert code == 2 and "already set" in err and not (tmp_path / "again").exists()
    code, _, err = run(cli, "custodians", "init", "--threshold", "2", "--names", "a,b", "--replace",
                       "--out", sealed.site.root / "shares", "--config", sealed.config)
    assert code == 2 and "storage folder" in err


def test_two_custodians_unmask_the_exact_camera_packets(sealed: Sealed, cli: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "original.zip"
    code, _, err = unmask(cli, sealed, out, share(sealed, "counsel"), share(sealed, "principal"))
    assert code == 0, err
    report = verify_bundle(out)
    original = sealed.site.ev.sealed("clip1").details["original"]
    assert report.original_sha256 == original["sha256"]
    with zipfile.ZipFile(out) as bundle:
        data = bundle.read("original/clip1.mp4")
        guide = bundle.read("VERIFY.md").decode()
    assert demuxed(data) == sealed.source_packets  # the camera's bitstream, packet for packet
    assert hashlib.sha256(data).hexdigest() == original["sha256"]
    actions = [(e.action, e.actor) for e in sealed.site.ev.entries("clip1")]
    assert actions == [(Action.SEALED, "system"), (Action.UNMASK_REQUESTED, "security-director"),
                       (Action.UNMASK_APPROVED, "counsel"), (Action.UNMASK_APPROVED, "principal"),
                       (Action.UNMASK_DISCLOSED, "security-director")]
    disclosed = sealed.site.ev.entries("clip1")[-1].details
    assert disclosed["recipient"] == "Det. Ruiz, county police" and disclosed["interest"] == "criminal investigation"
    code, text, _ = run(cli, "verify", out, "--json", "--trust", sealed.site.ev.keys.key_id)
    assert code == 0 and json.loads(text)["original_sha256"] == original["sha256"]
    code, _, err = run(cli, "verify", "--config", sealed.config)
    assert code == 0, err
    assert "age -d -i identity.txt" in guide and original["ciphertext_sha256"] in guide


def test_verify_md_steps_check_an_original_bundle_by_hand(sealed: Sealed, cli: typer.Typer,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "original.zip"
    assert unmask(cli, sealed, out, share(sealed, "counsel"), share(sealed, "director"))[0] == 0
    with zipfile.ZipFile(out) as bundle:
        guide = bundle.read("VERIFY.md").decode()
    blocks = [b.split("```", 1)[0] for b in guide.split("```sh\n")[1:]]
    script = "set -e\n" + "\n".join(blocks)
    env = {**os.environ, "CARD_FINGERPRINT": sealed.site.ev.keys.key_id}
    done = subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    assert "OK: one unbroken chain" in done.stdout and "is the native original sealed in" in done.stdout
    (tmp_path / "t").mkdir()
    tampered = bundles.rewrite(out, tmp_path / "t" / "original.zip", lambda m: m.update({
        "original/clip1.mp4": bundles.flip_byte(m["original/clip1.mp4"], 2000)}))
    done = subprocess.run(["sh", "-c", script], cwd=tmp_path / "t", capture_output=True, text=True, timeout=60,
                          check=False, env=env)
    assert done.returncode != 0 and "original/clip1.mp4: FAILED" in done.stdout
    with pytest.raises(IntegrityError, match="original/clip1.mp4: hashes to"):
        verify_bundle(tampered)


@pytest.mark.parametrize("case", ["one share", "same share twice", "share of another key",
                                  "share claimed by another custodian", "mistyped word"])
def test_refused_shares_write_nothing(sealed: Sealed, cli: typer.Typer, tmp_path: Path, case: str) -> None:
    counsel, principal = share(sealed, "counsel"), share(sealed, "principal")
    copy = tmp_path / "copy.share.txt"
    if case == "one share":
        given, expected = [counsel], "needs shares from 2 different custodians"
    elif case == "same share twice":
        shutil.copyfile(counsel, copy)
        given, expected = [counsel, copy], "each custodian counts once"
    elif case == "share of another key":
        other = tmp_path / "other"
        other.mkdir()
        other_config = write_config(other, base_config(other / "data"))
        assert run(cli, "custodians", "init", "--threshold", "2", "--names", ",".join(NAMES),
                   "--out", other / "shares", "--config", other_config)[0] == 0
        text = (other / "shares" / "principal.share.txt").read_text()
        forged = load_config(other_config).originals.recipient
        copy.write_text(text.replace(str(forged), str(load_config(sealed.config).originals.recipient)))
        given, expected = [counsel, copy], "do not combine"
    elif case == "share claimed by another custodian":
        copy.write_text(principal.read_text().replace("custodian: principal", "custodian: director"))
        given, expected = [counsel, copy], "belongs to 'principal'"
    else:
        words = principal.read_text().split("words: ")[1].split()
        words[5] = "academic" if words[5] != "academic" else "acid"
        copy.write_text(principal.read_text().split("words: ")[0] + "words: " + " ".join(words) + "\n")
        given, expected = [counsel, copy], "not a valid share"
    before = len(sealed.site.ev.entries())
    out = tmp_path / "original.zip"
    code, _, err = unmask(cli, sealed, out, *given)
    message = " ".join(err.split())
    assert code == 1 and expected in message and "nothing was written" in message
    assert not out.exists() and not list(tmp_path.glob(".original.zip*"))
    assert len(sealed.site.ev.entries()) == before


def test_a_swapped_ciphertext_is_refused(sealed: Sealed, cli: typer.Typer, tmp_path: Path) -> None:
    original = sealed.site.ev.sealed("clip1").details["original"]
    stored = sealed.site.root / original["path"]
    stored.write_bytes(bundles.flip_byte(stored.read_bytes(), stored.stat().st_size // 2))
    code, _, err = unmask(cli, sealed, tmp_path / "o.zip", share(sealed, "counsel"), share(sealed, "principal"))
    assert code == 1 and "hashes to" in err and not (tmp_path / "o.zip").exists()
    code, text, _ = run(cli, "verify", "--json", "--config", sealed.config)
    failures = json.loads(text)["failures"]
    assert code == 1 and [(f["kind"], f["clip_id"]) for f in failures] == [("modified", "clip1")]


def test_age_opens_the_stored_original_with_the_rebuilt_identity(sealed: Sealed, tmp_path: Path) -> None:
    recipient = str(load_config(sealed.config).originals.recipient)
    identity = rebuild_identity([read_share(share(sealed, "director")), read_share(share(sealed, "principal"))],
                                recipient=recipient, custodians=NAMES)
    key = tmp_path / "identity.txt"
    key.write_text(identity + "\n")
    original = sealed.site.ev.sealed("clip1").details["original"]
    out = tmp_path / "original.mp4"
    done = subprocess.run(["age", "-d", "-i", key, "-o", out, sealed.site.root / original["path"]],
                          capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert sha256_file(out) == original["sha256"]
    assert demuxed(out.read_bytes()) == sealed.source_packets


def test_no_plaintext_of_the_original_in_the_storage_folder(sealed: Sealed) -> None:
    """Search every stored file for any 64-byte run of any packet the camera sent."""
    probes = {p[i:i + 64] for p in sealed.source_packets if len(p) > 256 for i in (64, len(p) // 2)}
    for path in sealed.site.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(probe in data for probe in probes), f"{path} holds plaintext of the original"


CRASHING_WRITER = """
import os, sys, av
from pathlib import Path
from monitor.record.original import OriginalWriter
source, target, recipient = sys.argv[1:4]
container = av.open(source)
writer = OriginalWriter(Path(target), container.streams.video[0], recipient=recipient)
for index, packet in enumerate(container.demux(container.streams.video[0])):
    if packet.size:
        writer.write(packet)
    if index == 150:
        os._exit(9)  # killed mid-clip: no close, no flush
"""


def test_a_crash_leaves_an_original_that_decrypts_to_what_was_synced(sealed: Sealed, footage: Path,
                                                                     cli: typer.Typer, tmp_path: Path) -> None:
    recipient = str(load_config(sealed.config).originals.recipient)
    target = sealed.site.root / "originals" / "cam1" / "2026-03-02" / "clip2.mp4.age"
    done = subprocess.run([sys.executable, "-c", CRASHING_WRITER, footage / CAMERA_FILE, target, recipient],
                          capture_output=True, timeout=60, check=False, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 9, done.stderr
    recovered = recover_encrypted(target)
    assert recovered is not None and not recovered.complete and recovered.size > 0
    assert sha256_file(target) == recovered.ciphertext_sha256
    identity = rebuild_identity([read_share(share(sealed, "director")), read_share(share(sealed, "counsel"))],
                                recipient=recipient, custodians=NAMES)
    key = tmp_path / "identity.txt"
    key.write_text(identity + "\n")
    opened = subprocess.run(["age", "-d", "-i", key, target], capture_output=True, timeout=30, check=False)
    assert opened.returncode != 0 and len(opened.stdout) == recovered.size
    assert hashlib.sha256(opened.stdout).hexdigest() == recovered.sha256
    source = av.open(str(footage / CAMERA_FILE))
    whole = [bytes(p) for p in source.demux(source.streams.video[0]) if p.size][:151]
    kept = demuxed_prefix(opened.stdout)
    # whole packets up to the cut, then the start of the packet the cut went through
    assert len(kept) > 50 and kept[:-1] == whole[:len(kept) - 1] and whole[len(kept) - 1].startswith(kept[-1])
    path = sealed.site.clip_path("clip2")
    shutil.copyfile(sealed.site.clip_path("clip0"), path)
    sealed.site.ev.seal_clip(clip_id="clip2", path=path.relative_to(sealed.site.root).as_posix(),
                             sha256=sha256_file(path), size=path.stat().st_size, metadata=clip_metadata(2, 8),
                             incomplete="the worker died", original={
                                 "path": target.relative_to(sealed.site.root).as_posix(), "recipient": recipient,
                                 **recovered.to_json()})
    sealed.clip_id = "clip2"
    out = tmp_path / "recovered.zip"
    code, _, err = unmask(cli, sealed, out, share(sealed, "counsel"), share(sealed, "director"))
    assert code == 0, err
    assert verify_bundle(out).original_sha256 == recovered.sha256


def demuxed_prefix(data: bytes) -> list[bytes]:
    """Packets of a fragmented MP4 cut short: every complete fragment's."""
    packets: list[bytes] = []
    try:
        container = av.open(io.BytesIO(data))
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                packets.append(bytes(packet))
    except av.error.FFmpegError:
        pass
    return packets


def test_verify_names_an_original_nobody_sealed(sealed: Sealed) -> None:
    root = sealed.site.root
    stray = root / "originals" / "cam1" / "2026-03-02" / "clip9.mp4"
    stray.write_bytes((root / sealed.site.ev.sealed("clip1").details["original"]["path"]).read_bytes())
    sidecar = sealed.site.clip_path("clip9").with_suffix(".json")
    sidecar.write_text("{}")  # its clip is still recording: not yet a finding
    report = verify_store(root, sealed.site.engine)
    assert report.ok and any("originals/cam1/2026-03-02/clip9.mp4: not sealed yet" in w for w in report.warnings)
    sidecar.unlink()
    report = verify_store(root, sealed.site.engine)
    assert [(f.kind, f.clip_id) for f in report.failures] == [("unsealed", "clip9")]
