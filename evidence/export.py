"""Export one sealed clip as a self-contained, signed bundle for an investigator or a court.

The export is itself a custody entry (who, which case, why: a logged disclosure), followed by a
checkpoint that ends exactly at that entry, so the bundle can show its chain is anchored.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path, PurePosixPath
from string import Template
from typing import Any

from evidence.actions import Action
from evidence.bundle_format import (
    BUNDLE_TYPE,
    CHECKPOINT,
    CHECKPOINT_SIG,
    MANIFEST,
    MANIFEST_SIG,
    README,
    entry_file,
    key_file,
    signature_file,
)
from evidence.canonical import canonical_json
from evidence.checkpoints import Checkpoint
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError, IntegrityError
from evidence.hashing import CHUNK
from evidence.store import EvidenceStore

MAX_TEXT = 2000


def export_bundle(ev: EvidenceStore, clip_id: str, out: Path, *, case: str, reason: str, by: str) -> Path:
    """Write the bundle to ``out`` (never overwriting) and log the disclosure."""
    for name, value in (("case", case), ("reason", reason), ("by", by)):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise EvidenceError(f"export of {clip_id}: --{name} must be non-empty text of at most {MAX_TEXT} characters")
    out = Path(out)
    if any(c == "`" or not c.isprintable() for c in out.name):
        raise EvidenceError(f"bundle file name {out.name!r} must be printable, without backticks (VERIFY.md quotes it)")
    if out.exists():
        raise EvidenceError(f"{out} already exists; choose another file name")
    seal = ev.sealed(clip_id)
    source = _clip_source(ev, seal)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as bundle:
            clip_member = f"clip/{clip_id}{source.suffix or '.bin'}"
            _copy_verified(bundle, source, clip_member, seal)
            record = ev.append(Action.EXPORTED, actor=by, clip_id=clip_id, object_sha256=seal.object_sha256,
                               details={"case": case, "reason": reason, "by": by, "file": out.name})
            checkpoint = ev.checkpoint_at(record)
            entries = [e for e in ev.entries(clip_id) if e.seq <= record.seq]
            _write_metadata(bundle, ev, _manifest(ev, seal, record, entries, checkpoint, clip_member),
                            entries, checkpoint, out.name)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _clip_source(ev: EvidenceStore, seal: CustodyRecord) -> Path:
    relative = PurePosixPath(str(seal.details.get("path", "")))
    path = (ev.root / relative).resolve()
    if relative.is_absolute() or ".." in relative.parts or not path.is_relative_to(ev.root.resolve()):
        raise EvidenceError(f"clip {seal.clip_id}: sealed path {str(relative)!r} escapes the storage folder")
    if not path.is_file():
        raise EvidenceError(f"clip {seal.clip_id}: file {relative} is missing (deleted or moved?)")
    return path


def _copy_verified(bundle: zipfile.ZipFile, source: Path, member: str, seal: CustodyRecord) -> None:
    """Copy the clip into the bundle, hashing as it goes: one read proves and ships it."""
    digest, size = hashlib.sha256(), 0
    info = zipfile.ZipInfo(member, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    with source.open("rb") as handle, bundle.open(info, "w", force_zip64=True) as target:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            target.write(chunk)
            size += len(chunk)
    if digest.hexdigest() != seal.object_sha256 or size != seal.details.get("size"):
        raise IntegrityError(
            f"clip {seal.clip_id}: {source} hashes to {digest.hexdigest()} ({size} bytes) but was sealed "
            f"as {seal.object_sha256} ({seal.details.get('size')} bytes); refusing to export"
        )


def _manifest(ev: EvidenceStore, seal: CustodyRecord, record: CustodyRecord, entries: list[CustodyRecord],
              checkpoint: Checkpoint, clip_member: str) -> dict[str, Any]:
    return {
        "type": BUNDLE_TYPE, "v": 1,
        "clip": {"id": seal.clip_id, "file": clip_member, "sha256": seal.object_sha256,
                 "size": seal.details.get("size"), "sealed_seq": seal.seq, "sealed_at": seal.time_text,
                 "metadata": seal.details.get("metadata", {}), "incomplete": seal.details.get("incomplete")},
        "export": {"case": record.details["case"], "reason": record.details["reason"],
                   "by": record.details["by"], "time": record.time_text, "seq": record.seq},
        "custody": [
            {"seq": e.seq, "file": entry_file(e.seq), "entry_hash": e.entry_hash, "key_id": e.key_id,
             "signature": e.signature, "entry": e.body()} for e in entries
        ],
        "checkpoint": {"file": CHECKPOINT, **checkpoint.to_json()},
        "keys": {kid: key_file(kid) for kid in ev.keys.key_ids},
        "signed_by": ev.keys.key_id,
    }


def _write_metadata(bundle: zipfile.ZipFile, ev: EvidenceStore, manifest: dict[str, Any],
                    entries: list[CustodyRecord], checkpoint: Checkpoint, bundle_name: str) -> None:
    write_signed_members(bundle, ev, manifest, entries, checkpoint)
    bundle.writestr(README, readme(clip_id=manifest["clip"]["id"], case=manifest["export"]["case"],
                                   signed_by=manifest["signed_by"], bundle_name=bundle_name))


def write_signed_members(bundle: zipfile.ZipFile, ev: EvidenceStore, manifest: dict[str, Any],
                         entries: list[CustodyRecord], checkpoint: Checkpoint) -> None:
    """The manifest and its signature, each entry, the checkpoint and the public keys."""
    manifest_bytes = canonical_json(manifest)
    bundle.writestr(MANIFEST, manifest_bytes)
    bundle.writestr(MANIFEST_SIG, ev.keys.sign(manifest_bytes))
    for entry in entries:
        bundle.writestr(entry_file(entry.seq), entry.signed_bytes())
        bundle.writestr(signature_file(entry_file(entry.seq)), entry.signature_bytes())
    bundle.writestr(CHECKPOINT, checkpoint.signed_bytes())
    bundle.writestr(CHECKPOINT_SIG, checkpoint.signature_bytes())
    for kid in ev.keys.key_ids:
        bundle.writestr(key_file(kid), ev.keys.public_pem(kid))


def readme(*, clip_id: str, case: str, signed_by: str, bundle_name: str) -> str:
    """VERIFY.md for this bundle: the packaged template with its names filled in."""
    template = Template(files("evidence").joinpath("VERIFY.md").read_text(encoding="utf-8"))
    return template.substitute(clip_id=clip_id, case=_inline(case), signed_by=signed_by,
                               bundle_name=_shell_word(bundle_name))


def _inline(text: str) -> str:
    """Free text shown inside VERIFY.md: one line, no backticks, so it can never open a code block."""
    flat = " ".join("".join(c if c.isprintable() and c != "`" else " " for c in text).split())
    return flat[:200]


def _shell_word(name: str) -> str:
    """File names go into shell commands: quote anything beyond a plain word."""
    if all(c.isalnum() or c in "._-" for c in name):
        return name
    return "'" + name.replace("'", "'\\''") + "'"
