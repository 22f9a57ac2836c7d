"""Export bundles: what they hold, what the export logs, and the offline verifier under attack."""

from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.actions import Action
from evidence.bundle import verify_bundle
from evidence.errors import (
    BundleFormatError,
    ChainError,
    ClipNotFound,
    EvidenceError,
    IntegrityError,
    SignatureError,
    VerificationError,
)
from evidence.export import export_bundle
from evidence.hashing import sha256_file
from evidence.keys import key_id, public_pem
from evidence.verify import verify_store
from tests.evidence import bundles
from tests.evidence.conftest import Site, disclose


def site_key(site: Site) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key((site.root / "keys" / "signing.pem").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


@pytest.fixture
def bundle(site: Site, tmp_path: Path) -> Path:
    return export_bundle(site.ev, "clip0", tmp_path / "case-2026-014.zip", disclosure=disclose())


def test_a_fresh_bundle_verifies_and_says_what_it_proves(site: Site, bundle: Path) -> None:
    report = verify_bundle(bundle)
    seal = site.ev.sealed("clip0")
    assert (report.clip_id, report.sha256, report.size) == ("clip0", seal.object_sha256, seal.details["size"])
    assert report.actions == ("sealed", "viewed", "downloaded", "exported")
    assert (report.case, report.reason, report.exported_by) == ("2026-014", "discipline hearing", "Dr. Okafor")
    assert set(report.key_ids) == set(site.ev.keys.key_ids)  # sealed before the rotation, exported after
    assert not report.pinned
    assert verify_bundle(bundle, trusted_keys=site.ev.keys.key_ids).pinned


def test_the_bundle_holds_the_clip_stored_and_the_settings_in_force(site: Site, bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
        assert archive.read("clip/clip0.mp4") == site.clip_path("clip0").read_bytes()
        manifest = json.loads(archive.read("manifest.json"))
        assert "sha256sum" in archive.read("VERIFY.md").decode()
    metadata = manifest["clip"]["metadata"]
    assert {"zones_config", "schedules", "privacy", "config_hash", "start", "end"} <= set(metadata)
    assert manifest["checkpoint"]["checkpoint"]["head"] == manifest["custody"][-1]["entry_hash"]


def test_the_export_is_a_logged_disclosure_with_a_checkpoint(site: Site, bundle: Path) -> None:
    exported = site.ev.entries("clip0")[-1]
    assert exported.action == Action.EXPORTED and exported.actor == "Dr. Okafor"
    assert exported.details == {"case": "2026-014", "reason": "discipline hearing", "by": "Dr. Okafor",
                                "recipient": "District counsel",
                                "interest": "represents the district at the hearing", "file": bundle.name}
    checkpoints = (site.root / "checkpoints.log").read_text().splitlines()
    assert json.loads(checkpoints[-1])["checkpoint"]["head"] == exported.entry_hash
    assert verify_store(site.root, site.engine).ok


def test_export_refuses_a_modified_clip_and_logs_nothing(site: Site, tmp_path: Path) -> None:
    path = site.clip_path("clip1")
    path.write_bytes(bundles.flip_byte(path.read_bytes(), 100))
    before = len(site.ev.entries())
    with pytest.raises(IntegrityError, match="refusing to export"):
        export_bundle(site.ev, "clip1", tmp_path / "x.zip", disclosure=disclose(case="c", reason="r", by="b"))
    assert len(site.ev.entries()) == before
    assert list(tmp_path.glob("*.zip*")) == [] and list(tmp_path.glob(".x.zip*")) == []


def test_export_refuses_bad_requests(site: Site, bundle: Path) -> None:
    with pytest.raises(EvidenceError, match="already exists"):
        export_bundle(site.ev, "clip0", bundle, disclosure=disclose(case="c", reason="r", by="b"))
    with pytest.raises(ClipNotFound):
        export_bundle(site.ev, "nope", bundle.with_name("n.zip"), disclosure=disclose(case="c", reason="r", by="b"))
    with pytest.raises(EvidenceError, match="backticks"):
        export_bundle(site.ev, "clip0", bundle.with_name("a`b.zip"), disclosure=disclose(case="c", reason="r", by="b"))
    with pytest.raises(EvidenceError, match="--reason"):
        export_bundle(site.ev, "clip0", bundle.with_name("n.zip"), disclosure=disclose(case="c", reason=" ", by="b"))


def test_one_byte_of_the_clip_changed_is_caught(bundle: Path, tmp_path: Path) -> None:
    def change(items: bundles.Members) -> None:
        items["clip/clip0.mp4"] = bundles.flip_byte(items["clip/clip0.mp4"], 2000)

    with pytest.raises(IntegrityError, match="clip/clip0.mp4: hashes to"):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "t.zip", change))


def test_a_byte_flipped_inside_the_zip_is_caught(bundle: Path) -> None:
    data = bundle.read_bytes()
    at = data.index(b"ftyp") + 400  # inside the stored clip
    bundle.write_bytes(bundles.flip_byte(data, at))
    with pytest.raises(VerificationError):
        verify_bundle(bundle)


def test_a_manifest_edited_without_the_key_is_caught(bundle: Path, tmp_path: Path) -> None:
    def change(items: bundles.Members) -> None:
        bundles.edit_manifest(items, lambda m: m["export"].update(case="another case"), sign_with=None)

    with pytest.raises(SignatureError, match="manifest.json"):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "t.zip", change))


@pytest.mark.parametrize(("lie", "error", "message"), [
    (lambda m: m["clip"].update(sha256="0" * 64), IntegrityError, "manifest says"),
    (lambda m: m["clip"].update(size=m["clip"]["size"] + 1), IntegrityError, "manifest says"),
    (lambda m: m["clip"]["metadata"].update(zones=["gym"]), IntegrityError, "metadata"),
    (lambda m: m["export"].update(case="another case"), ChainError, "not this bundle's export"),
    (lambda m: m["custody"][1]["entry"].update(actor="nobody"), IntegrityError, "differs from entry"),
    (lambda m: m["custody"].pop(1), BundleFormatError, "does not list"),
    (lambda m: m["custody"].reverse(), ChainError, "not linked"),
    (lambda m: m["checkpoint"]["checkpoint"].update(size=1), IntegrityError, "checkpoint.json"),
])
def test_a_manifest_that_lies_is_caught_even_when_signed(site: Site, bundle: Path, tmp_path: Path,
                                                         lie, error: type, message: str) -> None:  # type: ignore[no-untyped-def]
    def change(items: bundles.Members) -> None:
        bundles.edit_manifest(items, lie, sign_with=site_key(site))

    with pytest.raises(error, match=message):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "t.zip", change))


def test_an_entry_left_out_of_the_bundle_breaks_the_chain(site: Site, bundle: Path, tmp_path: Path) -> None:
    def change(items: bundles.Members) -> None:
        dropped = json.loads(items["manifest.json"])["custody"][1]["file"]
        del items[dropped], items[dropped.replace(".json", ".sig")], items[dropped.replace(".json", ".proof")]
        bundles.edit_manifest(items, lambda m: m["custody"].pop(1), sign_with=site_key(site))

    with pytest.raises(ChainError, match="not linked"):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "t.zip", change))


def test_a_manifest_signed_by_a_key_outside_the_rotations_fails_even_unpinned(bundle: Path, tmp_path: Path) -> None:
    forger = Ed25519PrivateKey.generate()
    forged_id = key_id(forger.public_key())

    def change(items: bundles.Members) -> None:
        items[f"keys/{forged_id}.pem"] = public_pem(forger.public_key())
        bundles.edit_manifest(items, lambda m: m.update(signed_by=forged_id, keys={
            **m["keys"], forged_id: f"keys/{forged_id}.pem"}), sign_with=forger)

    with pytest.raises(SignatureError, match="SHA256SUMS"):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "t.zip", change))


@pytest.mark.parametrize(("extra", "message"), [
    (("../../etc/cron.d/evil", b"x"), "not an allowed name"),
    (("/etc/passwd", b"x"), "not an allowed name"),
    (("clip/..", b"x"), "not an allowed name"),
    (("custody/99999999.json", b"{}"), "every other member once"),
    (("clip/second.mp4", b"x"), "exactly the clip"),
    (("manifest.json", b"{}"), "appears twice"),
])
def test_unexpected_members_are_refused(bundle: Path, tmp_path: Path, extra: tuple[str, bytes], message: str) -> None:
    items = list(bundles.members(bundle).items()) + [extra]
    with pytest.warns(UserWarning) if extra[0] == "manifest.json" else contextlib.nullcontext():
        hostile = bundles.write(tmp_path / "t.zip", items)
    with pytest.raises(BundleFormatError, match=message):
        verify_bundle(hostile)


def test_a_zip_bomb_is_refused_without_inflating_it(bundle: Path, tmp_path: Path) -> None:
    items = bundles.members(bundle)
    items["VERIFY.md"] = b"\0" * (64 << 20)
    bomb = bundles.write(tmp_path / "bomb.zip", items, compression=zipfile.ZIP_DEFLATED)
    assert bomb.stat().st_size < 2 << 20
    with pytest.raises(BundleFormatError, match="compressed"):
        verify_bundle(bomb)


@pytest.mark.parametrize(("member", "size", "message"), [
    ("manifest.json", 1 << 40, "more than"),
    ("clip/clip0.mp4", 1 << 33, "overlapping"),
])
def test_members_that_claim_huge_sizes_are_refused(bundle: Path, member: str, size: int, message: str) -> None:
    bundles.patch_declared_size(bundle, member, min(size, 0xFFFFFFFE))
    with pytest.raises(BundleFormatError, match=message):
        verify_bundle(bundle)


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_a_truncated_bundle_is_refused(bundle: Path, keep: float) -> None:
    data = bundle.read_bytes()
    bundle.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(BundleFormatError, match="not a readable zip"):
        verify_bundle(bundle)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("manifest.json", b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    ("manifest.json", b'{"type": 1, "type": 2}', "duplicate key"),
    ("manifest.json", b'{"v": NaN}', "not valid JSON"),
    ("manifest.json", b"\xff\xfe", "not valid JSON"),
    ("manifest.sig", b"", "does not verify"),
])
def test_malformed_members_get_clear_errors(bundle: Path, tmp_path: Path, name: str, data: bytes, message: str) -> None:
    items = bundles.members(bundle)
    items[name] = data
    with pytest.raises(VerificationError, match=message):
        verify_bundle(bundles.write(tmp_path / "t.zip", items))


def test_a_missing_member_or_not_a_zip_is_named(bundle: Path, tmp_path: Path) -> None:
    items = bundles.members(bundle)
    del items["manifest.sig"]
    with pytest.raises(BundleFormatError, match="manifest.sig is missing"):
        verify_bundle(bundles.write(tmp_path / "t.zip", items))
    (tmp_path / "random.zip").write_bytes(b"PK" + bytes(range(256)) * 10)
    with pytest.raises(BundleFormatError, match="not a readable zip"):
        verify_bundle(tmp_path / "random.zip")
    with pytest.raises(BundleFormatError, match="no such bundle"):
        verify_bundle(tmp_path / "absent.zip")


def test_the_exported_clip_matches_the_sealed_file(site: Site, bundle: Path) -> None:
    assert verify_bundle(bundle).sha256 == sha256_file(site.clip_path("clip0"))


def test_every_entry_carries_its_inclusion_proof_in_the_checkpoint(site: Site, bundle: Path) -> None:
    report = verify_bundle(bundle)
    items = bundles.members(bundle)
    manifest = json.loads(items["manifest.json"])
    checkpoint = json.loads(items["checkpoint.json"])
    assert report.merkle_root == checkpoint["root"] and checkpoint["v"] == 2
    for item in manifest["custody"]:
        proof = items[item["file"].replace(".json", ".proof")].decode().split()
        assert proof == item["inclusion"] == site.ev.inclusion_proof(item["seq"], checkpoint["size"])
        assert proof  # a real tree of more than one entry


def test_an_edited_inclusion_proof_is_refused(site: Site, bundle: Path, tmp_path: Path) -> None:
    name = "custody/00000001.proof"

    def flip_file(items: bundles.Members) -> None:
        items[name] = items[name].replace(items[name][:1], b"f" if items[name][:1] != b"f" else b"0", 1)

    with pytest.raises(IntegrityError, match="custody/00000001.proof"):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "file.zip", flip_file))

    def forge(items: bundles.Members) -> None:  # a key holder re-signs the manifest with a wrong path
        def change(manifest: dict) -> None:
            manifest["custody"][0]["inclusion"][0] = "00" * 32
            items[name] = "".join(f"{h}\n" for h in manifest["custody"][0]["inclusion"]).encode()
        bundles.edit_manifest(items, change, sign_with=site_key(site))

    with pytest.raises(ChainError, match="custody/00000001.json: inclusion proof"):
        verify_bundle(bundles.rewrite(bundle, tmp_path / "forged.zip", forge))
