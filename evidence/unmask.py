"""Disclose a clip's native original: decrypt in memory, prove, log, bundle.

The identity comes from ``evidence.custodians.rebuild_identity`` and lives only in this
process. Everything that can fail is checked before the custody log is touched: the stored
ciphertext must hash to its seal, and the decrypted bytes (streamed straight into the bundle,
never to the storage folder) to the sealed plaintext hash. Only then are the request, each
custodian's approval and the disclosure appended, and the bundle renamed into place; a refusal
leaves no entry and no file.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pyrage

from evidence.actions import Action
from evidence.certificate import one_line
from evidence.clip_source import ClipSource, HashedReader, original_source
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError, IntegrityError
from evidence.export import (
    Custody,
    Disclosure,
    _clip_source,
    _copy_verified,
    _Parts,
    _shell_word,
    _write_metadata,
    readme,
)
from evidence.hashing import CHUNK
from evidence.store import EvidenceStore
from evidence.verify_clips import ObjectReader


@dataclass(frozen=True)
class Approval:
    """A custodian whose share was among those that rebuilt the key."""

    custodian: str
    share: int


def custodians_of(ev: EvidenceStore, recipient: str) -> tuple[str, ...] | None:
    """Who holds which share of ``recipient``, from the signed entry that set it (None: no entry)."""
    for entry in reversed(ev.entries()):
        if entry.action == Action.CUSTODIANS_SET and entry.details.get("recipient") == recipient:
            return tuple(str(n) for n in entry.details.get("custodians", []))
    return None


def sealed_original(ev: EvidenceStore, clip_id: str) -> dict[str, Any]:
    """What the seal says about a clip's original; refused when it kept none."""
    original = ev.sealed(clip_id).details.get("original")
    if not isinstance(original, dict):
        raise EvidenceError(f"clip {clip_id}: no native original was kept")
    return original


def unmask_bundle(ev: EvidenceStore, clip_id: str, out: Path, *, identity: str | None,
                  approvals: Sequence[Approval], disclosure: Disclosure, request_seq: int | None = None,
                  objects: ObjectReader | None = None) -> Path:
    """Write the original's bundle to ``out`` (outside the storage folder, never overwritten).

    ``request_seq``: the request and its approvals were logged as they happened (the dashboard);
    only the disclosure is appended here. ``objects`` streams the clip and its original from the
    object store once their local copies went after upload.
    """
    disclosure = disclosure.checked(clip_id)
    out = Path(out)
    if out.exists():
        raise EvidenceError(f"{out} already exists; choose another file name")
    if out.resolve().is_relative_to(ev.root.resolve()):
        raise EvidenceError(f"{out} is inside the storage folder; a plaintext original never goes there")
    seal = ev.sealed(clip_id)
    original = sealed_original(ev, clip_id)
    stored = original_source(ev, clip_id, original, objects)
    clip_source = _clip_source(ev, seal, objects)
    clip_member = f"clip/{clip_id}{clip_source.suffix or '.bin'}"
    member = f"original/{clip_id}.mp4"
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "x", compression=zipfile.ZIP_STORED, allowZip64=True) as bundle:
            _copy_verified(bundle, clip_source, clip_member, seal)
            _write_original(bundle, stored, member, original, identity, clip_id)
            record = _log(ev, clip_id, original, approvals, disclosure, out.name, request_seq)
            listed = {k: original[k] for k in ("sha256", "size", "ciphertext_sha256", "complete")}
            custody = Custody.at(ev, record, [e for e in ev.entries(clip_id) if e.seq <= record.seq])
            parts = _Parts(seal=seal, clip_member=clip_member, custody=custody, original={"file": member, **listed})
            _write_metadata(bundle, ev, parts, out.name, guide=_guide(clip_id, disclosure, original, out.name))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


class _Hashing:
    """Where decrypted bytes go: hashed on their way into the bundle member."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._target.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """The zip member flushes on close."""

    def writable(self) -> bool:
        return True


def _write_original(bundle: zipfile.ZipFile, stored: ClipSource, member: str, original: dict[str, Any],
                    identity: str | None, clip_id: str) -> None:
    """Decrypt the sealed original into the bundle while hashing the ciphertext read: both must
    match the seal (the caller removes the bundle when this raises)."""
    info = zipfile.ZipInfo(member, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    with HashedReader(stored) as source, bundle.open(info, "w", force_zip64=True) as target:
        sink = _Hashing(target)
        if original.get("recipient") is None:
            while chunk := source.read(CHUNK):
                sink.write(chunk)
        else:
            if identity is None:
                raise EvidenceError(f"clip {clip_id}: the original is encrypted; custodians' shares are needed")
            try:
                pyrage.decrypt_io(source, sink, [pyrage.x25519.Identity.from_str(identity)])
            except (pyrage.DecryptError, pyrage.IdentityError, OSError) as exc:
                # A recovered original ends without age's last chunk: what was proved must be all that
                # was sealed. Anything else that stops decryption is a refusal.
                if original.get("complete") is not False:
                    source.check(clip_id, sha256=original.get("ciphertext_sha256"),
                                 size=original.get("ciphertext_size"), what="the stored original")
                    raise IntegrityError(f"clip {clip_id}: the original does not decrypt ({exc})") from exc
        source.check(clip_id, sha256=original.get("ciphertext_sha256"), size=original.get("ciphertext_size"),
                     what="the stored original")
    if sink.digest.hexdigest() != original.get("sha256") or sink.size != original.get("size"):
        raise IntegrityError(f"clip {clip_id}: the decrypted original hashes to {sink.digest.hexdigest()} "
                             f"({sink.size} bytes), sealed as {original.get('sha256')} ({original.get('size')} "
                             "bytes); refusing to disclose it")


def log_request(ev: EvidenceStore, clip_id: str, disclosure: Disclosure, **extra: Any) -> CustodyRecord:
    original = sealed_original(ev, clip_id)
    return ev.append(Action.UNMASK_REQUESTED, actor=disclosure.by, clip_id=clip_id,
                     object_sha256=original["ciphertext_sha256"], details={**asdict(disclosure), **extra})


def log_approval(ev: EvidenceStore, clip_id: str, approval: Approval, request_seq: int,
                 **extra: Any) -> CustodyRecord:
    original = sealed_original(ev, clip_id)
    return ev.append(Action.UNMASK_APPROVED, actor=approval.custodian, clip_id=clip_id,
                     object_sha256=original["ciphertext_sha256"],
                     details={"request_seq": request_seq, "custodian": approval.custodian, "share": approval.share,
                              **extra})


def _log(ev: EvidenceStore, clip_id: str, original: dict[str, Any], approvals: Sequence[Approval],
         disclosure: Disclosure, file_name: str, request_seq: int | None) -> CustodyRecord:
    if request_seq is None:
        request_seq = log_request(ev, clip_id, disclosure).seq
        for approval in approvals:
            log_approval(ev, clip_id, approval, request_seq)
    return ev.append(Action.UNMASK_DISCLOSED, actor=disclosure.by, clip_id=clip_id,
                     object_sha256=original["sha256"],
                     details={**asdict(disclosure), "request_seq": request_seq, "file": file_name,
                              "custodians": [a.custodian for a in approvals]})


def _guide(clip_id: str, disclosure: Disclosure, original: dict[str, Any], bundle_name: str) -> str:
    """VERIFY.md, with the original's step after the masked bundle's seven."""
    base = readme(clip_id=clip_id, case=disclosure.case, bundle_name=bundle_name)
    complete = ("complete" if original.get("complete") is not False
                else "what a crash left: every whole chunk written before it")
    step = readme(clip_id=clip_id, case=disclosure.case, bundle_name=bundle_name, template="VERIFY-ORIGINAL.md",
                  names=(("original_complete", complete),
                         ("age_recipient", str(original.get("recipient") or "(not encrypted)")),
                         ("ciphertext_sha256", str(original.get("ciphertext_sha256"))),
                         ("stored_path", one_line(str(original.get("path", "")))),
                         ("stored_name", _shell_word(PurePosixPath(str(original.get("path", ""))).name))))
    marker = "<!-- Further steps go here"
    return base.replace(marker, step.lstrip("\n") + "\n" + marker, 1) if marker in base else base + step
