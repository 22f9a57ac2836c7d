"""Verify an export bundle offline: needs only ``cryptography`` and ``rfc8785``, no database.

The steps and their order are those of the bundle's VERIFY.md. Each step returns what it
established or raises a VerificationError saying what failed and where. Trust comes from the
caller (fingerprints from the site's printed card), never from the bundle: without anchors the
report says ``pinned=False`` and a bundle forged under any key would pass the other steps.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from evidence.actions import SEAL_ACTIONS, Action
from evidence.archive import SafeArchive
from evidence.bundle_format import (
    BUNDLE_TYPE,
    CERTIFICATE,
    CHECKPOINT,
    CHECKPOINT_SIG,
    MANIFEST,
    MANIFEST_SIG,
    README,
    REPORT_DIR,
    SUMS,
    SUMS_SIG,
    VERSION,
    entry_file,
    key_file,
    proof_file,
    rotation_file,
    signature_file,
)
from evidence.canonical import canonical_json
from evidence.checkpoints import Checkpoint
from evidence.entry import ENTRY_TYPE, decode_signature
from evidence.errors import (
    BundleFormatError,
    ChainError,
    IntegrityError,
    KeyringError,
    SignatureError,
    TrustError,
)
from evidence.hashing import sha256_bytes
from evidence.keys import PublicKeyring, key_id, load_public_pem
from evidence.merkle import leaf_hash, verify_inclusion
from evidence.timestamps import TOLERANCE, TimestampError, verify_token
from evidence.trust import KeyChain, Rotation

PROVES = (
    "the clip is bit for bit the file the site sealed when it was recorded (same SHA-256 as the signed seal)",
    ("the seal and every later custody entry of this clip, up to this export, are intact, in one unbroken "
    "chain, and signed by the key that was the site's signing key at the time"),
    PINNED_ONLY := "the signing keys descend, rotation by rotation, from the key whose fingerprint you trusted",
    ("the site's custody log held these entries when the clip was exported (a signed checkpoint ends at "
    "the export entry), at the positions of its Merkle tree that the inclusion proofs show"),
)
STAMPED = ("that checkpoint, and so every entry in it, existed no later than the time each timestamp "
           "authority attests (the times listed above)")
CLOCK_ONLY = "that the times are true: they come from the site's own clock"
CLOCK_STAMPED = ("that the entries' own times are exact: they come from the site's clock; a timestamp "
                 "authority attests only that the checkpoint existed by its time")
DOES_NOT_PROVE = (
    ("who signed it, unless you gave the fingerprint from the site's printed card (--trust): a bundle "
    "signed by any other key passes every other check"),
    CLOCK_ONLY,
    ("that the recording shows everything that happened: only hotspot zones on schedule are recorded, "
    "and masked areas are blacked out before recording"),
    ("anything about a clip sealed as incomplete, or under the recovered action (left open by a crash), "
     "beyond what was written before recording stopped"),
    "anything about copies or handling after this export, or entries of the site's log after it",
    "that nobody holding the site's private key signed false entries: a key holder can sign anything",
)


@dataclass(frozen=True)
class BundleReport:
    """What a verified bundle proves: this clip, sealed then, handled by these entries, signed by these keys."""

    clip_id: str
    sha256: str
    size: int
    sealed_at: str
    incomplete: str | None
    case: str
    reason: str
    exported_by: str
    recipient: str
    interest: str
    exported_at: str
    entries: int
    actions: tuple[str, ...]
    signed_by: str
    key_ids: tuple[str, ...]  # the bundle's key chain, oldest first
    checkpoint_size: int
    software: str
    pinned: bool  # True when the keys descend from a fingerprint the caller trusts
    anchor: str | None  # the trusted fingerprint the chain starts from
    sealed_as: str = "sealed"
    """``recovered`` when the clip was left open by a crash and sealed by the recovery pass."""
    merkle_root: str | None = None  # the checkpoint's tree root each entry was proven to be under
    timestamps: tuple[str, ...] = ()  # "<authority> at <time>" for each token that verified
    timestamps_unchecked: int = 0  # tokens carried but not checked: no authority root was given
    original_sha256: str | None = None  # an unmask bundle's native original, as sealed

    @property
    def proves(self) -> tuple[str, ...]:
        return claims_proved(PROVES, pinned=self.pinned, stamped=bool(self.timestamps))

    @property
    def does_not_prove(self) -> tuple[str, ...]:
        return claims_not_proved(DOES_NOT_PROVE, pinned=self.pinned, stamped=bool(self.timestamps))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": True, "trust": "pinned" if self.pinned else "UNPINNED",
                "proves": list(self.proves), "does_not_prove": list(self.does_not_prove)}

    def summary(self) -> str:
        """What was verified, in a few lines a person reads."""
        line = (f"bundle: clip {self.clip_id} sha256 {self.sha256} ({self.size} bytes), sealed {self.sealed_at}; "
                f"{self.entries} custody entries; exported {self.exported_at} by {self.exported_by} for case "
                f"{self.case} to {self.recipient}; made by {self.software}")
        return "\n".join([line, *stamp_lines(self.timestamps, self.timestamps_unchecked)])


def stamp_lines(timestamps: tuple[str, ...], unchecked: int) -> list[str]:
    """The timestamp tokens a summary lists: those verified, and how many went unchecked."""
    lines = [f"timestamped by {stamp}" for stamp in timestamps]
    if unchecked:
        lines.append(f"{unchecked} timestamp token(s) not checked: give --tsa-ca")
    return lines


def claims_proved(proves: tuple[str, ...], *, pinned: bool, stamped: bool) -> tuple[str, ...]:
    """What a verified bundle proves: the trust claim only when pinned, the time claim only when stamped."""
    kept = proves if pinned else tuple(p for p in proves if p != PINNED_ONLY)
    return (*kept, STAMPED) if stamped else kept


def claims_not_proved(does_not: tuple[str, ...], *, pinned: bool, stamped: bool) -> tuple[str, ...]:
    items = does_not[1:] if pinned else does_not
    return tuple(CLOCK_STAMPED if i == CLOCK_ONLY and stamped else i for i in items)


def verify_bundle(path: Path, *, trusted_keys: Collection[str] | None = None,
                  timestamp_roots: Sequence[x509.Certificate] | None = None) -> BundleReport:
    """Run every step; the first failure raises. ``trusted_keys`` pins the site's fingerprints:
    with them a bundle whose keys do not descend from one of them raises TrustError.
    ``timestamp_roots`` are the root certificates of the timestamp authorities the reader trusts."""
    with SafeArchive(Path(path)) as archive:
        signed = open_signed(archive, trusted_keys, BUNDLE_TYPE)
        manifest = signed.manifest
        clip = _field(manifest, "clip", dict, MANIFEST)
        hashed = step4_sums(archive, manifest, clip)
        original = step4_original(archive, manifest, hashed)
        entries = signed.step5_entries(archive)
        step6_chain(entries, manifest)
        anchored = anchor(archive, signed, entries, timestamp_roots)
    export = manifest["export"]
    seal = next(e for e in entries if e["action"] in SEAL_ACTIONS)
    return BundleReport(
        clip_id=clip["id"], sha256=clip["sha256"], size=clip["size"], sealed_at=seal["time"],
        incomplete=clip.get("incomplete"), case=export["case"], reason=export["reason"],
        exported_by=export["by"], recipient=export["recipient"], interest=export["interest"],
        exported_at=export["time"], entries=len(entries), actions=tuple(e["action"] for e in entries),
        signed_by=signed.chain.current, key_ids=signed.chain.keys, checkpoint_size=anchored.checkpoint.size,
        software=signed.software, pinned=signed.pinned, anchor=signed.anchor,
        sealed_as=seal["action"], original_sha256=None if original is None else original["sha256"],
        merkle_root=anchored.checkpoint.root, timestamps=anchored.timestamps,
        timestamps_unchecked=anchored.unchecked,
    )


@dataclass(frozen=True)
class Signed:
    """Steps 2 and 3, the same for every kind of bundle: its keys, the rotations linking them,
    which of them the reader trusts, and the manifest they signed."""

    keys: PublicKeyring
    chain: KeyChain
    trusted: tuple[str, ...]
    manifest: dict[str, Any]
    pinned: bool  # True when the keys descend from a fingerprint the caller trusts

    @property
    def anchor(self) -> str | None:
        """The trusted fingerprint the chain starts from."""
        return self.trusted[0] if self.pinned else None

    @property
    def software(self) -> str:
        made_by = self.manifest.get("software")
        made_by = made_by if isinstance(made_by, dict) else {}
        return f"{made_by.get('name', '?')} {made_by.get('version', '?')}"

    def step5_entries(self, archive: SafeArchive) -> list[dict[str, Any]]:
        return step5_entries(archive, self.manifest, self.keys, self.chain, self.trusted)


def open_signed(archive: SafeArchive, trusted_keys: Collection[str] | None, kind: str) -> Signed:
    """Steps 2-3. ``trusted_keys`` pins the site's fingerprints (None: unpinned); a manifest of
    another ``kind`` is refused, so a case bundle is never taken for a clip bundle or back."""
    if trusted_keys is not None and not trusted_keys:
        raise TrustError("no trusted fingerprint given: pass None to verify unpinned")
    keys = step2_keys(archive)
    chain = step2_rotations(archive, keys)
    trusted = chain.keys if trusted_keys is None else chain.trusted_from(set(trusted_keys))
    manifest = step3_signatures(archive, keys, chain, kind)
    return Signed(keys=keys, chain=chain, trusted=trusted, manifest=manifest, pinned=trusted_keys is not None)


@dataclass(frozen=True)
class Anchored:
    """Steps 7-9: the checkpoint ending at the export, and the timestamp tokens over it."""

    checkpoint: Checkpoint
    timestamps: tuple[str, ...]  # "<authority> at <time>" for each token that verified
    unchecked: int  # tokens carried but not checked: no authority root was given


def anchor(archive: SafeArchive, signed: Signed, entries: list[dict[str, Any]],
           roots: Sequence[x509.Certificate] | None) -> Anchored:
    """Steps 7-9, the same for every kind of bundle: the signed checkpoint ends at the last entry,
    each entry is in its Merkle tree, and each authority's token covers it."""
    checkpoint = step7_checkpoint(archive, signed.manifest, signed.keys, entries[-1], signed.chain, signed.trusted)
    step8_inclusion(archive, signed.manifest, checkpoint)
    stamps = step9_timestamps(archive, signed.manifest, checkpoint, entries, roots)
    return Anchored(checkpoint, stamps, 0 if roots else len(signed.manifest.get("timestamps") or []))


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


def step2_rotations(archive: SafeArchive, keys: PublicKeyring) -> KeyChain:
    """Follow the ``key_rotated`` entries: each signed by the key it retires, naming the next."""
    names = sorted(n for n in archive.names if n.startswith("rotations/") and n.endswith(".json"))
    rotations = []
    for name in names:
        data = archive.read(name)
        entry = _checked_dict(archive.read_json(name), name)
        if _canonical(entry, name) != data:
            raise IntegrityError(f"{name}: not the exact signed text of an entry (not canonical JSON)")
        details = _checked_dict(entry.get("details"), f"{name} details")
        old, new = details.get("old_key_id"), details.get("new_key_id")
        seq = entry.get("seq")
        if (entry.get("type") != ENTRY_TYPE or entry.get("action") != Action.KEY_ROTATED.value
                or not isinstance(seq, int) or rotation_file(seq) != name or entry.get("key_id") != old
                or not isinstance(old, str) or not isinstance(new, str)):
            raise BundleFormatError(f"{name}: not a key_rotated entry signed by the key it retires")
        keys.verify(old, data, archive.read(signature_file(name)), what=name)
        if new not in keys:
            raise BundleFormatError(f"{name}: rotates to key {new}, whose public key is not in the bundle")
        try:
            announced = key_id(load_public_pem(str(details.get("new_public_key", "")).encode(), name))
        except KeyringError as exc:
            raise BundleFormatError(str(exc)) from exc
        if announced != new:
            raise SignatureError(f"{name}: names key {new} but carries the public key {announced}")
        rotations.append(Rotation(seq=seq, old_key_id=old, new_key_id=new))
    if rotations:
        return KeyChain.build(rotations[0].old_key_id, rotations)
    manifest = _checked_dict(archive.read_json(MANIFEST), MANIFEST)  # its signature is step 3's
    return KeyChain.build(_field(manifest, "signed_by", str, MANIFEST), [])


def step3_signatures(archive: SafeArchive, keys: PublicKeyring, chain: KeyChain,
                     kind: str = BUNDLE_TYPE) -> dict[str, Any]:
    """SHA256SUMS and the manifest are signed by the last key of the chain."""
    keys.verify(chain.current, archive.read(SUMS), archive.read(SUMS_SIG), what=SUMS)
    data = archive.read(MANIFEST)
    manifest = _checked_dict(archive.read_json(MANIFEST), MANIFEST)
    if manifest.get("type") != kind or manifest.get("v") != VERSION:
        raise BundleFormatError(f"{MANIFEST}: not a version {VERSION} {kind} manifest")
    signer = _field(manifest, "signed_by", str, MANIFEST)
    if signer != chain.current:
        raise SignatureError(f"{MANIFEST}: signed_by {signer}, but the key rotations end at {chain.current}")
    keys.verify(signer, data, archive.read(MANIFEST_SIG), what=MANIFEST)
    listed = _field(manifest, "keys", dict, MANIFEST)
    present = {n for n in archive.names if n.startswith("keys/")}
    if {key_file(k) for k in listed} != present or any(key_file(k) != v for k, v in listed.items()):
        raise BundleFormatError(f"{MANIFEST}: listed keys do not match the key files in the bundle")
    if set(listed) != set(chain.keys):
        raise BundleFormatError(f"{MANIFEST}: keys {sorted(listed)} are not the key chain {list(chain.keys)}")
    return manifest


def step4_sums(archive: SafeArchive, manifest: dict[str, Any], clip: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Every member a reader checks is listed in the signed SHA256SUMS, and hashes to it; the
    clip (listed first) is the file the manifest names."""
    name = _field(clip, "file", str, "manifest clip")
    clips = [n for n in archive.names if n.startswith("clip/")]
    if clips != [name]:
        raise BundleFormatError(f"bundle must hold exactly the clip {name}; found {clips}")
    hashed = check_sums(archive, manifest, [name])
    check_listed(name, hashed[name], clip, "manifest clip")
    check_rotation_list(archive, manifest)
    return hashed


LARGE = ("clip/", "original/", REPORT_DIR)  # hashed as a stream, never read whole


def check_sums(archive: SafeArchive, manifest: dict[str, Any], first: list[str]) -> dict[str, tuple[str, int]]:
    """The signed SHA256SUMS lists ``first`` in that order, then every other checked member once,
    and each hashes to it (what `sha256sum -c SHA256SUMS` checks by hand); the certificate is the
    one the manifest names. Returns each member's SHA-256 and size."""
    listed = _parse_sums(archive.read(SUMS))
    expected = {n for n in archive.names if not n.endswith(".sig") and n not in (SUMS, README)}
    if [n for n, _ in listed][:len(first)] != first or {n for n, _ in listed} != expected or len(listed) != len(expected):
        raise BundleFormatError(f"{SUMS}: must list {', '.join(first)} first and then every other member once "
                                f"(lists {sorted(n for n, _ in listed)}, bundle holds {sorted(expected)})")
    hashed = {}
    for member, wanted in listed:
        if member.startswith(LARGE):
            hashed[member] = archive.sha256(member)
        else:
            data = archive.read(member)
            hashed[member] = (sha256_bytes(data), len(data))
        if hashed[member][0] != wanted:
            raise IntegrityError(f"{member}: hashes to {hashed[member][0]}, {SUMS} says {wanted}")
    certificate = _field(manifest, "certificate", dict, MANIFEST)
    if certificate.get("file") != CERTIFICATE or certificate.get("sha256") != dict(listed).get(CERTIFICATE):
        raise IntegrityError(f"{CERTIFICATE}: does not match the certificate the manifest names")
    return hashed


def check_listed(name: str, found: tuple[str, int], listed: dict[str, Any], where: str) -> None:
    """A large member hashes to the SHA-256 and size its manifest section gives."""
    if found != (_field(listed, "sha256", str, where), _field(listed, "size", int, where)):
        raise IntegrityError(f"{name}: hashes to {found[0]} ({found[1]} bytes), manifest says "
                             f"{listed['sha256']} ({listed['size']} bytes)")


def check_rotation_list(archive: SafeArchive, manifest: dict[str, Any]) -> None:
    """The manifest lists exactly the rotation files the bundle holds, with their entries."""
    rotations = _field(manifest, "rotations", list, MANIFEST)
    files = sorted(n for n in archive.names if n.startswith("rotations/") and n.endswith(".json"))
    if [_checked_dict(r, "rotation item").get("file") for r in rotations] != files or any(
            r.get("entry") != archive.read_json(r["file"]) for r in rotations):
        raise BundleFormatError(f"{MANIFEST}: listed rotations do not match the rotation files")


def step4_original(archive: SafeArchive, manifest: dict[str, Any],
                   hashed: dict[str, tuple[str, int]]) -> dict[str, Any] | None:
    """An unmask bundle's native original hashes to the plaintext hash the manifest (and, in
    step 6, the seal) names; any other bundle holds no original."""
    originals = [n for n in archive.names if n.startswith("original/")]
    if "original" not in manifest:
        if originals:
            raise BundleFormatError(f"bundle holds {originals} but its manifest lists no original")
        return None
    original = _field(manifest, "original", dict, MANIFEST)
    name = _field(original, "file", str, "manifest original")
    if originals != [name]:
        raise BundleFormatError(f"bundle must hold exactly the original {name}; found {originals}")
    check_listed(name, hashed[name], original, "manifest original")
    return original


def _parse_sums(data: bytes) -> list[tuple[str, str]]:
    try:
        lines = data.decode("ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise BundleFormatError(f"{SUMS}: not ASCII text") from exc
    parsed = []
    for number, line in enumerate(lines, start=1):
        digest, sep, member = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise BundleFormatError(f"{SUMS}:{number}: not a `sha256sum` line")
        parsed.append((member, digest))
    return parsed


def step5_entries(archive: SafeArchive, manifest: dict[str, Any], keys: PublicKeyring, chain: KeyChain,
                  trusted: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each entry file is the exact signed text listed in the manifest, signed by the key that
    was the site's signing key at that entry, which must be trusted."""
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
        kid = _field(entry, "key_id", str, name)
        keys.verify(kid, data, signature, what=name)
        _check_key(chain.entry_problem(seq, kid), kid, trusted, name)
        listed |= {name, signature_file(name), proof_file(name)}
        entries.append(entry)
    extra = {n for n in archive.names if n.startswith("custody/")} - listed
    if extra:
        raise BundleFormatError(f"bundle holds custody files the manifest does not list: {sorted(extra)}")
    return entries


def _check_key(problem: tuple[str, str] | None, kid: str, trusted: tuple[str, ...], where: str) -> None:
    if problem is not None:
        raise SignatureError(f"{where}: {problem[1]}")
    if kid not in trusted:
        raise TrustError(f"{where}: signed by key {kid}, older than the key you trust ({trusted[0]}); "
                         "give that key's fingerprint too (the site's card lists every key)")


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
    seals = [e for e in entries if e.get("action") in SEAL_ACTIONS]
    if len(seals) != 1:
        raise ChainError(f"clip {clip.get('id')}: {len(seals)} seal entries, expected exactly one")
    _check_seal(seals[0], clip)
    disclosure = Action.EXPORTED.value
    if "original" in manifest:
        _check_sealed_original(seals[0], manifest["original"])
        disclosure = Action.UNMASK_DISCLOSED.value
    last = entries[-1]
    details = _details(last)
    wanted = {k: export.get(k) for k in ("case", "reason", "by", "recipient", "interest")}
    if last.get("action") != disclosure or last["seq"] != export.get("seq") or any(
            details.get(k) != v for k, v in wanted.items()) or last.get("time") != export.get("time"):
        raise ChainError(f"custody entry #{last['seq']}: the last entry is not this bundle's export")


def _check_seal(seal: dict[str, Any], clip: dict[str, Any]) -> None:
    details = _details(seal)
    claims = {"sha256": seal.get("object_sha256"), "size": details.get("size"), "sealed_seq": seal.get("seq"),
              "sealed_at": seal.get("time"), "metadata": details.get("metadata"),
              "incomplete": details.get("incomplete"), "sealed_as": seal.get("action")}
    for field, value in claims.items():
        if clip.get(field, Action.SEALED.value if field == "sealed_as" else None) != value:
            raise IntegrityError(f"seal entry #{seal.get('seq')}: {field} is {value!r}, the manifest says "
                                 f"{clip.get(field)!r}")


def _check_sealed_original(seal: dict[str, Any], original: dict[str, Any]) -> None:
    sealed = _details(seal).get("original")
    sealed = sealed if isinstance(sealed, dict) else {}
    for field in ("sha256", "size", "ciphertext_sha256", "complete"):
        if sealed.get(field) != original.get(field):
            raise IntegrityError(f"seal entry #{seal.get('seq')}: original {field} is {sealed.get(field)!r}, "
                                 f"the manifest says {original.get(field)!r}")


def _details(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's details; empty when they are not an object, so the comparisons report the mismatch."""
    details = entry.get("details")
    return details if isinstance(details, dict) else {}


def step7_checkpoint(archive: SafeArchive, manifest: dict[str, Any], keys: PublicKeyring,
                     last: dict[str, Any], chain: KeyChain, trusted: tuple[str, ...]) -> Checkpoint:
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
    _check_key(chain.checkpoint_problem(checkpoint.size, checkpoint.key_id), checkpoint.key_id, trusted, CHECKPOINT)
    if checkpoint.size != last["seq"] or checkpoint.head != sha256_bytes(canonical_json(last)):
        raise ChainError(f"{CHECKPOINT}: ends at entry #{checkpoint.size} ({checkpoint.head}), "
                         f"not at the export entry #{last['seq']}")
    return checkpoint


def step8_inclusion(archive: SafeArchive, manifest: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Each entry is leaf ``seq - 1`` of the log's Merkle tree under the checkpoint's root.

    This ties the clip's entries to the whole log's state as the site's witness and timestamp
    authorities saw it. Bundles made before the log was a tree (version 1 checkpoints) carry
    no proofs and no root; they stop at step 7.
    """
    if checkpoint.root is None:
        if any(n.endswith(".proof") for n in archive.names):
            raise BundleFormatError(f"{CHECKPOINT}: inclusion proofs without a Merkle root")
        return
    root = bytes.fromhex(checkpoint.root)
    for item in manifest["custody"]:
        name = entry_file(item["seq"])
        path = item.get("inclusion")
        if not isinstance(path, list) or not all(isinstance(h, str) for h in path):
            raise BundleFormatError(f"custody item #{item['seq']}: no inclusion proof")
        if archive.read(proof_file(name)) != "".join(f"{h}\n" for h in path).encode():
            raise IntegrityError(f"{proof_file(name)}: differs from the inclusion proof in the manifest")
        try:
            proof = [bytes.fromhex(h) for h in path]
        except ValueError as exc:
            raise BundleFormatError(f"{proof_file(name)}: not hex ({exc})") from exc
        try:
            verify_inclusion(leaf_hash(archive.read(name)), item["seq"] - 1, checkpoint.size, proof, root)
        except ChainError as exc:
            raise ChainError(f"{name}: {exc}") from exc


def step9_timestamps(archive: SafeArchive, manifest: dict[str, Any], checkpoint: Checkpoint,
                     entries: list[dict[str, Any]], roots: Sequence[x509.Certificate] | None) -> tuple[str, ...]:
    """Each authority's RFC 3161 token covers ``checkpoint.json``, and no entry is dated after it.

    Entries of the clip must also be dated in order. Tokens are checked only against roots the
    reader trusts (taken from each authority, never from the bundle).
    """
    previous = None
    for entry in entries:
        if previous is not None and str(entry.get("time")) < str(previous.get("time")):
            raise ChainError(f"custody entry #{entry.get('seq')} is dated {entry.get('time')}, before entry "
                             f"#{previous.get('seq')} ({previous.get('time')}): the site's clock went backwards")
        previous = entry
    listed = manifest.get("timestamps") or []
    if not isinstance(listed, list):
        raise BundleFormatError(f"{MANIFEST}: timestamps is not a list")
    names = {_field(_checked_dict(item, "timestamp"), "file", str, "timestamp") for item in listed}
    present = {n for n in archive.names if n.endswith(".tsr")}
    if names != present:
        raise BundleFormatError(f"{MANIFEST}: listed timestamp tokens {sorted(names)} differ from {sorted(present)}")
    if not roots:
        return ()
    stamps = []
    data = archive.read(CHECKPOINT)
    for item in listed:
        try:
            stamp = verify_token(archive.read(item["file"]), data, roots=roots)
        except TimestampError as exc:
            raise TimestampError(f"{item['file']} ({item.get('authority')}): {exc}") from exc
        late = [e for e in entries if datetime.fromisoformat(str(e["time"])) > stamp.time + TOLERANCE]
        if datetime.fromisoformat(checkpoint.time) > stamp.time + TOLERANCE or late:
            raise ChainError(f"{item['file']}: {stamp.authority} timestamped the checkpoint at "
                             f"{stamp.time.isoformat()}, before the times the site's clock gave it"
                             + (f" and entry #{late[0]['seq']}" if late else "") + ": the clock was fast")
        stamps.append(f"{stamp.authority} at {stamp.time.isoformat()}")
    return tuple(stamps)


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
