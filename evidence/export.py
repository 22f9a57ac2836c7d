"""Export one sealed clip as a self-contained, signed bundle for an investigator or a court.

The export is itself a custody entry (who, which case, why, to whom and under what interest: a
logged disclosure), followed by a checkpoint that ends exactly at that entry, so the bundle can
show its chain is anchored. The bundle carries every ``key_rotated`` entry up to the export, so a
reader who trusts an earlier key of the site can follow the rotations to the key that signed it.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any

from evidence.actions import Action
from evidence.bundle_format import (
    BUNDLE_TYPE,
    CERTIFICATE,
    CHECKPOINT,
    CHECKPOINT_SIG,
    MANIFEST,
    MANIFEST_SIG,
    README,
    SUMS,
    SUMS_SIG,
    VERSION,
    entry_file,
    key_file,
    proof_file,
    rotation_file,
    signature_file,
    token_file,
)
from evidence.canonical import canonical_json
from evidence.certificate import certificate_text, one_line
from evidence.checkpoints import Checkpoint
from evidence.clip_source import ClipSource, clip_source, copy_verified
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError
from evidence.hashing import sha256_bytes
from evidence.store import EvidenceStore
from evidence.timestamps import authority_id
from evidence.verify_clips import ObjectReader

MAX_TEXT = 2000
SOFTWARE = "hotspot-monitor"


@dataclass(frozen=True)
class Disclosure:
    """Who discloses the clip, to whom, why, and under what legitimate interest (34 CFR 99.32)."""

    case: str
    reason: str
    by: str
    recipient: str
    interest: str

    def checked(self, clip_id: str) -> Disclosure:
        for name, value in asdict(self).items():
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
                raise EvidenceError(f"export of {clip_id}: --{name} must be non-empty text of at most "
                                    f"{MAX_TEXT} characters")
        return self


def export_bundle(ev: EvidenceStore, clip_id: str, out: Path, *, disclosure: Disclosure,
                  bundle_name: str | None = None, objects: ObjectReader | None = None) -> Path:
    """Write the bundle to ``out`` (never overwriting) and log the disclosure.

    ``bundle_name`` is the file name the recipient will see (VERIFY.md names it), when that
    differs from ``out``'s, as for a dashboard download. ``objects`` streams a clip whose local
    copy went after upload from the object store; either way the bytes must match the seal.
    """
    disclosure = disclosure.checked(clip_id)
    out = Path(out)
    name = bundle_name or out.name
    if any(c == "`" or not c.isprintable() for c in name):
        raise EvidenceError(f"bundle file name {name!r} must be printable, without backticks (VERIFY.md quotes it)")
    if out.exists():
        raise EvidenceError(f"{out} already exists; choose another file name")
    seal = ev.sealed(clip_id)
    source = _clip_source(ev, seal, objects)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as bundle:
            clip_member = f"clip/{clip_id}{source.suffix or '.bin'}"
            _copy_verified(bundle, source, clip_member, seal)
            record = ev.append(Action.EXPORTED, actor=disclosure.by, clip_id=clip_id,
                               object_sha256=seal.object_sha256, details={**asdict(disclosure), "file": name})
            custody = Custody.at(ev, record, [e for e in ev.entries(clip_id) if e.seq <= record.seq])
            parts = _Parts(seal=seal, clip_member=clip_member, custody=custody)
            _write_metadata(bundle, ev, parts, name)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _fetch_tokens(ev: EvidenceStore, checkpoint: Checkpoint) -> dict[str, tuple[str, bytes]]:
    """Each authority's token over the export checkpoint, fetched now, by authority id (with its
    URL); an authority that is down is left out (the bundle still verifies, with fewer times)."""
    if ev.timestamper is None:
        return {}
    urls = {authority_id(url): url for url in ev.timestamper.authorities}
    return {aid: (urls[aid], token) for aid, token in sorted(ev.timestamper.fetch_now(checkpoint).items())}


@dataclass(frozen=True)
class Custody:
    """What every bundle (clip, unmask or case) carries about custody: the entries up to the
    export, the site's key rotations, the checkpoint ending at the export with each entry's
    inclusion proof in it, and the timestamp authorities' tokens over that checkpoint."""

    record: CustodyRecord  # the export (disclosure) entry, last of ``entries``
    checkpoint: Checkpoint
    entries: list[CustodyRecord]
    rotations: list[CustodyRecord]
    tokens: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # authority id -> (URL, RFC 3161 reply)
    proofs: dict[int, list[str]] = field(default_factory=dict)  # entry seq -> inclusion proof in the checkpoint

    @classmethod
    def at(cls, ev: EvidenceStore, record: CustodyRecord, entries: list[CustodyRecord]) -> Custody:
        """Checkpoint the log at ``record`` and gather what proves ``entries`` are in it."""
        checkpoint = ev.checkpoint_at(record)
        return cls(record=record, checkpoint=checkpoint, entries=entries, rotations=ev.rotations(before=record.seq),
                   tokens=_fetch_tokens(ev, checkpoint),
                   proofs={e.seq: ev.inclusion_proof(e.seq, checkpoint.size) for e in entries})

    @property
    def signed_by(self) -> str:
        return self.checkpoint.key_id

    @property
    def key_ids(self) -> list[str]:
        """The chain of keys from the first to the one signing this bundle."""
        if not self.rotations:
            return [self.signed_by]
        return [self.rotations[0].details["old_key_id"], *(r.details["new_key_id"] for r in self.rotations)]

    def manifest(self, certificate: bytes) -> dict[str, Any]:
        """The manifest sections every kind of bundle has."""
        return {
            "custody": _items(self.entries, entry_file, self.proofs),
            "rotations": _items(self.rotations, rotation_file),
            "checkpoint": {"file": CHECKPOINT, **self.checkpoint.to_json()},
            "keys": {kid: key_file(kid) for kid in self.key_ids},
            "signed_by": self.signed_by,
            "software": software(),
            "certificate": {"file": CERTIFICATE, "sha256": sha256_bytes(certificate)},
            "timestamps": [{"authority": url, "file": token_file(aid), "sha256": sha256_bytes(token)}
                           for aid, (url, token) in self.tokens.items()],
        }


@dataclass(frozen=True)
class _Parts:
    seal: CustodyRecord
    clip_member: str
    custody: Custody
    original: dict[str, Any] | None = None  # an unmask bundle's native original (manifest section)


def _clip_source(ev: EvidenceStore, seal: CustodyRecord, objects: ObjectReader | None = None) -> ClipSource:
    return clip_source(ev, seal, objects)


def _copy_verified(bundle: zipfile.ZipFile, source: ClipSource, member: str, seal: CustodyRecord) -> None:
    """Copy the clip into the bundle, hashing as it goes: one read proves and ships it."""
    info = zipfile.ZipInfo(member, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    with bundle.open(info, "w", force_zip64=True) as target:
        copy_verified(source, seal, target.write)


def _items(records: list[CustodyRecord], file_name: Any,
           proofs: dict[int, list[str]] | None = None) -> list[dict[str, Any]]:
    return [{"seq": e.seq, "file": file_name(e.seq), "entry_hash": e.entry_hash, "key_id": e.key_id,
             "signature": e.signature, "entry": e.body(), **({"inclusion": proofs[e.seq]} if proofs else {})}
            for e in records]


def _manifest(parts: _Parts, certificate: bytes) -> dict[str, Any]:
    seal, record = parts.seal, parts.custody.record
    return ({"original": parts.original} if parts.original is not None else {}) | {
        "type": BUNDLE_TYPE, "v": VERSION,
        "clip": {"id": seal.clip_id, "file": parts.clip_member, "sha256": seal.object_sha256,
                 "size": seal.details.get("size"), "sealed_seq": seal.seq, "sealed_at": seal.time_text,
                 "sealed_as": seal.action.value,
                 "metadata": seal.details.get("metadata", {}), "incomplete": seal.details.get("incomplete")},
        "export": {**{k: record.details[k] for k in ("case", "reason", "by", "recipient", "interest")},
                   "time": record.time_text, "seq": record.seq},
        **parts.custody.manifest(certificate),
    }


def software() -> dict[str, str]:
    """The name and version of the software that made the bundle."""
    try:
        version = metadata.version(SOFTWARE)
    except metadata.PackageNotFoundError:
        version = "unknown (not installed as a package)"
    return {"name": SOFTWARE, "version": version}


def _write_metadata(bundle: zipfile.ZipFile, ev: EvidenceStore, parts: _Parts, bundle_name: str,
                    *, guide: str | None = None) -> None:
    """Everything but the clip (and original), which are already in the bundle."""
    custody = parts.custody
    certificate = certificate_text(seal=parts.seal, export=custody.record, entries=custody.entries,
                                   signed_by=custody.signed_by, software=software(),
                                   clip_member=parts.clip_member).encode("utf-8")
    first = [(parts.seal.object_sha256 or "", parts.clip_member)]
    if parts.original is not None:  # listed second, after the clip, hashed as it was written
        first.append((parts.original["sha256"], parts.original["file"]))
    write_signed(bundle, ev, custody, _manifest(parts, certificate), certificate=certificate, first=first,
                 guide=guide or readme(clip_id=parts.seal.clip_id or "", case=custody.record.details["case"],
                                       bundle_name=bundle_name))


def write_signed(bundle: zipfile.ZipFile, ev: EvidenceStore, custody: Custody, manifest: dict[str, Any], *,
                 certificate: bytes, first: list[tuple[str, str]], guide: str) -> None:
    """Write the manifest, the custody files, the certificate and the guide, each signed or listed
    in the signed SHA256SUMS. ``first`` (SHA-256, member) are the large members already written
    (clips, original, report): SHA256SUMS lists them first, then every other member by name."""
    members: dict[str, bytes] = {MANIFEST: canonical_json(manifest)}
    signatures: dict[str, bytes] = {MANIFEST_SIG: ev.keys.sign(members[MANIFEST])}
    for records, file_name in ((custody.entries, entry_file), (custody.rotations, rotation_file)):
        for entry in records:
            members[file_name(entry.seq)] = entry.signed_bytes()
            signatures[signature_file(file_name(entry.seq))] = entry.signature_bytes()
    for seq, proof in custody.proofs.items():
        members[proof_file(entry_file(seq))] = "".join(f"{h}\n" for h in proof).encode("ascii")
    for aid, (url, token) in custody.tokens.items():
        members[token_file(aid)] = token
        members[token_file(aid).replace(".tsr", ".url")] = url.encode("utf-8")
    members[CHECKPOINT] = custody.checkpoint.signed_bytes()
    signatures[CHECKPOINT_SIG] = custody.checkpoint.signature_bytes()
    for kid in custody.key_ids:
        members[key_file(kid)] = ev.keys.public_pem(kid)
    members[CERTIFICATE] = certificate
    sums = sums_text(first, members)
    for name, data in {**members, **signatures, SUMS: sums, SUMS_SIG: ev.keys.sign(sums)}.items():
        bundle.writestr(name, data)
    bundle.writestr(README, guide)


def sums_text(first: list[tuple[str, str]], members: dict[str, bytes]) -> bytes:
    """``sha256sum -c`` input: the large members first, in order, then every other member by name."""
    lines = [f"{digest}  {name}" for digest, name in first]
    lines += [f"{sha256_bytes(data)}  {name}" for name, data in sorted(members.items())]
    return ("\n".join(lines) + "\n").encode("ascii")


def readme(*, clip_id: str, case: str, bundle_name: str, template: str = "VERIFY.md",
           names: tuple[tuple[str, str], ...] = ()) -> str:
    """VERIFY.md for this bundle: the packaged template with its names filled in."""
    text = files("evidence").joinpath(template).read_text(encoding="utf-8")
    return fill_guide(text, clip_id=clip_id, case=case, bundle_name=bundle_name, names=names)


def fill_guide(text: str, *, clip_id: str, case: str, bundle_name: str, names: tuple[tuple[str, str], ...] = ()) -> str:
    """Fill a guide's ``{{name}}`` fields; free text goes last, so none of it is read again as a field."""
    for name, value in (("bundle_name", _shell_word(bundle_name)), ("check_dir", check_dir(bundle_name)),
                        ("clip_id", clip_id), *names, ("case", one_line(case))):
        text = text.replace("{{" + name + "}}", value)
    return text


def check_dir(bundle_name: str) -> str:
    """The folder VERIFY.md unpacks into: a plain shell word derived from the bundle's name."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", PurePosixPath(bundle_name).stem)[:80].lstrip("-.")
    return f"{stem or 'bundle'}.check"


def _shell_word(name: str) -> str:
    """File names go into shell commands: quote anything beyond a plain word."""
    if all(c.isalnum() or c in "._-" for c in name):
        return name
    return "'" + name.replace("'", "'\\''") + "'"
