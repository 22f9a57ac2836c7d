"""Export a case: every clip, the incident report and their custody, as one signed bundle.

The bundle extends the single-clip format (FORMAT.md): several ``clip/`` members, one
``report/`` PDF, and a manifest of type ``hotspot-case-bundle``. The export is one custody entry
(``case_exported``) that names the last entry of each clip's chain and the report's SHA-256, so
no clip's history can be cut short in the bundle, and a checkpoint ends exactly at it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from evidence.actions import Action
from evidence.bundle_format import (
    CASE_BUNDLE_TYPE,
    CHECKPOINT,
    README,
    REPORT_DIR,
    entry_file,
    key_file,
)
from evidence.entry import CustodyRecord
from evidence.errors import EvidenceError, IntegrityError
from evidence.export import (
    MAX_TEXT,
    _clip_source,
    _copy_verified,
    _inline,
    _shell_word,
    write_signed_members,
)
from evidence.hashing import sha256_bytes, sha256_file
from evidence.store import EvidenceStore

CASE_README = "VERIFY_CASE.md"


@dataclass(frozen=True)
class CaseRef:
    """What the bundle says about the case; ``case_id`` ties it to the case's custody entries."""

    case_id: str
    number: str
    title: str


@dataclass(frozen=True)
class Disclosure:
    reason: str
    recipient: str
    interest: str
    by: str

    def check(self) -> None:
        for name, value in (("reason", self.reason), ("recipient", self.recipient),
                            ("interest", self.interest), ("by", self.by)):
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
                raise EvidenceError(f"case export: --{name} must be non-empty text of at most {MAX_TEXT} characters")


def export_case_bundle(ev: EvidenceStore, out: Path, *, case: CaseRef, clip_ids: Sequence[str], report: Path,
                       report_entry: CustodyRecord, disclosure: Disclosure) -> Path:
    """Write the bundle to ``out`` (never overwriting) and log the disclosure."""
    disclosure.check()
    out = Path(out)
    if any(c == "`" or not c.isprintable() for c in out.name):
        raise EvidenceError(f"bundle file name {out.name!r} must be printable, without backticks (VERIFY.md quotes it)")
    if out.exists():
        raise EvidenceError(f"{out} already exists; choose another file name")
    if not clip_ids:
        raise EvidenceError(f"case {case.number} has no clips to export")
    report_sha256 = sha256_file(report)
    if (report_entry.action != Action.REPORT_MADE or report_entry.object_sha256 != report_sha256
            or report_entry.details.get("case_id") != case.case_id):
        raise IntegrityError(f"{report.name}: hashes to {report_sha256}, which report entry #{report_entry.seq} "
                             "of this case does not record")
    seals = {clip_id: ev.sealed(clip_id) for clip_id in clip_ids}
    partial = out.with_name(f".{out.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as bundle:
            members = {}
            for clip_id, seal in seals.items():
                source = _clip_source(ev, seal)
                members[clip_id] = f"clip/{clip_id}{source.suffix or '.bin'}"
                _copy_verified(bundle, source, members[clip_id], seal)
            report_member = f"{REPORT_DIR}report-{_file_word(case.number)}.pdf"
            bundle.write(report, report_member)
            heads = {clip_id: ev.entries(clip_id)[-1] for clip_id in clip_ids}
            record = ev.append(Action.CASE_EXPORTED, actor=disclosure.by, object_sha256=report_sha256, details={
                "case_id": case.case_id, "case": case.number, "reason": disclosure.reason,
                "recipient": disclosure.recipient, "interest": disclosure.interest, "by": disclosure.by,
                "file": out.name, "report_sha256": report_sha256,
                "clips": {clip_id: head.entry_hash for clip_id, head in heads.items()},
            })
            checkpoint = ev.checkpoint_at(record)
            entries = _entries(ev, case, heads, record)
            text = case_readme(case=case, clip_count=len(clip_ids), signed_by=ev.keys.key_id, bundle_name=out.name)
            manifest = {
                "type": CASE_BUNDLE_TYPE, "v": 1,
                "case": {"id": case.case_id, "number": case.number, "title": case.title},
                "clips": [_clip_json(seals[c], members[c]) for c in clip_ids],
                "report": {"file": report_member, "sha256": report_sha256, "size": report.stat().st_size,
                           "seq": report_entry.seq},
                "readme": {"file": README, "sha256": sha256_bytes(text.encode("utf-8"))},
                "export": {"case": case.number, "case_id": case.case_id, "reason": disclosure.reason,
                           "recipient": disclosure.recipient, "interest": disclosure.interest,
                           "by": disclosure.by, "time": record.time_text, "seq": record.seq},
                "custody": [{"seq": e.seq, "file": entry_file(e.seq), "entry_hash": e.entry_hash,
                             "key_id": e.key_id, "signature": e.signature, "entry": e.body()} for e in entries],
                "checkpoint": {"file": CHECKPOINT, **checkpoint.to_json()},
                "keys": {kid: key_file(kid) for kid in ev.keys.key_ids},
                "signed_by": ev.keys.key_id,
            }
            write_signed_members(bundle, ev, manifest, entries, checkpoint)
            bundle.writestr(README, text)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def _entries(ev: EvidenceStore, case: CaseRef, heads: Mapping[str, CustodyRecord],
             export: CustodyRecord) -> list[CustodyRecord]:
    """Each clip's whole chain up to its pinned head, and the case's own entries up to the export."""
    chosen: dict[int, CustodyRecord] = {}
    for clip_id, head in heads.items():
        chosen.update((e.seq, e) for e in ev.entries(clip_id) if e.seq <= head.seq)
    chosen.update((e.seq, e) for e in ev.entries() if e.clip_id is None and e.seq <= export.seq
                  and e.details.get("case_id") == case.case_id)
    return [chosen[seq] for seq in sorted(chosen)]


def _clip_json(seal: CustodyRecord, member: str) -> dict[str, Any]:
    return {"id": seal.clip_id, "file": member, "sha256": seal.object_sha256, "size": seal.details.get("size"),
            "sealed_seq": seal.seq, "sealed_at": seal.time_text, "metadata": seal.details.get("metadata", {}),
            "incomplete": seal.details.get("incomplete")}


def case_readme(*, case: CaseRef, clip_count: int, signed_by: str, bundle_name: str) -> str:
    template = Template(files("evidence").joinpath(CASE_README).read_text(encoding="utf-8"))
    return template.substitute(case=_inline(case.number), title=_inline(case.title), clip_count=clip_count,
                               signed_by=signed_by, bundle_name=_shell_word(bundle_name))


def _file_word(text: str) -> str:
    word = "".join(c if c.isalnum() or c in "._-" else "-" for c in text).strip("-.")
    return word[:60] or "case"
