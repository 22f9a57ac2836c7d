"""Verify an export bundle offline: needs only ``cryptography`` and ``rfc8785``, no database.

The steps and their order are those of the bundle's VERIFY.md. Each step returns what it
established or raises a VerificationError saying what failed and where.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evidence.actions import Action
from evidence.archive import SafeArchive
from evidence.bundle_format import (
    BUNDLE_TYPE,
    CHECKPOINT,
    CHECKPOINT_SIG,
    MANIFEST,
    MANIFEST_SIG,
    REPORT_DIR,
    entry_file,
    key_file,
    signature_file,
)
from evidence.canonical import canonical_json
from evidence.checkpoints import Checkpoint
from evidence.entry import decode_signature
from evidence.errors import (
    BundleFormatError,
    ChainError,
    IntegrityError,
    KeyringError,
    SignatureError,
)
from evidence.hashing import sha256_bytes
from evidence.keys import PublicKeyring, key_id, load_public_pem


@dataclass(frozen=True)
class BundleReport:
    """What a verified bundle proves: this clip, sealed then, handled by these entries."""

    clip_id: str
    sha256: str
    size: int
    sealed_at: str
    case: str
    reason: str
    exported_by: str
    exported_at: str
    entries: int
    actions: tuple[str, ...]
    signed_by: str
    key_ids: tuple[str, ...]
    checkpoint_size: int
    pinned: bool  # True when every key was checked against fingerprints the caller trusts

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": True}


def verify_bundle(path: Path, *, trusted_keys: Collection[str] | None = None) -> BundleReport:
    """Run every step; the first failure raises. ``trusted_keys`` pins the site's fingerprints."""
    with SafeArchive(Path(path)) as archive:
        keys = step2_keys(archive)
        manifest = step3_manifest(archive, keys)
        clip = _field(manifest, "clip", dict, "manifest")
        step4_clip(archive, clip)
        entries = step5_entries(archive, manifest, keys)
        step6_chain(entries, manifest)
        checkpoint = step7_checkpoint(archive, manifest, keys, entries[-1])
    used = {manifest["signed_by"], checkpoint.key_id, *(e["key_id"] for e in entries)}
    if trusted_keys is not None and not used <= set(trusted_keys):
        raise SignatureError(f"{path}: signed with key(s) {', '.join(sorted(used - set(trusted_keys)))} "
                             "that are not among the trusted fingerprints")
    export = manifest["export"]
    seal = next(e for e in entries if e["action"] == Action.SEALED.value)
    return BundleReport(
        clip_id=clip["id"], sha256=clip["sha256"], size=clip["size"], sealed_at=seal["time"],
        case=export["case"], reason=export["reason"], exported_by=export["by"], exported_at=export["time"],
        entries=len(entries), actions=tuple(e["action"] for e in entries), signed_by=manifest["signed_by"],
        key_ids=tuple(sorted(used)), checkpoint_size=checkpoint.size, pinned=trusted_keys is not None,
    )


def step2_keys(archive: SafeArchive) -> PublicKeyring:
    """Every public key's file name must be its own fingerprint."""
    found = {}
    for name in archive.names:
        if name.startswith("keys/"):
            try:
                key = load_public_pem(archive.read(name), name)
            except KeyringError as exc:
                raise BundleFormatError(str(exc)) from exc
            if key_file(key_id(key)) != name:
                raise SignatureError(f"{name}: the key's fingerprint is {key_id(key)}")
            found[key_id(key)] = key
    if not found:
        raise BundleFormatError(f"{archive.path}: bundle holds no public key")
    return PublicKeyring(found)


def step3_manifest(archive: SafeArchive, keys: PublicKeyring, kind: str = BUNDLE_TYPE) -> dict[str, Any]:
    """The manifest's signature, by the key it names, over its exact bytes."""
    data = archive.read(MANIFEST)
    manifest = _checked_dict(archive.read_json(MANIFEST), MANIFEST)
    if manifest.get("type") != kind or manifest.get("v") != 1:
        raise BundleFormatError(f"{MANIFEST}: not a version 1 {kind} manifest")
    signer = _field(manifest, "signed_by", str, MANIFEST)
    keys.verify(signer, data, archive.read(MANIFEST_SIG), what=MANIFEST)
    listed = _field(manifest, "keys", dict, MANIFEST)
    present = {n for n in archive.names if n.startswith("keys/")}
    if {key_file(k) for k in listed} != present or any(key_file(k) != v for k, v in listed.items()):
        raise BundleFormatError(f"{MANIFEST}: listed keys do not match the key files in the bundle")
    return manifest


def step4_clip(archive: SafeArchive, clip: dict[str, Any]) -> None:
    """The clip's bytes hash to what the manifest (and, in step 6, the seal) says."""
    name = _field(clip, "file", str, "manifest clip")
    clips = [n for n in archive.names if n.startswith(("clip/", REPORT_DIR))]
    if clips != [name]:
        raise BundleFormatError(f"bundle must hold exactly the clip {name}; found {clips}")
    digest, size = archive.sha256(name)
    if digest != _field(clip, "sha256", str, "manifest clip") or size != _field(clip, "size", int, "manifest clip"):
        raise IntegrityError(f"{name}: hashes to {digest} ({size} bytes), manifest says "
                             f"{clip['sha256']} ({clip['size']} bytes)")


def step5_entries(archive: SafeArchive, manifest: dict[str, Any], keys: PublicKeyring) -> list[dict[str, Any]]:
    """Each entry file is the exact signed text listed in the manifest, signed by its key."""
    items = _field(manifest, "custody", list, MANIFEST)
    if not items:
        raise ChainError(f"{MANIFEST}: no custody entries")
    listed = set()
    entries = []
    for item in items:
        item = _checked_dict(item, "custody item")
        seq = _field(item, "seq", int, "custody item")
        name = entry_file(seq)
        if item.get("file") != name:
            raise BundleFormatError(f"custody item #{seq}: file should be {name}")
        data = archive.read(name)
        entry = _checked_dict(item.get("entry"), name)
        if _canonical(entry, name) != data:
            raise IntegrityError(f"{name}: differs from entry #{seq} in the manifest")
        if sha256_bytes(data) != item.get("entry_hash") or entry.get("seq") != seq:
            raise IntegrityError(f"{name}: hashes to {sha256_bytes(data)}, manifest says {item.get('entry_hash')}")
        signature = archive.read(signature_file(name))
        if signature != decode_signature(str(item.get("signature"))):
            raise SignatureError(f"{signature_file(name)}: differs from the signature in the manifest")
        keys.verify(_field(entry, "key_id", str, name), data, signature, what=name)
        listed |= {name, signature_file(name)}
        entries.append(entry)
    extra = {n for n in archive.names if n.startswith("custody/")} - listed
    if extra:
        raise BundleFormatError(f"bundle holds custody files the manifest does not list: {sorted(extra)}")
    return entries


def step6_chain(entries: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """One unbroken chain for this clip, from its seal to this export."""
    clip, export = manifest["clip"], _field(manifest, "export", dict, MANIFEST)
    previous_hash, previous_seq = None, 0
    for entry in entries:
        where = f"custody entry #{entry.get('seq')}"
        if entry.get("clip_id") != clip.get("id"):
            raise ChainError(f"{where}: belongs to clip {entry.get('clip_id')!r}, not {clip.get('id')!r}")
        if entry.get("prev_clip_hash") != previous_hash or entry["seq"] <= previous_seq:
            raise ChainError(f"{where}: not linked to the clip's previous entry (expected {previous_hash})")
        previous_hash, previous_seq = sha256_bytes(canonical_json(entry)), entry["seq"]
    seals = [e for e in entries if e.get("action") == Action.SEALED.value]
    if len(seals) != 1:
        raise ChainError(f"clip {clip.get('id')}: {len(seals)} seal entries, expected exactly one")
    _check_seal(seals[0], clip)
    last = entries[-1]
    details = _details(last)
    wanted = {"case": export.get("case"), "reason": export.get("reason"), "by": export.get("by")}
    if last.get("action") != Action.EXPORTED.value or last["seq"] != export.get("seq") or any(
            details.get(k) != v for k, v in wanted.items()) or last.get("time") != export.get("time"):
        raise ChainError(f"custody entry #{last['seq']}: the last entry is not this bundle's export")


def _check_seal(seal: dict[str, Any], clip: dict[str, Any]) -> None:
    details = _details(seal)
    claims = {"sha256": seal.get("object_sha256"), "size": details.get("size"), "sealed_seq": seal.get("seq"),
              "sealed_at": seal.get("time"), "metadata": details.get("metadata"),
              "incomplete": details.get("incomplete")}
    for field, value in claims.items():
        if clip.get(field) != value:
            raise IntegrityError(f"seal entry #{seal.get('seq')}: {field} is {value!r}, the manifest says "
                                 f"{clip.get(field)!r}")


def _details(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's details; empty when they are not an object, so the comparisons report the mismatch."""
    details = entry.get("details")
    return details if isinstance(details, dict) else {}


def step7_checkpoint(archive: SafeArchive, manifest: dict[str, Any], keys: PublicKeyring,
                     last: dict[str, Any]) -> Checkpoint:
    """A signed checkpoint of the whole log ends exactly at this export."""
    listed = _field(manifest, "checkpoint", dict, MANIFEST)
    try:
        checkpoint = Checkpoint.from_json(listed, f"{MANIFEST} checkpoint")
    except ChainError as exc:
        raise BundleFormatError(str(exc)) from exc
    signed = _canonical(checkpoint.body(), CHECKPOINT)
    if archive.read(CHECKPOINT) != signed:
        raise IntegrityError(f"{CHECKPOINT}: differs from the checkpoint in the manifest")
    if archive.read(CHECKPOINT_SIG) != checkpoint.signature_bytes():
        raise SignatureError(f"{CHECKPOINT_SIG}: differs from the signature in the manifest")
    keys.verify(checkpoint.key_id, signed, checkpoint.signature_bytes(), what=CHECKPOINT)
    if checkpoint.size != last["seq"] or checkpoint.head != sha256_bytes(canonical_json(last)):
        raise ChainError(f"{CHECKPOINT}: ends at entry #{checkpoint.size} ({checkpoint.head}), "
                         f"not at the export entry #{last['seq']}")
    return checkpoint


def _canonical(value: Any, where: str) -> bytes:
    try:
        return canonical_json(value)
    except ValueError as exc:  # rfc8785 refuses values JSON allows (huge integers, lone surrogates)
        raise BundleFormatError(f"{where}: cannot be canonicalised ({exc})") from exc


def _checked_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BundleFormatError(f"{where}: expected a JSON object")
    return value


def _field(data: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BundleFormatError(f"{where}: field {name!r} missing or not {kind.__name__}")
    return value
